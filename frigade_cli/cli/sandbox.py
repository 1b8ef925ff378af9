"""`frigade sandbox` (placeholder until the sandbox lands)."""

from __future__ import annotations


def sandbox() -> None:
    """Run a local stand-in for Frigade and Segment."""
    raise NotImplementedError
