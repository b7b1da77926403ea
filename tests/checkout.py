"""Git repositories for tests that install lint-eps the way users do, from a repository URL."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from conftest import ROOT

# What the README tells users to install from; tests point it at a snapshot of this checkout.
REPO_URL = "https://github.com/lint-eps/lint-eps"


def git(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True)


def new_repo(path: Path) -> Path:
    path.mkdir()
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "t@example.com")
    git(path, "config", "user.name", "t")
    return path


def snapshot_of_this_checkout(path: Path) -> str:
    """A repository whose one commit holds this checkout's working tree (uncommitted changes too, as `pre-commit
    try-repo` would use them); returns that commit's sha."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT, capture_output=True, check=True).stdout
    new_repo(path)
    for name in filter(None, listed.decode().split("\0")):
        if (ROOT / name).is_file():
            (path / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, path / name)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "snapshot")
    return git(path, "rev-parse", "HEAD").stdout.strip()
