"""hypnic's drivers: everything up to the Block — sensors, the simulated night, recordings."""
