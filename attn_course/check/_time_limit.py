"""The time limit on the learner's code: ``check.TIME_LIMIT`` seconds per call.

SIGALRM in the main thread; elsewhere, or without SIGALRM, a timer thread that
raises in the learner's thread. The exception is raised again every 0.1 s, so
code that catches it once (``except BaseException``) still stops as soon as it
leaves its loop, and is reported as timed out even if it then returns. A loop
that swallows it forever can only be stopped by interrupting or restarting the
kernel. A long single C call (one huge matmul, or a ``time.sleep`` outside the
main thread) finishes before the exception lands. The checker's own code is
never interrupted: its modules are named with :func:`never_interrupt`.
"""

from __future__ import annotations

import ctypes
import math
import numbers
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import ModuleType

from attn_course.check._verdicts import Problem, kind

_REFIRE = 0.1                  # seconds between repeated time-outs, for code that catches the first one
_SPARED: list[dict[str, object]] = [globals()]   # the checker's modules: the time limit never interrupts them


class TimeUp(BaseException):
    """Raised in the learner's code when the time limit is reached; it never leaves the checker."""


def never_interrupt(module: ModuleType) -> None:
    """Never raise the time-out while the code running is this module's (one of the checker's own)."""
    if all(vars(module) is not g for g in _SPARED):
        _SPARED.append(vars(module))


def _async_raise(thread_id: int, exc: type[BaseException] | None) -> None:
    ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread_id), ctypes.py_object(exc) if exc else None)


class Limit:
    """Raise TimeUp in the learner's code after ``seconds``, then every _REFIRE s, until the block ends."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds, self.armed, self.fired, self._stop = seconds, False, False, None

    def _should_fire(self, frame: object) -> bool:
        return self.armed and frame is not None and all(frame.f_globals is not g for g in _SPARED)

    def __enter__(self) -> Limit:
        if self.seconds is None:
            return self
        if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGALRM"):
            try:
                self._stop = self._start_alarm()
            except (ValueError, OSError):     # e.g. not the main interpreter
                self._stop = None
        self._stop = self._stop or self._start_watcher()
        self.armed = True
        return self

    def _start_alarm(self) -> Callable[[], None]:
        def on_alarm(signum, frame):
            if self._should_fire(frame):
                self.fired = True
                raise TimeUp
        previous = signal.signal(signal.SIGALRM, on_alarm)
        started = time.monotonic()
        delay, interval = signal.setitimer(signal.ITIMER_REAL, self.seconds, _REFIRE)

        def stop():
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, signal.SIG_DFL if previous is None else previous)
            if delay or interval:             # someone else's timer was running: let it go on
                signal.setitimer(signal.ITIMER_REAL, max(delay - (time.monotonic() - started), 1e-3), interval)
        return stop

    def _start_watcher(self) -> Callable[[], None]:
        target, stopped = threading.get_ident(), threading.Event()

        def watch():
            wait = self.seconds
            while not stopped.wait(wait):
                if self._should_fire(sys._current_frames().get(target)):
                    self.fired = True
                    _async_raise(target, TimeUp)
                wait = _REFIRE
        watcher = threading.Thread(target=watch, name="attn_course time limit", daemon=True)
        watcher.start()

        def stop():
            stopped.set()
            watcher.join()
            _async_raise(target, None)        # drop one raised but not yet delivered
        return stop

    def __exit__(self, *exc: object) -> None:
        self.armed = False
        while self._stop is not None:
            try:
                self._stop()
                self._stop = None
            except TimeUp:                    # delivered just as it was being disarmed
                pass


def as_seconds(limit: object) -> float | None:
    """``check.TIME_LIMIT`` as seconds (None: no limit), or the Problem that says what it must be."""
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, numbers.Real) or math.isnan(limit) or limit <= 0:
        got = repr(limit) if isinstance(limit, numbers.Real) else kind(limit)
        raise Problem(f"check.TIME_LIMIT must be a number of seconds > 0, or None for no limit; got {got}.")
    return None if math.isinf(limit) else float(limit)


def time_out(seconds: float | None) -> Problem:
    return Problem(f"your function did not return within {seconds:g} s: is there an infinite loop? "
                   f"(The limit is check.TIME_LIMIT.)")
