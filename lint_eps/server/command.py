"""The `lint-eps server` command. pygls is imported only when the command runs, so `lint-eps --help` and every
other command work without the `lsp` extra."""

from __future__ import annotations

import logging
import sys

import click

# The extra is two packages; this installs them into the environment of the `lint-eps` that runs.
INSTALL_HINT = "pip install 'lint-eps[lsp] @ git+https://github.com/lint-eps/lint-eps' (from a clone: pip install -e '.[lsp]')"


@click.command("server")
@click.option("--stdio", is_flag=True, help="Talk LSP over stdin/stdout (the default and only transport; accepted for clients that pass it).")
@click.option(
    "--debounce",
    type=click.FloatRange(min=0.0),
    default=0.3,
    show_default=True,
    help="Seconds to wait after the last keystroke before linting a changed document.",
)
@click.option("--log-level", type=click.Choice(["error", "warning", "info", "debug"]), default="warning", show_default=True, help="Server log level (written to stderr).")
@click.option("--check", is_flag=True, help="Check that the `lsp` extra is installed and the server can be built, then exit: 0 ready, 2 not installed.")
def server(stdio: bool, debounce: float, log_level: str, check: bool) -> None:
    """Run the language server over stdio (diagnostics, quick fixes, fix-all, hover) for your editor."""
    try:
        # The whole server module, not only `import pygls`: pygls 1.x imports but has no `pygls.lsp.server`.
        from .server import create_server
    except ImportError as exc:
        click.echo(f"lint-eps: error: `lint-eps server` needs the language-server extra (pygls>=2, lsprotocol; {exc}): {INSTALL_HINT}", err=True)
        sys.exit(2)
    if check:
        create_server(debounce=debounce)
        versions = ", ".join(f"{name} {_version(name)}" for name in ("pygls", "lsprotocol"))
        click.echo(f"lint-eps server: ready ({versions}; {sys.executable})")
        return

    logging.basicConfig(stream=sys.stderr, level=getattr(logging, log_level.upper()), format="lint-eps server: %(levelname)s: %(message)s")
    create_server(debounce=debounce).start_io()


def _version(distribution: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(distribution)
    except PackageNotFoundError:
        return "(version unknown)"
