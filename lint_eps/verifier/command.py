"""`lint-eps verify`: prove (or fail to prove) findings by running the flagged functions on edge-case tensors."""

from __future__ import annotations

import os
import sys
import tempfile
from typing import Any

import click

from lint_eps.cli import UsageFailure, build_settings
from lint_eps.discovery import discover
from lint_eps.fixes import fix_source
from lint_eps.registry import selected_codes
from lint_eps.runner import lint_files
from lint_eps.settings import Settings
from lint_eps.source import SourceError, decode_source

from .report import Record, render_json, render_text
from .supervisor import Batch, default_memory_limit, run_batch
from .targets import FindingResolver, Target, TargetError, framework_missing, module_location, resolve_spec, split_spec

ENGINE_CODES = ("EPS00",)  # syntax / internal / io errors: nothing to run


def _settings(first: str, config_path: str | None, select: tuple[str, ...], ignore: tuple[str, ...]) -> Settings:
    return build_settings(first, config_path, select=select, ignore=ignore)


def _batches(targets: list[Target], fixed_files: dict[str, str] | None) -> list[Batch]:
    """One batch per module (per fixed copy with --fixed), in order of first appearance."""
    batches: dict[str, Batch] = {}
    for target in targets:
        module_file = target.abs_path if fixed_files is None else fixed_files[target.abs_path]
        batch = batches.get(module_file)
        if batch is None:
            name, folders = module_location(target.abs_path)
            batch = batches[module_file] = Batch(module_file, name, folders, target.framework)
        batch.targets.append(target)
    return list(batches.values())


def _run(targets: list[Target], fixed_files: dict[str, str] | None, timeout: float, memory_limit: int) -> dict[tuple[Any, ...], dict[str, Any]]:
    results: dict[tuple[Any, ...], dict[str, Any]] = {}
    for batch in _batches(targets, fixed_files):
        for target, outcome in zip(batch.targets, run_batch(batch, timeout=timeout, memory_limit=memory_limit)):
            results[target.key] = outcome
    return results


def _fixed_sources(targets: list[Target], settings: Settings, folder: str) -> tuple[dict[str, str], dict[str, str]]:
    """Write the fixed text of every file with targets into `folder`. Returns (abs_path -> fixed file) for files
    that a fix changes and (abs_path -> reason) for those it does not."""
    changed: dict[str, str] = {}
    unchanged: dict[str, str] = {}
    for index, abs_path in enumerate(dict.fromkeys(t.abs_path for t in targets)):
        try:
            with open(abs_path, "rb") as handle:
                text = decode_source(handle.read()).text
        except (OSError, SourceError) as exc:
            unchanged[abs_path] = f"cannot read the file to fix it ({exc})"
            continue
        outcome = fix_source(text, abs_path, settings, unsafe=True, codes=selected_codes(settings, abs_path))
        if outcome.error:
            unchanged[abs_path] = f"no fix applied: {outcome.error}"
        elif outcome.text == text:
            unchanged[abs_path] = "no fix changes this file"
        else:
            sub = os.path.join(folder, str(index))
            os.makedirs(sub)
            fixed = os.path.join(sub, os.path.basename(abs_path))
            with open(fixed, "w", encoding="utf-8") as handle:
                handle.write(outcome.text)
            changed[abs_path] = fixed
    return changed, unchanged


@click.command("verify")
@click.argument("arguments", nargs=-1, metavar="[PATH | PATH::NAME]...")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), default=20.0, show_default=True, help="Seconds each function may run.")
@click.option("--fixed", is_flag=True, help="Also run the same inputs against the source with all fixes (safe and unsafe) applied, and report both; the exit code then follows the fixed source.")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True, help="How results are printed.")
@click.option("--select", multiple=True, help="Rule codes or prefixes whose findings are verified.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes whose findings are not verified.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str), default=None, help="Use this pyproject.toml or lint-eps.toml.")
@click.option("--memory-limit", type=click.IntRange(min=0), default=None, help="Address-space limit of a worker in MiB (0: none; default: half the machine's memory).")
def verify(
    arguments: tuple[str, ...],
    timeout: float,
    fixed: bool,
    output_format: str,
    select: tuple[str, ...],
    ignore: tuple[str, ...],
    config_path: str | None,
    memory_limit: int | None,
) -> None:
    """Run flagged functions on edge-case tensors and report the input that breaks them.

    PATH lints files and folders and verifies every finding inside a function; PATH::NAME verifies one function,
    `Class` (a Keras Metric or Loss subclass) or `outer.inner` (a nested function built by calling `outer()`).
    Each function runs in a separate worker process with a time limit. Exit codes: 1 when a failure is
    confirmed, 0 otherwise, 2 on usage errors.
    """
    specs = [split_spec(a) for a in arguments] or [(".", None)]
    for path, _ in specs:
        if not os.path.lexists(path):
            raise UsageFailure(f"path does not exist: {path}")
    if config_path is not None and not os.path.isfile(config_path):
        raise UsageFailure(f"config file does not exist: {config_path}")
    settings = _settings(specs[0][0], config_path, select, ignore)

    entries: list[tuple[str | None, Target]] = []
    for path, name in specs:
        if name is None:
            continue
        if not os.path.isfile(path):
            raise UsageFailure(f"`{path}::{name}`: {path} is not a file")
        try:
            entries.append((None, resolve_spec(path, name)))
        except TargetError as exc:
            raise UsageFailure(str(exc)) from None
    lint_paths = [path for path, name in specs if name is None]
    if lint_paths:
        files, errors = discover(lint_paths, settings)
        for error in errors:
            click.echo(f"lint-eps: warning: {error.path}: {error.message}", err=True)
        resolver = FindingResolver()
        diagnostics = [d for result in lint_files(files, settings, use_cache=False) for d in result.diagnostics]
        for d in sorted(diagnostics, key=lambda d: d.sort_key()):
            if d.code.startswith(ENGINE_CODES):
                continue
            entries.append((d.code, resolver.resolve(d.filename, d.location.row, d.location.column)))

    unique: dict[tuple[Any, ...], Target] = {}
    preset: dict[tuple[Any, ...], dict[str, Any]] = {}
    for _, target in entries:
        if target.key in unique or target.key in preset:
            continue
        reason = target.skip or framework_missing(target.framework)
        if reason:
            preset[target.key] = {"status": "skipped", "message": reason, "counterexample": None}
        else:
            unique[target.key] = target
    runnable = list(unique.values())
    limit = default_memory_limit() if memory_limit is None else memory_limit * 1024 * 1024
    results = {**preset, **_run(runnable, None, timeout, limit)}
    fixed_results: dict[tuple[Any, ...], dict[str, Any]] = {}
    if fixed:
        with tempfile.TemporaryDirectory(prefix="lint-eps-fixed-") as folder:
            changed, unchanged = _fixed_sources(runnable, settings, folder)
            fixed_results = _run([t for t in runnable if t.abs_path in changed], changed, timeout, limit)
        for target in runnable:
            if target.abs_path in unchanged:
                original = results[target.key]
                fixed_results[target.key] = {**original, "message": f"{unchanged[target.abs_path]}; {original['message']}"}
        for key, outcome in preset.items():
            fixed_results[key] = outcome

    records = [
        Record(code, target.path, target.row, target.column, target.function, results[target.key], fixed_results.get(target.key) if fixed else None)
        for code, target in entries
    ]
    if output_format == "json":
        click.echo(render_json(records, fixed), nl=False)
    else:
        click.echo(render_text(records, fixed), nl=False)
    judged = [r.fixed for r in records if r.fixed is not None] if fixed else [r.outcome for r in records]
    sys.exit(1 if any(o["status"] == "confirmed" for o in judged) else 0)
