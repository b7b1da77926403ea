"""The `lint-eps` command line (click).

`lint-eps [PATH ...]` is shorthand for `lint-eps check [PATH ...]`; `rule`, `rules`, `verify` and `server` are
subcommands. Exit codes: 0 clean, 1 findings (or, with --diff, changes that --fix would make), 2 usage or
configuration errors. Nothing the user can cause ends in a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from . import __version__
from .collector import tune_for_batch
from .config import ConfigError, discover_settings
from .diagnostic import Diagnostic
from .registry import SelectionError, all_rules, selected_codes, validate_selectors
from .settings import Settings
from .reporters import FORMATS
from .reporters import statistics as statistics_reporter
from .reporters import text as text_reporter
from .runner import FixMode, lint_files
from .discovery import discover, named_path_problem


class UsageFailure(click.ClickException):
    """A usage or configuration error: message on stderr, exit code 2, no traceback."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        click.echo(f"lint-eps: error: {self.format_message()}", err=True)


# Subcommands with heavy or optional dependencies, imported only when used: name -> "module:attribute".
LAZY_COMMANDS = {
    "verify": "lint_eps.verifier.command:verify",
    "server": "lint_eps.server.command:server",
}


class DefaultGroup(click.Group):
    """A group whose unknown first argument (a path or an option) means the `check` command."""

    default_command = "check"

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | {n for n in LAZY_COMMANDS if self._lazy(n) is not None})

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return super().get_command(ctx, name) or self._lazy(name)

    @staticmethod
    def _lazy(name: str) -> click.Command | None:
        target = LAZY_COMMANDS.get(name)
        if target is None:
            return None
        module_name, _, attribute = target.partition(":")
        import importlib.util

        try:
            if importlib.util.find_spec(module_name) is None:
                return None
        except ModuleNotFoundError:
            return None
        module = importlib.import_module(module_name)
        return getattr(module, attribute)

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in LAZY_COMMANDS and args[0] not in ("--help", "-h", "--version")):
            args = [self.default_command, *args]
        return super().parse_args(ctx, args)


def _codes(values: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for value in values:
        out.extend(part.strip().upper() for part in value.split(",") if part.strip())
    return tuple(out)


def _use_color() -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def build_settings(
    first_path: str,
    config_path: str | None,
    *,
    select: tuple[str, ...] = (),
    extend_select: tuple[str, ...] = (),
    ignore: tuple[str, ...] = (),
    force_exclude: bool = False,
) -> Settings:
    """The configuration file's settings with the command line's selection on top (shared by every command)."""
    try:
        settings = discover_settings(first_path, config_path)
        overrides: dict[str, Any] = {}
        if select:
            overrides["select"] = _codes(select)
            validate_selectors(overrides["select"], "--select")
        if extend_select:
            overrides["extend_select"] = settings.extend_select + _codes(extend_select)
            validate_selectors(_codes(extend_select), "--extend-select")
        if ignore:
            overrides["ignore"] = settings.ignore + _codes(ignore)
            validate_selectors(_codes(ignore), "--ignore")
        if force_exclude:
            overrides["force_exclude"] = True
        return settings.with_overrides(**overrides)
    except (ConfigError, SelectionError) as exc:
        raise UsageFailure(str(exc)) from None


_fast_exit = False  # set by `check`: see `entry`


def entry() -> None:
    """The `lint-eps` command (and `python -m lint_eps`): `main`, then, after a lint run, `os._exit`.

    Tearing down the interpreter (freeing every object of libcst, the rules and their tables, one by one) took
    25-50 ms of a single-file run, a fifth of the floor of any libcst linter; mypy skips it the same way. A lint
    run has nothing left to finish by then: output is flushed here, the cache was written, worker pools were
    shut down when their `with` block closed. The other commands (the server, the verifier with its worker
    processes) end normally. Tests that call `main` through click's runner never reach this."""
    try:
        main()
        code: object = 0
    except SystemExit as exit:
        code = exit.code
    if not _fast_exit:
        sys.exit(code)
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        sys.exit(code)  # let Python report what it reports for a closed pipe
    os._exit(code)


@click.group(cls=DefaultGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="lint-eps")
def main() -> None:
    """lint-eps: catch numerical-stability mistakes in ML code (NaN losses, infinite gradients, wrong metrics).

    Run `lint-eps [PATH ...]` to lint files and folders (the current folder by default).
    """


@main.command("check")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces the configured set), e.g. EPS1,EPS202.")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable on top of the configured set.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option(
    "--output-format",
    type=click.Choice(sorted(FORMATS)),
    default="text",
    show_default=True,
    help="How findings are printed.",
)
@click.option("--fix", is_flag=True, help="Apply safe fixes in place.")
@click.option("--unsafe-fixes", is_flag=True, help="Also apply (or, without --fix, show as available) unsafe fixes.")
@click.option("--diff", is_flag=True, help="Print a unified diff of the fixes and change nothing.")
@click.option("--exit-zero", is_flag=True, help="Exit with 0 even when there are findings.")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="With --fix: exit with 1 if any file was changed, even when no finding remains (for pre-commit).")
@click.option("--add-noqa", is_flag=True, help="Add `# noqa: CODE` to every line with a finding (adopting lint-eps on existing code); EPS004 reports them once unused.")
@click.option("--statistics", is_flag=True, help="Print the number of findings per rule instead of the findings (with --output-format json: a JSON list of code, name, count, fixable).")
@click.option("--no-cache", is_flag=True, help="Neither read nor write the .lint_eps_cache folder.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None, help="Worker processes (default: all cores).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False, path_type=str), default=None, help="Use this pyproject.toml or lint-eps.toml.")
@click.option("--force-exclude", is_flag=True, default=None, help="Apply exclusions to paths named on the command line too (for pre-commit).")
@click.option("--no-show-source", is_flag=True, help="Do not print the offending source line under each finding.")
@click.option("--show-details", is_flag=True, help="Print each finding's full explanation under it (text format).")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.option("--max-file-size", type=click.IntRange(min=0), default=None, help="Skip (and report, EPS005) files over this many bytes; 0: no limit (default 10000000).")
@click.option("--file-timeout", type=click.FloatRange(min=0), default=None, help="Stop (and report, EPS005) a file taking more than this many CPU seconds; 0: no limit (default 60).")
@click.option("--preview/--no-preview", default=None, help="Turn on (off) the weak-evidence judgements of `preview` (overrides the configuration).")
def check(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    output_format: str,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    exit_zero: bool,
    exit_non_zero_on_fix: bool,
    add_noqa: bool,
    statistics: bool,
    no_cache: bool,
    jobs: int | None,
    config_path: str | None,
    force_exclude: bool | None,
    no_show_source: bool,
    show_details: bool,
    quiet: bool,
    max_file_size: int | None,
    file_timeout: float | None,
    preview: bool | None,
) -> None:
    """Lint PATHS (files or folders; default: the current folder)."""
    global _fast_exit
    _fast_exit = True
    tune_for_batch()
    targets = list(paths) or ["."]
    if add_noqa and (fix or diff):
        raise UsageFailure("--add-noqa cannot be combined with --fix or --diff")
    for target in targets:
        problem = named_path_problem(target)
        if problem is not None:
            raise UsageFailure(problem)
    if config_path is not None and not os.path.isfile(config_path):
        raise UsageFailure(f"config file does not exist: {config_path}")
    settings = build_settings(targets[0], config_path, select=select, extend_select=extend_select, ignore=ignore, force_exclude=bool(force_exclude))
    settings = settings.with_overrides(max_file_size=max_file_size, file_timeout=file_timeout, preview=preview)

    # A run that checks nothing says so (on stderr, exit 0, as ruff does) instead of "All checks passed!".
    files: list[str] = []
    if not selected_codes(settings):
        nothing_checked = "no rule is selected (see --select, --ignore and the configuration); nothing was checked"
    else:
        files, discovery_errors = discover(targets, settings)
        for error in discovery_errors:
            click.echo(f"lint-eps: warning: {error.path}: {error.message}", err=True)
        nothing_checked = "" if files else f"no Python files found under {', '.join(paths) or 'the current folder'}; nothing was checked"
    if nothing_checked and not quiet:
        click.echo(f"lint-eps: warning: {nothing_checked}", err=True)

    mode = FixMode(fix=fix and not diff, diff=diff, unsafe=unsafe_fixes, add_noqa=add_noqa)
    diagnostics: list[Diagnostic] = []
    diffs: list[str] = []
    fixed = 0
    for result in lint_files(files, settings, jobs=jobs, use_cache=not no_cache, mode=mode):
        diagnostics.extend(result.diagnostics)
        fixed += result.fixes_applied
        if result.fix_error:
            click.echo(f"lint-eps: error: {result.path}: {result.fix_error}", err=True)
        if result.diff:
            diffs.append(result.diff)
    diagnostics.sort(key=Diagnostic.sort_key)

    if add_noqa:
        if not quiet:
            click.echo(f"Added {fixed} noqa directive{'s' if fixed != 1 else ''}.", err=True)
        # What could not be suppressed (rows inside strings, unreadable files) is still shown, and still fails.
        if diagnostics:
            click.echo(FORMATS["text"](diagnostics, color=_use_color(), show_source=not no_show_source), nl=False)
        sys.exit(1 if diagnostics and not exit_zero else 0)

    if diff:
        click.echo("".join(diffs), nl=False)
        if not quiet and not nothing_checked:
            click.echo(text_reporter.diff_summary(diagnostics, fixed=fixed, files=len(diffs), unsafe_fixes=unsafe_fixes), err=True)
        sys.exit(1 if diffs and not exit_zero else 0)

    color = _use_color()
    if statistics:
        render = statistics_reporter.render_json if output_format == "json" else statistics_reporter.render_text
        click.echo(render(diagnostics), nl=False)
    elif output_format == "text":
        click.echo(FORMATS["text"](diagnostics, color=color, show_source=not no_show_source, show_details=show_details), nl=False, color=color)
        if not quiet and not nothing_checked:
            if diagnostics:
                click.echo("")
            click.echo(text_reporter.summary(diagnostics, fixed=fixed, unsafe_fixes=unsafe_fixes))
    else:
        click.echo(FORMATS[output_format](diagnostics), nl=False)
    changed_files = exit_non_zero_on_fix and fix and fixed > 0
    sys.exit(1 if (diagnostics or changed_files) and not exit_zero else 0)


@main.command("rule")
@click.argument("code")
def rule_command(code: str) -> None:
    """Print the documentation of rule CODE."""
    catalogue = all_rules()
    rule = catalogue.get(code.strip().upper())
    if rule is None:
        matches = [c for c in catalogue if c.startswith(code.strip().upper())]
        hint = f" (did you mean {', '.join(matches)}?)" if matches else ""
        raise UsageFailure(f"unknown rule code {code!r}{hint}; `lint-eps rules` lists them")
    click.echo(rule.documentation(), nl=False)


@main.command("rules")
@click.option("--output-format", type=click.Choice(["text", "json"]), default="text", show_default=True)
def rules_command(output_format: str) -> None:
    """List every rule: code, name, on by default, fixable."""
    catalogue = all_rules()
    if output_format == "json":
        data = [
            {
                "code": code,
                "name": rule.name,
                "summary": rule.summary,
                "default": rule.default_enabled,
                "fixable": rule.fixable,
            }
            for code, rule in catalogue.items()
        ]
        click.echo(json.dumps(data, indent=2))
        return
    rows = [("CODE", "NAME", "DEFAULT", "FIX", "SUMMARY")]
    for code, rule in catalogue.items():
        rows.append((code, rule.name, "on" if rule.default_enabled else "off", rule.fixable, rule.summary))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])


if __name__ == "__main__":  # pragma: no cover
    main()
