"""Clients of the real services (Frigade, Segment), one module each, on the one HTTP layer."""
