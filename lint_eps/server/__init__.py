"""`lint-eps server`: a Language Server Protocol server (stdio) showing lint-eps findings and fixes in editors.

Needs the `lsp` extra (pygls and lsprotocol; `lint-eps server --check` says whether they are installed). `command.py` is what the CLI
imports (for `lint-eps --help` too) and it imports neither until the command runs; the other modules need them.

- `lint.py`     settings for a document (the CLI's, plus the editor's `lint-eps` settings) and one lint run;
- `convert.py`  engine positions (1-based, characters) <-> LSP positions (0-based, UTF-16 units), diagnostics,
                text edits;
- `actions.py`  quick fixes, noqa and fix-all code actions, hovers;
- `server.py`   the pygls server: lifecycle, debounce, publishing, settings changes;
- `command.py`  the click command.
"""
