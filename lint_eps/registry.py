"""Find every rule in the catalogue (`lint_eps.rules`) and decide which ones a run selects.

Adding a rule is adding one module to `rules/`: every `Rule` subclass with a code is picked up here.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
from functools import lru_cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from .discovery import gitignore_spec
from .rule import Rule
from .settings import Settings
from .testcode import is_test_code_file

if TYPE_CHECKING:
    from pathspec import PathSpec


class SelectionError(ValueError):
    """An unknown rule code or prefix in select/ignore/per-file-ignores."""


@lru_cache(maxsize=1)
def all_rules() -> dict[str, type[Rule]]:
    from . import rules as package

    found: dict[str, type[Rule]] = {}
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and issubclass(value, Rule) and value is not Rule and value.code:
                if value.__module__ != module.__name__:
                    continue
                if value.code in found and found[value.code] is not value:
                    raise RuntimeError(f"duplicate rule code {value.code}: {found[value.code].__name__}, {value.__name__}")
                found[value.code] = value
    return dict(sorted(found.items()))


def _matching(selector: str, rules: dict[str, type[Rule]], *, enabling: bool) -> set[str]:
    selector = selector.strip().upper()
    if selector == "ALL":
        return {code for code, rule in rules.items() if rule.default_enabled or not enabling}
    matches = {code for code in rules if code.startswith(selector)}
    if not matches:
        raise SelectionError(f"unknown rule selector {selector!r}")
    if enabling:
        # Opt-in rules are enabled by their full code only, never by a prefix.
        matches = {code for code in matches if rules[code].default_enabled or code == selector}
    return matches


def validate_selectors(selectors: tuple[str, ...] | list[str], where: str) -> None:
    rules = all_rules()
    for selector in selectors:
        try:
            _matching(selector, rules, enabling=False)
        except SelectionError as exc:
            raise SelectionError(f"{where}: {exc}") from None


def selected_codes(settings: Settings, path: str | None = None) -> frozenset[str]:
    rules = all_rules()
    if settings.select is None:
        chosen = {code for code, rule in rules.items() if rule.default_enabled}
    else:
        chosen = set()
        for selector in settings.select:
            chosen |= _matching(selector, rules, enabling=True)
    for selector in settings.extend_select:
        chosen |= _matching(selector, rules, enabling=True)
    for selector in settings.ignore:
        chosen -= _matching(selector, rules, enabling=False)
    if path is not None and settings.per_file_ignores:
        relative = _relative_posix(path, settings.root)
        for pattern, codes in settings.per_file_ignores:
            if _path_matches(relative, pattern):
                for selector in codes:
                    chosen -= _matching(selector, rules, enabling=False)
    if path is not None and settings.test_ignores and is_test_code_file(path, settings.root):
        chosen -= test_ignored_codes(settings)
    return frozenset(chosen)


def test_ignored_codes(settings: Settings) -> frozenset[str]:
    """The codes `test-ignores` drops in test code."""
    rules = all_rules()
    out: set[str] = set()
    for selector in settings.test_ignores:
        out |= _matching(selector, rules, enabling=False)
    return frozenset(out)


def _relative_posix(path: str, root: str) -> str:
    try:
        rel = os.path.relpath(os.path.abspath(path), os.path.abspath(root))
    except ValueError:
        rel = path
    return PurePosixPath(rel.replace(os.sep, "/")).as_posix()


def _path_matches(relative: str, pattern: str) -> bool:
    """gitignore-style match, as `exclude` uses: `tests/`, `**/conftest.py`, `__init__.py` (any folder)."""
    return _spec(pattern).match_file(relative)


@lru_cache(maxsize=256)
def _spec(pattern: str) -> "PathSpec":
    return gitignore_spec((pattern,))
