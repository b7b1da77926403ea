"""Linting one open document for the server: its settings, the engine run, and what went wrong.

Nothing here talks LSP. The settings are the CLI's (`[tool.lint-eps]` in the nearest pyproject.toml or
lint-eps.toml above the document's folder), re-read on every lint so that editing the config file takes
effect without a restart, with the editor's own `lint-eps` settings (select, ignore, ...) applied on top.
"""

from __future__ import annotations

import os
import re
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping
from urllib.parse import urlparse
from urllib.request import url2pathname

from ..budget import OVER_BUDGET, over_size, within_time
from ..config import KEYS, ConfigError, discover_settings
from ..diagnostic import Diagnostic, Location
from ..engine import INTERNAL_ERROR, lint_source
from ..project import project_for
from ..registry import SelectionError, selected_codes, validate_selectors
from ..settings import Settings

SECTION = "lint-eps"

# Editor settings (camelCase or the TOML's kebab-case) -> the TOML key they override.
CLIENT_KEYS = {
    "select": "select",
    "extend-select": "extend-select",
    "ignore": "ignore",
    "keras-backend": "keras-backend",
    "metric-name-patterns": "metric-name-patterns",
}
CONFIG_FILE_KEY = "config"  # an explicit config file, like `lint-eps --config`


def _kebab(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", lambda m: "-" + m.group(1).lower(), name)


def _empty(raw: Any) -> bool:
    """No settings: null, or an empty array (an empty Lua table as Neovim sends it)."""
    return raw is None or (isinstance(raw, list) and not raw)


@dataclass(frozen=True)
class ClientSettings:
    """The `lint-eps` section of the editor's settings, validated."""

    overrides: tuple[tuple[str, Any], ...] = ()  # (Settings field, value)
    config: str | None = None

    @classmethod
    def parse(cls, raw: Any) -> "ClientSettings":
        """From initializationOptions, didChangeConfiguration's `settings` or a workspace/configuration answer:
        either `{"lint-eps": {...}}` or the section itself. Anything else (another tool's settings) is empty.
        An empty list is no settings too: Neovim encodes an empty Lua table (`settings = { ["lint-eps"] = {} }`,
        `init_options = {}`) as the JSON array `[]`."""
        if _empty(raw):
            return cls()
        if not isinstance(raw, Mapping):
            raise ConfigError(f"editor settings for {SECTION} must be an object, got {raw!r}")
        if SECTION in raw:
            raw = raw[SECTION]
            if _empty(raw):
                return cls()
            if not isinstance(raw, Mapping):
                raise ConfigError(f"editor settings `{SECTION}` must be an object, got {raw!r}")
        elif not raw or not all(isinstance(k, str) and (_kebab(k) in CLIENT_KEYS or k == CONFIG_FILE_KEY) for k in raw):
            return cls()
        overrides: list[tuple[str, Any]] = []
        config = None
        for key, value in raw.items():
            name = _kebab(str(key))
            if name == CONFIG_FILE_KEY:
                if value in (None, ""):
                    continue
                if not isinstance(value, str):
                    raise ConfigError(f"editor setting `{SECTION}.{key}` must be a path, got {value!r}")
                config = os.path.expanduser(value)
                continue
            if name not in CLIENT_KEYS:
                known = ", ".join(sorted([*CLIENT_KEYS, CONFIG_FILE_KEY]))
                raise ConfigError(f"unknown editor setting `{SECTION}.{key}` (known: {known})")
            if value is None:
                continue
            field_name, convert = KEYS[CLIENT_KEYS[name]]
            try:
                converted = convert(name, value)
            except ConfigError as exc:
                raise ConfigError(f"editor settings `{SECTION}`: {exc}") from None
            if field_name in ("select", "ignore", "extend_select"):
                converted = tuple(code.strip().upper() for code in converted)
                try:
                    validate_selectors(converted, f"editor setting `{SECTION}.{key}`")
                except SelectionError as exc:
                    raise ConfigError(str(exc)) from None
            overrides.append((field_name, converted))
        return cls(tuple(overrides), config)

    def apply(self, settings: Settings) -> Settings:
        changes: dict[str, Any] = {}
        for field_name, value in self.overrides:
            if field_name in ("ignore", "extend_select"):
                value = tuple(getattr(settings, field_name)) + tuple(value)
            changes[field_name] = value
        return settings.with_overrides(**changes) if changes else settings


def uri_to_path(uri: str) -> str | None:
    """The file system path of a `file:` URI; None for untitled buffers and other schemes."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return None
    path = url2pathname(parsed.path)
    if parsed.netloc and parsed.netloc != "localhost":
        path = f"//{parsed.netloc}{path}"
    return path


def settings_for(path: str | None, fallback_folder: str | None, client: ClientSettings) -> Settings:
    """The CLI's settings for a document (raises ConfigError)."""
    start = os.path.dirname(os.path.abspath(path)) if path else (fallback_folder or os.getcwd())
    config = client.config
    if config is not None and not os.path.isabs(config):
        config = os.path.join(fallback_folder or os.getcwd(), config)
    if config is not None and not os.path.isfile(config):
        raise ConfigError(f"editor setting `{SECTION}.{CONFIG_FILE_KEY}`: config file does not exist: {config}")
    return client.apply(discover_settings(start, config))


def excluded(path: str | None, settings: Settings) -> bool:
    """Whether the project's `exclude` / `extend-exclude` patterns cover the document (then it gets no
    findings, as if the CLI ran with --force-exclude; .gitignore is not consulted: a file you opened is yours)."""
    if path is None:
        return False
    from ..discovery import is_excluded  # the CLI's own matcher, so that both agree

    return is_excluded(path, settings.with_overrides(respect_gitignore=False))


@dataclass
class LintResult:
    """What one lint of one version of a document produced."""

    uri: str
    version: int | None
    text: str
    path: str | None
    settings: Settings | None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    config_error: str | None = None
    crash: str | None = None  # a traceback when the engine itself failed
    excluded: bool = False
    # Other files of the project whose summaries this lint used (lint_eps/project.py): saving one re-lints this.
    deps: frozenset[str] = frozenset()

    @property
    def rule_errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.code == INTERNAL_ERROR]


def lint_document(uri: str, version: int | None, text: str, fallback_folder: str | None, client: ClientSettings) -> LintResult:
    """Lint the in-memory text of a document. Never raises: a configuration problem or an engine crash is
    recorded in the result for the server to report."""
    path = uri_to_path(uri)
    display = path or uri
    try:
        settings = settings_for(path, fallback_folder, client)
    except ConfigError as exc:
        return LintResult(uri, version, text, path, None, config_error=str(exc))
    try:
        if excluded(path, settings):
            return LintResult(uri, version, text, path, settings, excluded=True)
        size = len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        with project_for(settings.source_roots()).tracking() as used:
            found = over_size(display, size, settings) or within_time(display, settings, lambda: lint_source(text, display, settings))
        diagnostics = found if isinstance(found, list) else [found] if OVER_BUDGET in selected_codes(settings, display) else []
    except Exception as exc:  # an engine bug: report it, keep serving
        loc = Location(1, 1)
        crash = Diagnostic(
            INTERNAL_ERROR,
            f"internal error: lint-eps could not check this file ({type(exc).__name__}: {exc}); see the lint-eps output",
            display,
            loc,
            loc,
            None,
            1,
            "internal-error",
        )
        return LintResult(uri, version, text, path, settings, [crash], crash=traceback.format_exc())
    return LintResult(uri, version, text, path, settings, diagnostics, deps=frozenset(used))
