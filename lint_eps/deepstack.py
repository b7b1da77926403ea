"""Run parser and visitor work on a thread with a large stack.

libcst's native parser recurses on the C stack and segfaults on a 2,000-deep parenthesised expression with the
main thread's 8 MB stack; its Python visitors recurse once per nesting level too. Machine-generated files do
nest that deep, and a linter must not crash on them, so the work runs on a thread with a 512 MB stack (virtual
memory, committed only as used) and a recursion limit to match.
"""

from __future__ import annotations

import sys
import threading
from typing import Callable, TypeVar

T = TypeVar("T")

STACK_SIZE = 512 * 1024 * 1024
RECURSION_LIMIT = 100_000
_local = threading.local()
_limit_lock = threading.Lock()


def run_with_deep_stack(function: Callable[..., T], *args: object, **kwargs: object) -> T:
    if getattr(_local, "deep", False):
        return function(*args, **kwargs)
    outcome: dict[str, object] = {}

    def target() -> None:
        _local.deep = True
        try:
            outcome["value"] = function(*args, **kwargs)
        except BaseException as exc:  # re-raised in the caller's thread
            outcome["error"] = exc

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
    thread.join()
    if "error" in outcome:
        raise outcome["error"]  # type: ignore[misc]
    return outcome["value"]  # type: ignore[return-value]
