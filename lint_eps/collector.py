"""The cyclic garbage collector, set for a lint run: a short batch that allocates millions of objects (two trees
per file) and frees them by reference counting.

With CPython's defaults a collection starts every 700 net allocations, and every tenth of those that reach the
oldest generation walks every object alive, libcst's and lint-eps's own modules included: about a fifth of the
CPU time of a run, for files whose memory reference counting frees anyway (the engine leaves no reference cycle
behind a file: `walk.walk_callbacks`, `engine._run_rules`; tests/test_memory.py checks it). So a lint run starts
a collection every 100,000 allocations, and freezes what it imported (`gc.freeze`, as CPython advises before a
fork) so that no collection walks the modules again. The language server and the verifier, which run for long,
keep the defaults.
"""

from __future__ import annotations

import gc
import sys

BATCH_THRESHOLD = 100_000
_frozen = False


def tune_for_batch() -> None:
    """Collect rarely: called by `lint-eps check` before it lints."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(BATCH_THRESHOLD, middle, oldest)


def freeze_imports() -> None:
    """Move everything alive now (the imported modules, once libcst is among them) out of the collector's reach.
    Called before each file is linted; does something once, after the first file that imported libcst."""
    global _frozen
    if not _frozen and "libcst" in sys.modules and gc.get_threshold()[0] == BATCH_THRESHOLD:
        gc.freeze()
        _frozen = True
