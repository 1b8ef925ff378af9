"""frigade-cli: test, validate and observe a Segment <-> Frigade integration."""

__version__ = "0.1.0"
