"""hypnic's daemon: configuration, detection, the event log and the ``hypnic`` command."""
