"""Resolved configuration: what the config file and the command line agreed on, as one immutable value."""

from __future__ import annotations

import os
import json
from dataclasses import asdict, dataclass, field, replace

# Folders skipped while walking, as ruff does (plus our own cache).
DEFAULT_EXCLUDE: tuple[str, ...] = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".git-rewrite",
    ".hg",
    ".ipynb_checkpoints",
    ".lint_eps_cache",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pyenv",
    ".pytest_cache",
    ".pytype",
    ".ruff_cache",
    ".svn",
    ".tox",
    ".venv",
    ".vscode",
    "__pypackages__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)

KERAS_BACKENDS = ("tensorflow", "jax", "torch")


@dataclass(frozen=True)
class Settings:
    select: tuple[str, ...] | None = None  # None: the rules that are on by default
    ignore: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Codes dropped in test code (test files and folders, `test_*` functions: lint_eps/testcode.py).
    test_ignores: tuple[str, ...] = ("EPS1", "EPS2", "EPS5")
    exclude: tuple[str, ...] = DEFAULT_EXCLUDE
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False
    # Rule settings.
    keras_backend: str | None = None  # None: "tensorflow" unless the code sets KERAS_BACKEND
    metric_name_patterns: tuple[str, ...] = ()  # regexes added to the built-in metric/loss name patterns
    # Per-file budget (lint_eps/budget.py): a file over it is reported (EPS005) and skipped. 0: no limit.
    max_file_size: int = 10_000_000  # bytes
    file_timeout: float = 60.0  # seconds of CPU time
    # Folders (relative to `root`) under which absolute imports name modules of the project (like ruff's `src`):
    # their summaries cross module boundaries (lint_eps/project.py). Third-party code is never read.
    src: tuple[str, ...] = (".", "src")
    preview: bool = False  # weak-evidence judgements, off by default (like ruff's preview): see README
    # Where relative patterns (exclude, per-file-ignores) are anchored: the config file's folder.
    root: str = "."
    config_path: str | None = None
    extra: dict[str, object] = field(default_factory=dict, compare=False, hash=False)

    def with_overrides(self, **changes: object) -> "Settings":
        return replace(self, **{k: v for k, v in changes.items() if v is not None})

    def source_roots(self) -> list[str]:
        return [os.path.join(self.root, folder) for folder in self.src]

    def fingerprint(self) -> str:
        """Stable hash of everything that can change a file's findings (used as part of the cache key)."""
        data = asdict(self)
        # The budget is left out: an over-budget result (EPS005) is never cached, and a budget change must not
        # throw away the findings of every file that fits.
        for key in ("exclude", "extend_exclude", "respect_gitignore", "force_exclude", "config_path", "extra", "max_file_size", "file_timeout"):
            data.pop(key, None)
        import hashlib  # only cached runs need this digest

        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]
