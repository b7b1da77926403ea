"""The pre-commit hook, installed the way the README's pre-commit section says (its config snippet and its
commands, with the repository URL pointing at a snapshot of this checkout), and run by `git commit`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from checkout import REPO_URL, git, new_repo, snapshot_of_this_checkout
from conftest import CLEAN, ROOT, TF_LOSS, write
from readme_snippets import readme_blocks

pytestmark = pytest.mark.slow

def test_readme_pre_commit_setup_blocks_a_commit_with_findings(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    if not Path(pre_commit).exists():
        pytest.skip("pre-commit is not installed (pip install pre-commit)")
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout: the hook repository is a snapshot of one")
    hook_repo = tmp_path / "lint-eps"
    sha = snapshot_of_this_checkout(hook_repo)
    (config,) = readme_blocks("## pre-commit", "yaml")
    (commands,) = readme_blocks("## pre-commit", "sh")
    assert REPO_URL in config and REPO_URL in commands

    repo = new_repo(tmp_path / "user-repo")
    (repo / ".pre-commit-config.yaml").write_text(config.replace(REPO_URL, str(hook_repo)), encoding="utf-8")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    for line in commands.splitlines():
        args = line.split("#", 1)[0].replace(REPO_URL, str(hook_repo)).split()
        if args:
            assert args[0] == "pre-commit", line
            done = subprocess.run([pre_commit, *args[1:]], cwd=repo, capture_output=True, text=True, env=env, timeout=300)
            assert done.returncode == 0, line + "\n" + done.stdout + done.stderr
    # No release tag yet: autoupdate pinned the newest commit.
    assert f"rev: {sha}" in (repo / ".pre-commit-config.yaml").read_text(encoding="utf-8")

    write(repo, "train/losses.py", TF_LOSS)
    git(repo, "add", ".")
    bad = subprocess.run(["git", "commit", "-m", "bad"], cwd=repo, capture_output=True, text=True, env=env, timeout=900)
    shown = bad.stdout + bad.stderr  # git shows a hook's output on stderr
    assert bad.returncode == 1, shown
    assert "lint-eps" in shown and "Failed" in shown
    assert "train/losses.py:6:37: EPS202" in shown
    assert subprocess.run(["git", "rev-parse", "--verify", "-q", "HEAD"], cwd=repo, capture_output=True).returncode != 0  # nothing committed

    write(repo, "train/losses.py", CLEAN)
    git(repo, "add", ".")
    good = subprocess.run(["git", "commit", "-m", "good"], cwd=repo, capture_output=True, text=True, env=env, timeout=900)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout + good.stderr

    # The hook runs on notebooks too (`types_or: [python, jupyter]`), and names the cell.
    nbformat = pytest.importorskip("nbformat", reason="the notebook step writes a real notebook with nbformat")
    from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

    notebook = new_notebook(cells=[new_markdown_cell("# Training"), new_code_cell("%matplotlib inline\n" + TF_LOSS)])
    nbformat.write(notebook, str(repo / "train" / "explore.ipynb"))
    git(repo, "add", ".")
    bad = subprocess.run(["git", "commit", "-m", "notebook"], cwd=repo, capture_output=True, text=True, env=env, timeout=900)
    shown = bad.stdout + bad.stderr
    assert bad.returncode == 1, shown
    assert "train/explore.ipynb:cell 2:7:37: EPS202" in shown


def test_hook_install_pulls_no_tensorflow() -> None:
    """pre-commit installs the package without extras: its base requirements must stay light."""
    from importlib.metadata import requires

    base = [r for r in requires("lint-eps") or [] if "extra ==" not in r]
    names = sorted(r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in base)
    assert names == ["click", "libcst", "pathspec", "tomli"]
