"""The README's install commands, as written, against a snapshot of this checkout served as a git URL: each
resolves to lint-eps with the extras it names (`pip install lint-eps` found nothing: there is no release yet)."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from checkout import REPO_URL, snapshot_of_this_checkout
from conftest import ROOT
from readme_snippets import readme_blocks

pytestmark = pytest.mark.slow


def _install_commands() -> list[list[str]]:
    (block,) = readme_blocks("## Install", "bash")
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.strip()]


def test_readme_install_commands_install_lint_eps_from_the_repository(tmp_path: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the repository URL is a snapshot of one")
    commands = _install_commands()
    assert [args[:2] for args in commands] == [["pip", "install"]] * 3
    # pip reads `git+file:///path` as a requirement URL without a host; `file://localhost/path` is the same place.
    snapshot_of_this_checkout(tmp_path / "lint-eps")
    url = f"file://localhost{(tmp_path / 'lint-eps').as_posix()}"
    installed = []
    for args in commands:
        (requirement,) = args[2:]
        assert REPO_URL in requirement
        report = tmp_path / "report.json"
        done = subprocess.run(
            [sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--quiet", "--report", str(report), requirement.replace(REPO_URL, url)],
            capture_output=True, text=True, timeout=600,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        (item,) = json.loads(report.read_text(encoding="utf-8"))["install"]
        installed.append((item["metadata"]["name"], item.get("requested_extras", []), item["download_info"]["url"]))
    assert installed == [("lint-eps", [], url), ("lint-eps", ["verify"], url), ("lint-eps", ["lsp"], url)]
