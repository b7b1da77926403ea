"""The `lint-eps server` command. pygls is imported only when the command runs, so `lint-eps --help` and every
other command work without the `lsp` extra."""

from __future__ import annotations

import logging
import sys

import click

INSTALL_HINT = "pip install 'lint-eps[lsp]'"


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
def server(stdio: bool, debounce: float, log_level: str) -> None:
    """Run the language server over stdio (diagnostics, quick fixes, fix-all, hover) for your editor."""
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError:
        click.echo(f"lint-eps: error: `lint-eps server` needs the language-server extra: {INSTALL_HINT}", err=True)
        sys.exit(2)
    from .server import create_server

    logging.basicConfig(stream=sys.stderr, level=getattr(logging, log_level.upper()), format="lint-eps server: %(levelname)s: %(message)s")
    create_server(debounce=debounce).start_io()
