"""Segment's formats, as pure functions and models: messages, batching, signing. No I/O."""
