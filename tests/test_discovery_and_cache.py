"""Which files are linted (folders, .gitignore, default excludes) and the cache / parallel machinery."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import TF_LOSS, run_cli, write
from lint_eps import lint_paths
from lint_eps.runner import FixMode
from lint_eps.settings import Settings


def _files(output: str) -> set[str]:
    return {d["filename"] for d in json.loads(output)}


def test_walks_py_and_pyi_and_skips_default_excluded_folders(project: Path, cli) -> None:
    for relative in ("src/a.py", "src/stubs.pyi", ".venv/lib/x.py", "build/b.py", "node_modules/n.py", "src/site-packages/s.py", "notes.txt"):
        write(project, relative, TF_LOSS)
    result = cli(["--output-format", "json", "."], project)
    assert _files(result.output) == {"src/a.py", "src/stubs.pyi"}


def test_respects_gitignore_in_a_repository(project: Path, cli) -> None:
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    write(project, ".gitignore", "generated/\n*_pb2.py\n")
    write(project, "src/.gitignore", "scratch.py\n")
    for relative in ("generated/g.py", "src/model_pb2.py", "src/scratch.py", "src/keep.py"):
        write(project, relative, TF_LOSS)
    assert _files(cli(["--output-format", "json", "."], project).output) == {"src/keep.py"}
    write(project, "pyproject.toml", "[tool.lint-eps]\nrespect-gitignore = false\n")
    assert len(_files(cli(["--output-format", "json", "."], project).output)) == 4


def test_explicit_files_are_linted_unless_force_exclude(project: Path, cli) -> None:
    write(project, "build/gen.py", TF_LOSS)
    assert cli(["build/gen.py"], project).exit_code == 1
    assert cli(["--force-exclude", "build/gen.py"], project).exit_code == 0


def test_symlink_loop_is_reported_and_skipped(project: Path) -> None:
    write(project, "pkg/a.py", TF_LOSS)
    (project / "pkg" / "loop").symlink_to(project / "pkg", target_is_directory=True)
    result = run_cli(["--output-format", "json", "."], project)
    assert result.returncode == 1
    assert _files(result.stdout) == {"pkg/a.py"}
    assert "symlink loop" in result.stderr


def test_cache_folder_has_gitignore_and_warm_run_matches(project: Path) -> None:
    write(project, "a.py", TF_LOSS)
    cold = run_cli(["--output-format", "json", "."], project)
    cache = project / ".lint_eps_cache"
    assert (cache / ".gitignore").read_text().strip().endswith("*")
    warm = run_cli(["--output-format", "json", "."], project)
    assert warm.stdout == cold.stdout
    # A changed file is linted again, not served stale from the cache.
    write(project, "a.py", "x = 1\n")
    assert run_cli(["--output-format", "json", "."], project).stdout.strip() == "[]"


def test_cache_is_served_without_relinting(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write(project, "a.py", TF_LOSS)
    settings = Settings(root=str(project))
    first = lint_paths([str(project)], settings)
    assert not any(f.from_cache for f in first.files)
    second = lint_paths([str(project)], settings)
    assert all(f.from_cache for f in second.files)
    assert second.diagnostics == first.diagnostics
    # A different configuration is a different cache key.
    other = lint_paths([str(project)], Settings(root=str(project), ignore=("EPS202",)))
    assert not any(f.from_cache for f in other.files) and other.diagnostics == []


def test_no_cache_writes_nothing(project: Path) -> None:
    write(project, "a.py", TF_LOSS)
    run_cli(["--no-cache", "."], project)
    assert not (project / ".lint_eps_cache").exists()


def test_parallel_jobs_give_identical_findings(project: Path) -> None:
    for i in range(24):
        write(project, f"pkg/m{i:02d}.py", TF_LOSS if i % 3 == 0 else "import os\nx = os.sep\n")
    one = run_cli(["--no-cache", "--jobs", "1", "--output-format", "json", "."], project)
    two = run_cli(["--no-cache", "--jobs", "2", "--output-format", "json", "."], project)
    assert one.stdout == two.stdout
    assert len(json.loads(one.stdout)) == 16


def test_prefilter_does_not_change_findings(project: Path) -> None:
    write(project, "a.py", TF_LOSS)
    write(project, "b.py", "import math\nx = math.pi\n")
    write(project, "c.py", "def broken(:\n")
    settings = Settings(root=str(project))
    fast = lint_paths([str(project)], settings, use_cache=False)
    slow = lint_paths([str(project)], settings, use_cache=False, prefilter=False)
    assert fast.diagnostics == slow.diagnostics
    assert [d.code for d in fast.diagnostics] == ["EPS202", "EPS202", "EPS001"]


def test_fix_mode_api_returns_remaining(project: Path) -> None:
    path = write(project, "a.py", TF_LOSS)
    result = lint_paths([str(path)], Settings(root=str(project)), mode=FixMode(fix=True))
    assert result.files[0].fixes_applied == 2 and result.diagnostics == []


def test_named_folder_inside_an_excluded_folder_is_linted(project: Path, cli) -> None:
    """Default excludes prune folders met while walking, never the folder the user asked for (as in ruff)."""
    write(project, "venv/lib/site-packages/keras/losses.py", TF_LOSS)
    assert cli(["--output-format", "json", "."], project).stdout.strip() == "[]"
    result = cli(["--output-format", "json", "venv/lib/site-packages/keras"], project)
    assert _files(result.output) == {"venv/lib/site-packages/keras/losses.py"}
    assert cli(["--force-exclude", "venv/lib/site-packages/keras"], project).exit_code == 0


def test_named_folder_inside_a_gitignored_folder_is_linted(project: Path, cli) -> None:
    """`.venv/` in .gitignore hides the virtualenv from `lint-eps .`, not from `lint-eps .venv/.../keras`."""
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    write(project, ".gitignore", ".venv/\n*_pb2.py\n")
    write(project, ".venv/lib/site-packages/keras/losses.py", TF_LOSS)
    write(project, ".venv/lib/site-packages/keras/model_pb2.py", TF_LOSS)
    assert cli(["--output-format", "json", "."], project).stdout.strip() == "[]"
    result = cli(["--output-format", "json", ".venv/lib/site-packages/keras"], project)
    assert _files(result.output) == {".venv/lib/site-packages/keras/losses.py"}


def test_cache_written_by_other_lint_eps_sources_is_not_served(project: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Upgrading or editing lint-eps at the same version number must not show the old build's findings: a copy of
    the package whose EPS202 message differs lints the same unchanged tree with the same cache."""
    import shutil
    import sys

    import lint_eps
    import lint_eps.rules

    install = tmp_path_factory.mktemp("install")  # outside the linted project
    shutil.copytree(Path(lint_eps.__file__).parent, install / "lint_eps", ignore=shutil.ignore_patterns("__pycache__", "rules"))
    shutil.copytree(Path(lint_eps.rules.__file__).parent, install / "lint_eps" / "rules", ignore=shutil.ignore_patterns("__pycache__"))
    write(project, "a.py", TF_LOSS)

    def lint() -> list[str]:
        result = subprocess.run(
            [sys.executable, "-c", "import sys; sys.path.insert(0, sys.argv[1]); from lint_eps.cli import main; main()", str(install), "--output-format", "json", "."],
            cwd=project, capture_output=True, text=True, timeout=300,
        )
        return [d["message"] for d in json.loads(result.stdout)]

    before = lint()
    assert len(before) == 2
    rule = install / "lint_eps" / "rules" / "log_activation.py"
    source = rule.read_text(encoding="utf-8")
    marker = "EDITED-BUILD "
    rule.write_text(source.replace('message = f"`{what}`', f'message = f"{marker}`{{what}}`', 1), encoding="utf-8")
    assert rule.read_text(encoding="utf-8") != source, "the EPS202 message template moved; update this test"
    after = lint()
    assert [m.startswith(marker) for m in after] == [True, True], after
