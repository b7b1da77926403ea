"""lint-eps: a linter for numerical-stability mistakes in machine-learning code.

Public API: `lint_source(source, path=...)` for one text, `lint_paths(paths)` for files and folders.
"""

from __future__ import annotations

__version__ = "0.1.0"

from .diagnostic import Diagnostic, Edit, Fix, Location  # noqa: E402
from .engine import lint_source  # noqa: E402
from .runner import lint_paths  # noqa: E402
from .settings import Settings  # noqa: E402

__all__ = ["Diagnostic", "Edit", "Fix", "Location", "Settings", "lint_paths", "lint_source", "__version__"]
