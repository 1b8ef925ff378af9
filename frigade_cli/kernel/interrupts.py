"""SIGINT and SIGTERM: one way for every command to stop politely and keep what it holds."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable
from types import FrameType, TracebackType
from typing import Any

from frigade_cli.kernel.exit_codes import ExitCode


class TerminateSignal(KeyboardInterrupt):
    """SIGTERM raised as Ctrl-C is, so the same cleanup runs; the exit code says which it was."""


# The console script's signal state. None: signals were never deferred (a library caller, an
# in-process test), so nothing here changes the process's handlers.
_deferred: list[int] | None = None
_raised: list[int] = []
_swallowed: list[int] = []  # signals whose exception a callback lost (see below)


def _record(signum: int, frame: FrameType | None) -> None:
    if _deferred is not None:
        _deferred.append(signum)


def _raise_terminate(signum: int, frame: FrameType | None) -> None:
    _raised.append(signum)
    _swallowed.clear()  # raised again where it can act: no longer lost (the hook says if it is)
    raise TerminateSignal()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    _raised.append(signum)
    _swallowed.clear()
    raise KeyboardInterrupt()


_python_unraisablehook = sys.unraisablehook


def _resend_swallowed_signal(unraisable: Any) -> None:
    """A signal's exception raised inside a callback Python cannot raise from (a weakref
    callback, `__del__`, importlib's module-lock cleanup) is printed as "Exception ignored" and
    lost. Instead: nothing printed, and the same signal sent again, to land where it can end
    the run. Anything else goes to Python's own hook."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt) and _raised:
        terminate = isinstance(unraisable.exc_value, TerminateSignal)
        _swallowed.append(signal.SIGTERM if terminate else signal.SIGINT)
        # From another thread, a moment later: sent from here, the handler would run (and
        # raise) inside this hook, which Python would print in turn.
        again = threading.Timer(
            0.01, os.kill, (os.getpid(), signal.SIGTERM if terminate else signal.SIGINT)
        )
        again.daemon = True
        again.start()
        return
    _python_unraisablehook(unraisable)


def defer_signals(received: list[int] | None = None) -> None:
    """First thing the console script does: SIGINT and SIGTERM are recorded, not acted on.

    Python's start-up and the imports that follow are not work that can be cut short cleanly
    (a signal raised inside an import leaves a traceback); the signal waits until `arm`, when
    the command is known and can end with its documented exit code. `received`: signals an
    earlier handler recorded (numbers), kept in order. Main thread only.
    """
    global _deferred
    if threading.current_thread() is threading.main_thread():
        _deferred = list(received or ())
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, _record)


def arm() -> None:
    """SIGTERM raises `TerminateSignal` and SIGINT `KeyboardInterrupt` from now on; a signal
    that arrived while deferred is raised at once. Does nothing unless `defer_signals` ran."""
    if _deferred is None or threading.current_thread() is not threading.main_thread():
        return
    signal.signal(signal.SIGTERM, _raise_terminate)
    signal.signal(signal.SIGINT, _raise_interrupt)
    sys.unraisablehook = _resend_swallowed_signal
    if _deferred:
        first = _deferred[0]
        _deferred.clear()
        if first == signal.SIGTERM:
            _raise_terminate(first, None)
        _raise_interrupt(first, None)


def pending_signal() -> int | None:
    """The first signal still waiting (deferred, not yet raised), or None."""
    return _deferred[0] if _deferred else None


def signal_was_raised() -> bool:
    """Whether one of `arm`'s handlers raised a signal's exception in this run, even if a
    library caught it and raised something else in its place (pydantic-core wraps it in a
    SchemaError, for one): an error after that is the signal's doing, not a bug."""
    return bool(_raised)


def swallowed_signal() -> int | None:
    """The first signal whose exception a callback lost (the run went on as if none came),
    or None: a run that then ends normally was cut short all the same."""
    return _swallowed[0] if _swallowed else None


def terminate_was_raised() -> bool:
    """Whether the first signal raised by `arm`'s handlers was SIGTERM."""
    return bool(_raised) and _raised[0] == signal.SIGTERM


def ignore_signals() -> None:
    """On the way out with an exit code already decided: later SIGINT and SIGTERM are ignored,
    so none can interrupt the report or turn the exit code into a death by signal. (SIG_IGN,
    unlike a Python handler, survives the interpreter's shutdown.) Main thread only."""
    if _deferred is not None and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.SIG_IGN)


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
