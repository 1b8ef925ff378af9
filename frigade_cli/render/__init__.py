"""What the user sees: one module per command, the only place that formats output."""
