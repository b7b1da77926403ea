"""A per-file budget of size and time: one pathological file is reported (EPS005) and skipped, never a hung run,
pre-commit hook or editor.

Real ML source files stay under about 1 MB; a file over `max-file-size` bytes (a generated table, a data dump
saved as `.py`) is not parsed at all, since libcst holds several hundred bytes of memory per byte of source. A
file whose lint (or fix) takes more than `file-timeout` seconds of CPU time is stopped where it is (CPU time:
a loaded CI machine must not skip files an idle one checks). Both limits are settings (0 turns one off), and the
diagnostic names the budget and how to change it.
"""

from __future__ import annotations

from typing import Callable, TypeVar

from .deepstack import WorkTimeout, run_with_deep_stack
from .diagnostic import Diagnostic, Location
from .settings import Settings

T = TypeVar("T")

OVER_BUDGET = "EPS005"
_NAME = "over-budget"
_HOW = "raise `{key}` in [tool.lint-eps] or pass --{key} (0 turns the budget off)"


def _diagnostic(path: str, message: str) -> Diagnostic:
    loc = Location(1, 1)
    return Diagnostic(OVER_BUDGET, message, path, loc, loc, None, 1, _NAME)


def over_size(path: str, size: int, settings: Settings) -> Diagnostic | None:
    """EPS005 when `size` (bytes) is over the size budget, else None."""
    limit = settings.max_file_size
    if not limit or size <= limit:
        return None
    return _diagnostic(
        path,
        f"file skipped: {size:,} bytes is over the size budget of {limit:,} bytes; {_HOW.format(key='max-file-size')}",
    )


def timed_out(path: str, settings: Settings) -> Diagnostic:
    return _diagnostic(
        path,
        f"file skipped: linting it took longer than the time budget of {settings.file_timeout:g} s of CPU time; {_HOW.format(key='file-timeout')}",
    )


def within_time(path: str, settings: Settings, work: Callable[[], T]) -> T | Diagnostic:
    """`work()`, or EPS005 when it uses more than the file's time budget (it is then stopped)."""
    seconds = settings.file_timeout
    try:
        return run_with_deep_stack(work, timeout=seconds if 0 < seconds < float("inf") else None)
    except WorkTimeout:
        return timed_out(path, settings)
