"""The pre-commit hook, exercised with `pre-commit try-repo` against this checkout, as users would install it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import CLEAN, ROOT, TF_LOSS, write

pytestmark = pytest.mark.slow


def _git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


def test_hook_fails_on_findings_and_passes_on_clean_code(tmp_path: Path) -> None:
    pre_commit = shutil.which("pre-commit") or str(Path(sys.executable).with_name("pre-commit"))
    if not Path(pre_commit).exists():
        pytest.skip("pre-commit is not installed (pip install pre-commit)")
    repo = tmp_path / "user-repo"
    repo.mkdir()
    _git(repo, "init", "-q")
    _git(repo, "config", "user.email", "t@example.com")
    _git(repo, "config", "user.name", "t")
    write(repo, "train/losses.py", TF_LOSS)
    _git(repo, "add", ".")
    env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "pre-commit-home"), "NO_COLOR": "1"}
    bad = subprocess.run([pre_commit, "try-repo", str(ROOT), "lint-eps", "--all-files"], cwd=repo, capture_output=True, text=True, env=env, timeout=900)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "lint-eps" in bad.stdout and "Failed" in bad.stdout
    assert "train/losses.py:6:37: EPS202" in bad.stdout

    write(repo, "train/losses.py", CLEAN)
    _git(repo, "add", ".")
    good = subprocess.run([pre_commit, "try-repo", str(ROOT), "lint-eps", "--all-files"], cwd=repo, capture_output=True, text=True, env=env, timeout=900)
    assert good.returncode == 0, good.stdout + good.stderr
    assert "Passed" in good.stdout


def test_hook_install_pulls_no_tensorflow() -> None:
    """pre-commit installs the package without extras: its base requirements must stay light."""
    from importlib.metadata import requires

    base = [r for r in requires("lint-eps") or [] if "extra ==" not in r]
    names = sorted(r.split(";")[0].split(">")[0].split("=")[0].split("<")[0].strip().lower() for r in base)
    assert names == ["click", "libcst", "pathspec", "tomli"]
