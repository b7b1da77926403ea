"""The per-file budget (`max-file-size`, `file-timeout`): a file over it is reported as EPS005 and skipped, and
the run, the fix and the language server go on. The time budget is tested with a budget no lint can meet (a
millisecond for megabytes of code), never with a timing assertion."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import TF_LOSS, run_cli, write
from test_server import BCE, editor, proj  # noqa: F401 - `proj` is a fixture used below

BIG = 2_000_000  # bytes: seconds of work on any machine


def generate(size: int) -> str:
    """Loss functions (each with two log-of-sigmoid findings) filling at least `size` bytes."""
    part = TF_LOSS.split("\n\n\n", 1)[1]
    copies = [part.replace("def sigmoid_bce(", f"def sigmoid_bce_{i}(") for i in range(size // len(part) + 1)]
    return "import tensorflow as tf\n\n\n" + "\n\n".join(copies)


def _findings(result) -> list[dict]:  # type: ignore[no-untyped-def]
    assert "Traceback" not in result.stderr and "Exception" not in result.stderr, result.stderr
    return json.loads(result.stdout)


def test_a_file_over_the_size_budget_is_reported_and_skipped_and_the_others_are_linted(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.lint-eps]\nmax-file-size = 4000\n", encoding="utf-8")
    big = project / "losses.py"
    big.write_text(generate(5000), encoding="utf-8")
    write(project, "small.py", TF_LOSS)
    result = run_cli(["--output-format", "json", "--no-cache", "."], project)
    assert result.returncode == 1
    by_file: dict[str, list[dict]] = {}
    for d in _findings(result):
        by_file.setdefault(Path(d["filename"]).name, []).append(d)
    (skipped,) = by_file["losses.py"]
    size = big.stat().st_size
    assert skipped["code"] == "EPS005"
    assert f"{size:,} bytes is over the size budget of 4,000 bytes" in skipped["message"]
    assert "`max-file-size`" in skipped["message"] and "--max-file-size" in skipped["message"]
    assert by_file["small.py"] and all(d["code"] != "EPS005" for d in by_file["small.py"])
    # The command line overrides the file: without the budget, the same file gets its real findings.
    unlimited = _findings(run_cli(["--output-format", "json", "--no-cache", "--max-file-size", "0", "losses.py"], project))
    assert unlimited and {d["code"] for d in unlimited} <= {"EPS201", "EPS202"}


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_file_over_the_time_budget_is_stopped_and_reported_and_the_run_goes_on(project: Path, jobs: str) -> None:
    (project / "big.py").write_text(generate(BIG), encoding="utf-8")
    # Enough small files for the worker pool (with --jobs 2) to be used.
    for i in range(8):
        write(project, f"small_{i}.py", TF_LOSS)
    result = run_cli(["--output-format", "json", "--no-cache", "--jobs", jobs, "--file-timeout", "0.001", "--max-file-size", "0", "big.py", *(f"small_{i}.py" for i in range(8))], project)
    assert result.returncode == 1
    data = _findings(result)
    assert [(d["filename"], d["code"]) for d in data if d["filename"] == "big.py"] == [("big.py", "EPS005")]
    (skipped,) = [d for d in data if d["filename"] == "big.py"]
    assert "took longer than the time budget of 0.001 s" in skipped["message"] and "`file-timeout`" in skipped["message"]
    # The small files are linted (or stopped the same way: a millisecond is tight even for them); none is lost.
    assert {d["filename"] for d in data} == {"big.py", *(f"small_{i}.py" for i in range(8))}


def test_fix_stopped_by_the_time_budget_leaves_the_file_untouched_and_caches_nothing(project: Path) -> None:
    path = project / "big.py"
    path.write_text(generate(BIG), encoding="utf-8")
    before = path.read_bytes()
    result = run_cli(["--output-format", "json", "--fix", "--file-timeout", "0.001", "--max-file-size", "0", "big.py"], project)
    assert [d["code"] for d in _findings(result)] == ["EPS005"]
    assert path.read_bytes() == before
    assert not [p for p in project.iterdir() if p.name.startswith(".lint-eps-")], "no temporary file left behind"
    # A time-out is not cached: the next run (cache on) lints the file instead of replaying the skip.
    (project / "small.py").write_text(generate(50_000), encoding="utf-8")
    first = _findings(run_cli(["--output-format", "json", "--file-timeout", "0.001", "small.py"], project))
    second = _findings(run_cli(["--output-format", "json", "small.py"], project))
    assert [d["code"] for d in first] == ["EPS005"]
    assert second and "EPS005" not in {d["code"] for d in second}


@pytest.mark.parametrize(
    "line,message",
    [
        ("max-file-size = -1", "`max-file-size` must be a whole number of bytes"),
        ('max-file-size = "10MB"', "`max-file-size` must be a whole number of bytes"),
        ("file-timeout = -5", "`file-timeout` must be a number of seconds"),
        ("file-timeout = nan", "`file-timeout` must be a number of seconds"),
    ],
)
def test_bad_budget_values_stop_the_run_with_exit_2(project: Path, line: str, message: str) -> None:
    (project / "pyproject.toml").write_text(f"[tool.lint-eps]\n{line}\n", encoding="utf-8")
    write(project, "m.py", TF_LOSS)
    result = run_cli(["m.py"], project)
    assert result.returncode == 2 and message in result.stderr and "pyproject.toml" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.asyncio
async def test_the_language_server_skips_a_document_over_budget_and_keeps_serving(proj: Path) -> None:  # noqa: F811
    (proj / "pyproject.toml").write_text("[tool.lint-eps]\nmax-file-size = 1000\n", encoding="utf-8")
    small = proj / "src" / "loss.py"
    small.write_text(BCE, encoding="utf-8")
    large = proj / "src" / "losses.py"
    large.write_text(BCE * 4, encoding="utf-8")
    huge = proj / "src" / "generated.py"
    huge.write_text(generate(BIG), encoding="utf-8")
    async with editor(proj) as ed:
        large_uri = ed.open(large)
        (skipped,) = await ed.next_publish(large_uri, version=1)
        assert skipped.code == "EPS005" and "over the size budget of 1,000 bytes" in skipped.message
        assert await ed.actions(large_uri, skipped.range, [skipped]) == []  # nothing to fix, no noqa for a skip
        # The config is read on every lint: a time budget no lint of 2 MB can meet stops it, and is reported.
        (proj / "pyproject.toml").write_text("[tool.lint-eps]\nmax-file-size = 0\nfile-timeout = 0.001\n", encoding="utf-8")
        (stopped,) = await ed.next_publish(ed.open(huge), version=1)
        assert stopped.code == "EPS005" and "time budget of 0.001 s" in stopped.message
        (proj / "pyproject.toml").write_text("[tool.lint-eps]\n", encoding="utf-8")
        uri = ed.open(small)
        assert [d.code for d in await ed.next_publish(uri, version=1)] == ["EPS202", "EPS202", "EPS202"]
        version = ed.replace(uri, "# 🔥", "# 🔥🔥")
        assert len(await ed.next_publish(uri, version=version)) == 3
