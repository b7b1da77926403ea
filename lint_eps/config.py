"""Find and read `[tool.lint-eps]` (pyproject.toml) or `lint-eps.toml`, rejecting anything it does not know.

A typo in a config key silently disabling a rule is worse than an error, so unknown keys and bad values stop the
run with exit code 2 and the key named.
"""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path
from typing import Any, Callable

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

from .registry import SelectionError, validate_selectors
from .settings import DEFAULT_EXCLUDE, KERAS_BACKENDS, Settings

CONFIG_NAMES = ("lint-eps.toml", ".lint-eps.toml", "pyproject.toml")


class ConfigError(ValueError):
    """A configuration problem the user must fix; the message names the file and the key."""


def find_config(start: str | os.PathLike[str]) -> Path | None:
    """The nearest config file at or above `start`: a lint-eps.toml, or a pyproject.toml with [tool.lint-eps]."""
    here = Path(start).resolve()
    if here.is_file():
        here = here.parent
    for folder in (here, *here.parents):
        for name in CONFIG_NAMES:
            candidate = folder / name
            if not candidate.is_file():
                continue
            if name != "pyproject.toml":
                return candidate
            try:
                data = tomllib.loads(candidate.read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
                # A broken pyproject.toml that is not ours is someone else's problem... unless it mentions us.
                try:
                    text = candidate.read_text(encoding="utf-8", errors="replace")
                except OSError:
                    continue
                if "[tool.lint-eps" in text:
                    return candidate
                continue
            if "lint-eps" in data.get("tool", {}):
                return candidate
    return None


def _str_list(key: str, value: Any) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"`{key}` must be a list of strings, got {value!r}")
    return tuple(value)


def _bool(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"`{key}` must be true or false, got {value!r}")
    return value


def _backend(key: str, value: Any) -> str:
    if value not in KERAS_BACKENDS:
        raise ConfigError(f"`{key}` must be one of {', '.join(map(repr, KERAS_BACKENDS))}, got {value!r}")
    return value


def _patterns(key: str, value: Any) -> tuple[str, ...]:
    patterns = _str_list(key, value)
    for pattern in patterns:
        try:
            re.compile(pattern)
        except re.error as exc:
            raise ConfigError(f"`{key}`: {pattern!r} is not a valid regular expression ({exc})") from None
    return patterns


def _size(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ConfigError(f"`{key}` must be a whole number of bytes, 0 or more (0: no limit), got {value!r}")
    return value


def _seconds(key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < float("inf"):
        raise ConfigError(f"`{key}` must be a number of seconds, 0 or more (0: no limit), got {value!r}")
    return float(value)


def _per_file_ignores(key: str, value: Any) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"`{key}` must be a table of glob = [codes], got {value!r}")
    out = []
    for pattern, codes in value.items():
        out.append((pattern, _str_list(f"{key}.{pattern}", codes)))
    return tuple(out)


# TOML key -> (Settings field, converter)
KEYS: dict[str, tuple[str, Callable[[str, Any], Any]]] = {
    "select": ("select", _str_list),
    "ignore": ("ignore", _str_list),
    "extend-select": ("extend_select", _str_list),
    "per-file-ignores": ("per_file_ignores", _per_file_ignores),
    "test-ignores": ("test_ignores", _str_list),
    "exclude": ("exclude", _str_list),
    "extend-exclude": ("extend_exclude", _str_list),
    "respect-gitignore": ("respect_gitignore", _bool),
    "force-exclude": ("force_exclude", _bool),
    "keras-backend": ("keras_backend", _backend),
    "metric-name-patterns": ("metric_name_patterns", _patterns),
    "max-file-size": ("max_file_size", _size),
    "file-timeout": ("file_timeout", _seconds),
    "preview": ("preview", _bool),
    "src": ("src", _str_list),
}


def settings_from_table(table: dict[str, Any], *, root: str, source: str) -> Settings:
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in KEYS:
            known = ", ".join(sorted(KEYS))
            raise ConfigError(f"{source}: unknown key `{key}` in [tool.lint-eps] (known keys: {known})")
        field_name, convert = KEYS[key]
        try:
            values[field_name] = convert(key, value)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    for key in ("select", "ignore", "extend_select", "test_ignores"):
        if key in values:
            try:
                validate_selectors(values[key], f"{source}: `{key.replace('_', '-')}`")
            except SelectionError as exc:
                raise ConfigError(str(exc)) from None
    for pattern, codes in values.get("per_file_ignores", ()):
        try:
            validate_selectors(codes, f"{source}: `per-file-ignores.{pattern}`")
        except SelectionError as exc:
            raise ConfigError(str(exc)) from None
    return Settings(root=root, config_path=source, **values)


def load_config(path: str | os.PathLike[str]) -> Settings:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read configuration: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: configuration is not UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("lint-eps", {})
    else:
        table = data.get("tool", {}).get("lint-eps", data) if "tool" in data else data
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.lint-eps] must be a table")
    return settings_from_table(table, root=str(path.parent.resolve()), source=str(path))


def discover_settings(start: str | os.PathLike[str] = ".", config: str | None = None) -> Settings:
    """Settings from an explicit `--config` file, else the nearest config file, else defaults rooted at the cwd."""
    if config is not None:
        return load_config(config)
    found = find_config(start)
    if found is None:
        # No configuration: relative patterns are anchored at the working directory, as in ruff.
        return Settings(root=str(Path.cwd()), exclude=DEFAULT_EXCLUDE)
    return load_config(found)
