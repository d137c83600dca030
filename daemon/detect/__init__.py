"""Streaming detection of sleep jerks and other movements, from Blocks to Events."""

from hypnic.daemon.detect.detector import Detector, DetectorSettings

__all__ = ["Detector", "DetectorSettings"]
