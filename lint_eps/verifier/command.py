"""`lint-eps verify`: prove (or fail to prove) findings by running the flagged functions on edge-case tensors."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import replace
from typing import Any

import click

from lint_eps.cli import UsageFailure, build_settings
from lint_eps.discovery import discover
from lint_eps.fixes import fix_source
from lint_eps.registry import selected_codes
from lint_eps.runner import lint_files
from lint_eps.settings import Settings
from lint_eps.source import SourceError, decode_source

from .remap import Span, map_span, span_text
from .report import Record, render_json, render_text
from .supervisor import Batch, default_memory_limit, run_batch
from .targets import FindingResolver, Target, TargetError, framework_missing, module_location, resolve_spec, split_spec
from .usage import ALL_DTYPES as DTYPES

ENGINE_CODES = ("EPS00",)
# Findings about Keras's global settings: verified by what the setting does (setting.py), wherever they are.
SETTING_CODES = ("EPS401", "EPS402", "EPS403", "EPS404")  # syntax / internal / io errors: nothing to run
# A file that cannot be parsed or read is bad input: named on stderr, and the run exits 2 (after verifying the rest).
INPUT_ERROR_CODES = ("EPS001", "EPS003")


def _settings(first: str, config_path: str | None, select: tuple[str, ...], ignore: tuple[str, ...]) -> Settings:
    return build_settings(first, config_path, select=select, ignore=ignore)


def _batches(targets: list[Target], fixed_files: dict[str, str] | None) -> list[Batch]:
    """One batch per module and framework (per fixed copy with --fixed), in order of first appearance: a module
    with JAX and Keras functions gets a JAX worker and a TensorFlow worker."""
    batches: dict[tuple[str, str], Batch] = {}
    for target in targets:
        module_file = target.abs_path if fixed_files is None else fixed_files[target.abs_path]
        batch = batches.get((module_file, target.framework))
        if batch is None:
            name, folders = module_location(target.abs_path)
            batch = batches[module_file, target.framework] = Batch(module_file, name, folders, target.framework)
        batch.targets.append(target)
    return list(batches.values())


def _run(targets: list[Target], fixed_files: dict[str, str] | None, timeout: float, memory_limit: int) -> dict[tuple[Any, ...], dict[str, Any]]:
    results: dict[tuple[Any, ...], dict[str, Any]] = {}
    for batch in _batches(targets, fixed_files):
        for target, outcome in zip(batch.targets, run_batch(batch, timeout=timeout, memory_limit=memory_limit)):
            results[target.key] = outcome
    return results


def _setting(code: str, target: Target) -> Target:
    """A global-setting finding's target: the module (EPS401-EPS403 at module level, or a `set_epsilon` call
    anywhere: its value is what counts), or for EPS404 the module-level function that assigns the setter."""
    if code not in SETTING_CODES or (code == "EPS403" and target.qualname is not None):
        return target
    attr = target.qualname if code == "EPS404" and target.qualname and target.kind == "function" else ""
    if code == "EPS404" and target.qualname and not attr:
        return target
    return replace(target, kind="setting", attr=attr, inner=None, method=None, framework="tensorflow", skip=None)


def _dtypes(option: str | None) -> tuple[str, ...] | None:
    if option is None:
        return None
    names = tuple(dict.fromkeys(n.strip() for n in option.split(",") if n.strip()))
    unknown = [n for n in names if n not in DTYPES]
    if unknown or not names:
        raise UsageFailure(f"--dtypes: unknown dtype {unknown[0]!r}; expected some of {', '.join(DTYPES)}" if unknown else "--dtypes: no dtype given")
    return names


def _remapped(target: Target, fixed_file: str) -> tuple[Target, set[tuple[str, Span]]]:
    """The target with its findings' spans moved to where their fixes put them in the fixed copy, and the findings
    whose code the fixes changed."""
    try:
        with open(target.abs_path, "rb") as handle:
            old = decode_source(handle.read()).text
        with open(fixed_file, encoding="utf-8") as handle:
            new = handle.read()
    except (OSError, SourceError):
        return target, set()
    mapped = [(code, span, map_span(old, new, span)) for code, span in target.findings]
    changed = {(code, span) for code, span, moved in mapped if span_text(old, span) != span_text(new, moved)}
    return replace(target, findings=tuple((code, moved) for code, _, moved in mapped)), changed


def _prefixed(outcome: dict[str, Any], reason: str) -> dict[str, Any]:
    """An outcome of the original source, reused for a fixed run that had nothing to change."""
    prefixed = {**outcome, "message": f"{reason}; {outcome['message']}"}
    if outcome.get("findings"):
        prefixed["findings"] = [{**f, "message": f"{reason}; {f['message']}"} for f in outcome["findings"]]
    return prefixed


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
@click.option(
    "--dtypes",
    "dtypes_option",
    default=None,
    metavar="DTYPE,...",
    help="The float dtypes the code computes in, e.g. float16,float32 (default: float32 and float64, plus float16/bfloat16 "
    "where the module names them). A failure only in another dtype is reported as `unused-dtype` and does not make the exit code 1.",
)
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
    dtypes_option: str | None,
) -> None:
    """Run flagged functions on edge-case tensors and report the input that breaks them.

    PATH lints files and folders and verifies every finding inside a function; PATH::NAME verifies one function,
    `Class` (a Keras Metric or Loss subclass) or `outer.inner` (a nested function built by calling `outer()`).
    Each finding is checked on its own: its counterexample is the first input that breaks the function and
    makes the flagged expression NaN/inf (or the guard it flags round away). Each function runs in a separate
    worker process with a time limit. Exit codes: 1 when a failure is confirmed, 0 otherwise, 2 on usage errors
    and when a file cannot be parsed or read (named on stderr; the other files are still verified).
    """
    specs = [split_spec(a) for a in arguments] or [(".", None)]
    for path, _ in specs:
        if not os.path.lexists(path):
            raise UsageFailure(f"path does not exist: {path}")
    if config_path is not None and not os.path.isfile(config_path):
        raise UsageFailure(f"config file does not exist: {config_path}")
    settings = _settings(specs[0][0], config_path, select, ignore)
    dtypes = _dtypes(dtypes_option)

    entries: list[tuple[str | None, Target, Span | None]] = []
    # Where each finding is shown: the linter's own location (`cell N:row:col` in a notebook), not the row in the
    # program of its code cells that `span` counts in.
    shown: dict[tuple[str, Span], tuple[int, int, int | None]] = {}
    unfixable: set[tuple[str, tuple[Any, ...], Span]] = set()  # findings the linter offers no fix for
    for path, name in specs:
        if name is None:
            continue
        if not os.path.isfile(path):
            raise UsageFailure(f"`{path}::{name}`: {path} is not a file")
        try:
            entries.append((None, resolve_spec(path, name), None))
        except TargetError as exc:
            raise UsageFailure(str(exc)) from None
    lint_paths = [path for path, name in specs if name is None]
    input_errors: list[str] = []
    if lint_paths:
        files, errors = discover(lint_paths, settings)
        for error in errors:
            click.echo(f"lint-eps: warning: {error.path}: {error.message}", err=True)
        resolver = FindingResolver()
        diagnostics = [d for result in lint_files(files, settings, use_cache=False) for d in result.diagnostics]
        for d in sorted(diagnostics, key=lambda d: d.sort_key()):
            if d.code in INPUT_ERROR_CODES:
                input_errors.append(f"{d.filename}:{d.location.row}:{d.location.column}: {d.message} (nothing in this file was verified)")
            if d.code.startswith(ENGINE_CODES):
                continue
            span = resolver.span(d)
            shown[(d.code, span)] = (d.location.row, d.location.column, d.location.cell)
            entries.append((d.code, _setting(d.code, resolver.resolve(d.filename, span[0], span[1])), span))
            if d.fix is None:
                unfixable.add((d.code, entries[-1][1].key, span))

    unique: dict[tuple[Any, ...], Target] = {}
    preset: dict[tuple[Any, ...], dict[str, Any]] = {}
    findings: dict[tuple[Any, ...], list[tuple[str, Span]]] = {}
    for code, target, span in entries:
        if code is not None and span is not None and (code, span) not in findings.setdefault(target.key, []):
            findings[target.key].append((code, span))
        if target.key in unique or target.key in preset:
            continue
        reason = target.skip or framework_missing(target.framework)
        if reason:
            preset[target.key] = {"status": "skipped", "message": reason, "counterexample": None}
        else:
            unique[target.key] = target
    runnable = [replace(t, findings=tuple(findings.get(t.key, ())), dtypes=dtypes or t.dtypes) for t in unique.values()]
    limit = default_memory_limit() if memory_limit is None else memory_limit * 1024 * 1024
    results = {**preset, **_run(runnable, None, timeout, limit)}
    fixed_results: dict[tuple[Any, ...], dict[str, Any]] = {}
    rewritten: set[tuple[Any, ...]] = set()  # (target key, code, span) of findings whose code a fix changed
    if fixed:
        with tempfile.TemporaryDirectory(prefix="lint-eps-fixed-") as folder:
            changed, unchanged = _fixed_sources(runnable, settings, folder)
            remapped = [(t.key, _remapped(t, changed[t.abs_path])) for t in runnable if t.abs_path in changed]
            fixed_targets = [target for _, (target, _) in remapped]
            rewritten = {(key, code, span) for key, (_, spans) in remapped for code, span in spans}
            fixed_results = _run(fixed_targets, changed, timeout, limit)
        for target in runnable:
            if target.abs_path in unchanged:
                fixed_results[target.key] = _prefixed(results[target.key], unchanged[target.abs_path])
        for key, outcome in preset.items():
            fixed_results[key] = outcome

    def outcome(source: dict[tuple[Any, ...], dict[str, Any]], code: str | None, target: Target, span: Span | None) -> dict[str, Any]:
        found = source[target.key]
        keys = findings.get(target.key, [])
        if code is None or span is None or not found.get("findings") or (code, span) not in keys:
            return found
        return found["findings"][keys.index((code, span))]  # type: ignore[no-any-return]

    def after_fix(code: str | None, target: Target, span: Span | None) -> dict[str, Any] | None:
        if not fixed or target.key not in fixed_results:
            return None
        found = outcome(fixed_results, code, target, span)
        if code is None:
            return found
        if (code, target.key, span) not in unfixable:
            return {**found, "fix": True}
        # No fix of its own; another finding's fix may still have rewritten its code (the same statement).
        return {**found, "fix": False, "rewritten": (target.key, code, span) in rewritten}

    def place(code: str | None, target: Target, span: Span | None) -> tuple[int | None, int | None, int | None]:
        if code is not None and span is not None and (code, span) in shown:
            return shown[(code, span)]
        return (span[0], span[1], None) if span else (target.row, target.column, None)

    records = []
    for code, target, span in entries:
        row, column, cell = place(code, target, span)
        records.append(Record(code, target.path, row, column, target.function, outcome(results, code, target, span), after_fix(code, target, span), cell))
    if output_format == "json":
        click.echo(render_json(records, fixed), nl=False)
    else:
        click.echo(render_text(records, fixed), nl=False)
    for error in input_errors:
        click.echo(f"lint-eps: error: {error}", err=True)
    judged = [r.fixed for r in records if r.fixed is not None] if fixed else [r.outcome for r in records]
    sys.exit(2 if input_errors else 1 if any(o["status"] == "confirmed" for o in judged) else 0)
