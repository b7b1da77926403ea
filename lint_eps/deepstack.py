"""Run parser and visitor work on a thread with a large stack.

libcst's native parser recurses on the C stack and segfaults on a 2,000-deep parenthesised expression with the
main thread's 8 MB stack; its Python visitors recurse once per nesting level too. Machine-generated files do
nest that deep, and a linter must not crash on them, so the work runs on a thread with a 512 MB stack (virtual
memory, committed only as used) and a recursion limit to match.

Being on a thread of its own also lets the work be stopped: with a `timeout`, work that runs too long gets an
exception raised in its thread, so that one pathological file cannot hang a run, a hook or an editor.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Callable, TypeVar

T = TypeVar("T")

STACK_SIZE = 512 * 1024 * 1024
RECURSION_LIMIT = 100_000
# After a timeout, how long to wait for the work to unwind: it stops at its next Python bytecode, but a stretch
# of native code (libcst's tokenizer, a regex) finishes first. Past this, the daemon thread is left to die alone.
UNWIND_GRACE = 2.0
_local = threading.local()
_limit_lock = threading.Lock()


class WorkTimeout(Exception):
    """The work given a `timeout` did not finish in time; it has been stopped."""


class _Stop(BaseException):
    """Raised inside the work's thread to stop it. A BaseException, so that the `except Exception` that keeps a
    failing rule from stopping the others does not swallow it."""


def run_with_deep_stack(function: Callable[..., T], *args: object, timeout: float | None = None, **kwargs: object) -> T:
    """`function(*args, **kwargs)` on the deep-stack thread. With `timeout` (seconds), work that runs longer is
    stopped (an exception raised in its thread at its next bytecode) and `WorkTimeout` raised here. Nested calls
    run inline, inside the outer call's timeout."""
    if getattr(_local, "deep", False):
        return function(*args, **kwargs)
    # Shared with the thread. Once the caller sets "stopping", the thread absorbs every `_Stop` and does not
    # return (into threading's own code, where an exception could leave a lock held) until "released".
    outcome: dict[str, object] = {}

    def target() -> None:
        while True:
            try:
                if "started" not in outcome and "stopping" not in outcome:
                    outcome["started"] = True
                    outcome["clock"] = _own_cpu_clock()
                    _local.deep = True
                    try:
                        outcome["value"] = function(*args, **kwargs)
                    except BaseException as exc:  # re-raised in the caller's thread
                        outcome["error"] = exc
                outcome["done"] = True
                while "stopping" in outcome and "released" not in outcome:
                    time.sleep(0.001)
                return
            except _Stop:
                outcome["caught"] = outcome.get("caught", 0) + 1  # type: ignore[operator]

    with _limit_lock:
        old_size = threading.stack_size()
        threading.stack_size(STACK_SIZE)
        try:
            thread = threading.Thread(target=target, name="lint-eps-deep-stack", daemon=True)
            thread.start()
        finally:
            threading.stack_size(old_size)
        if sys.getrecursionlimit() < RECURSION_LIMIT:
            sys.setrecursionlimit(RECURSION_LIMIT)
    if timeout is None:
        thread.join()
    else:
        _wait(thread, outcome, timeout)
    if thread.is_alive():
        _stop(thread, outcome)
        raise WorkTimeout(f"did not finish in {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]


def _wait(thread: threading.Thread, outcome: dict[str, object], timeout: float) -> None:
    """Join `thread` until it ends or has used `timeout` seconds of CPU time (wall-clock time where the platform
    has no per-thread CPU clock): on a loaded machine a file gets the same budget, and the same findings."""
    start = time.monotonic()
    remaining = timeout
    while True:
        thread.join(remaining)
        if not thread.is_alive():
            return
        clock = outcome.get("clock")
        try:
            used = time.clock_gettime(clock) if isinstance(clock, int) else time.monotonic() - start  # type: ignore[attr-defined]
        except OSError:  # the thread has just ended (its clock with it)
            return
        if used >= timeout:
            return
        remaining = max(timeout - used, 0.001)


def _own_cpu_clock() -> int | None:
    """The calling thread's CPU-time clock, where there is one. Asked by the thread itself: asking for another
    thread's clock is undefined behaviour once that thread has ended."""
    try:
        return time.pthread_getcpuclockid(threading.get_ident())  # type: ignore[attr-defined]
    except (AttributeError, OSError):
        return None


def _stop(thread: threading.Thread, outcome: dict[str, object]) -> None:
    """Raise `_Stop` in the work's thread (CPython's PyThreadState_SetAsyncExc) until it has stopped, or for at
    most UNWIND_GRACE seconds; then let the thread return."""
    global _filtering
    if not _filtering:  # a `_Stop` landing in a weakref callback or __del__ is swallowed there (and re-raised)
        _filtering = True
        previous = sys.unraisablehook
        sys.unraisablehook = lambda unraisable: None if unraisable.exc_type is _Stop else previous(unraisable)
    outcome["stopping"] = True
    sent, last = 0, 0.0
    give_up = time.monotonic() + UNWIND_GRACE
    while time.monotonic() < give_up and thread.is_alive():
        now = time.monotonic()
        # One `_Stop` at a time: sent again only once caught, or once presumed swallowed.
        settled = outcome.get("caught", 0) >= sent or now - last > _SWALLOWED  # type: ignore[operator]
        if "done" in outcome and settled:
            break  # stopped, and no `_Stop` left pending
        if "done" not in outcome and settled:
            assert thread.ident is not None
            import ctypes  # only to stop a runaway thread

            sent += ctypes.pythonapi.PyThreadState_SetAsyncExc(ctypes.c_ulong(thread.ident), ctypes.py_object(_Stop))
            last = now
        time.sleep(0.005)
    outcome["released"] = True


_SWALLOWED = 0.2  # seconds after which a `_Stop` not caught by the thread is taken as lost
_filtering = False
