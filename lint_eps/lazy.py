"""libcst, imported on first use.

`import libcst` costs more than starting Python and linting a clean file together. A run where every file is a
cache hit, or where the prefilter proves every file clean, never needs it; yet every rule module (and the core
modules they build on) names libcst. They import it from here instead: `from lint_eps.lazy import libcst as
cst` gives a module object that imports the real libcst the first time one of its attributes is read, then
holds all of them, so that `cst.Call` costs what it costs on libcst itself. Code that runs at import time must
not read `cst.*` (build such constants in a cached function); tests/test_startup.py checks that a run that
parses nothing does not import libcst.
"""

from __future__ import annotations

import importlib
import types
from typing import TYPE_CHECKING, Any


class LazyModule(types.ModuleType):
    """A stand-in for module `name` that imports it on the first attribute read."""

    def __getattr__(self, attribute: str) -> Any:
        module = importlib.import_module(self.__name__)
        # Copy every attribute once: later reads are plain attribute lookups, as fast as on the module itself.
        self.__dict__.update(vars(module))
        return getattr(module, attribute)


if TYPE_CHECKING:
    import libcst
else:
    libcst = LazyModule("libcst")
