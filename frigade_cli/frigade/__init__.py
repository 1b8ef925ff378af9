"""Frigade's own rules, with no I/O: its keys, its answers, its record shapes."""
