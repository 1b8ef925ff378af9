"""SIGINT and SIGTERM: one way for every command to stop politely and keep what it holds."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from frigade_cli.kernel.exit_codes import ExitCode


class TerminateSignal(KeyboardInterrupt):
    """SIGTERM raised as Ctrl-C is, so the same cleanup runs; the exit code says which it was."""


def _raise_terminate(signum: int, frame: FrameType | None) -> None:
    raise TerminateSignal()


def sigterm_as_interrupt() -> None:
    """Make SIGTERM behave as Ctrl-C for the rest of the process (console-script entry only)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _raise_terminate)


class StopSignals:
    """While active, SIGINT and SIGTERM are recorded instead of raised, and reported to callbacks.

    A command wraps the part that must not be cut short (sending, then saving what was not
    delivered, then printing the summary) in it: the first signal asks the work to stop, later
    ones can escalate, and none can interrupt the save. Outside the main thread it does nothing.
    """

    def __init__(self) -> None:
        self.received: list[int] = []
        self._callbacks: list[Callable[[int], None]] = []
        self._previous: dict[int, Any] = {}

    @property
    def requested(self) -> bool:
        return bool(self.received)

    @property
    def exit_code(self) -> ExitCode:
        """130 when the first signal was SIGINT, 143 when it was SIGTERM."""
        if self.received and self.received[0] == signal.SIGTERM:
            return ExitCode.TERMINATED
        return ExitCode.INTERRUPTED

    def on_signal(self, callback: Callable[[int], None]) -> None:
        """Call `callback(n)` on the n-th signal (1 for the first) from now on."""
        self._callbacks.append(callback)

    def remove(self, callback: Callable[[int], None]) -> None:
        """Stop calling `callback` (a no-op when it is not registered)."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        for callback in list(self._callbacks):
            callback(len(self.received))

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._callbacks.clear()
        for sig, previous in self._previous.items():
            # After a stop the command is on its way out with its exit code: a late Ctrl-C is
            # ignored (SIG_IGN survives interpreter shutdown, a Python handler does not), so it
            # cannot turn exit 130 into a death by SIGINT.
            signal.signal(sig, signal.SIG_IGN if self.received else previous)
        self._previous.clear()
