"""The shared kernel: errors and exit codes, output, redaction, config, durations, clock,
statistics, interrupts, HTTP and the spool. It imports no domain module."""
