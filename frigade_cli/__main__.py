"""The `frigade` console script and `python -m frigade_cli`.

Signals are deferred before anything else is imported: a SIGTERM during start-up waits until the
command is known, then ends it with its documented exit code and one line, never a traceback.
"""


def main() -> None:
    """Defer SIGINT and SIGTERM, then load and run the CLI (`frigade_cli.cli.main`)."""
    import signal

    early: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda signum, frame: early.append(signum))
    from frigade_cli.kernel.interrupts import defer_signals

    defer_signals(early)
    from frigade_cli.cli import main as run

    run()


if __name__ == "__main__":
    main()
