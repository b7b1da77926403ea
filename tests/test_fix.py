"""--fix, --unsafe-fixes and --diff on real files: atomic writes, parsing results, idempotence, line endings."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import libcst as cst
import pytest

from conftest import TF_LOSS, TF_LOSS_FIXED, run_cli, write
from lint_eps import fixes as fixes_module, writeback
from lint_eps.diagnostic import Edit, Location


def test_fix_rewrites_in_place_and_second_fix_changes_nothing(project: Path) -> None:
    path = write(project, "losses.py", TF_LOSS)
    first = run_cli(["--fix", "losses.py"], project)
    assert first.returncode == 0, first.stdout
    assert "All checks passed! (2 fixed)" in first.stdout
    assert path.read_text() == TF_LOSS_FIXED
    cst.parse_module(path.read_text())
    before = path.stat().st_mtime_ns
    second = run_cli(["--fix", "losses.py"], project)
    assert second.returncode == 0
    assert path.read_text() == TF_LOSS_FIXED
    assert path.stat().st_mtime_ns == before, "an idempotent --fix must not rewrite the file"


def test_fix_keeps_file_mode_and_leaves_no_temp_files(project: Path) -> None:
    path = write(project, "losses.py", TF_LOSS)
    os.chmod(path, 0o754)
    assert run_cli(["--fix", "losses.py"], project).returncode == 0
    assert stat.S_IMODE(path.stat().st_mode) == 0o754
    assert sorted(p.name for p in project.iterdir()) == ["losses.py", "pyproject.toml"]


def test_diff_prints_unified_diff_and_writes_nothing(project: Path) -> None:
    path = write(project, "losses.py", TF_LOSS)
    result = run_cli(["--diff", "losses.py"], project)
    assert result.returncode == 1
    assert path.read_text() == TF_LOSS
    assert result.stdout.startswith("--- a/losses.py\n+++ b/losses.py\n")
    assert "-    return -tf.reduce_mean(y_true * tf.math.log(probs)" in result.stdout
    assert "+    return -tf.reduce_mean(y_true * tf.math.log_sigmoid(logits)" in result.stdout
    assert "Would fix 2 findings in 1 file." in result.stderr
    clean = run_cli(["--diff", "--fix", "losses.py"], project)
    assert path.read_text() == TF_LOSS, "--diff wins over --fix"
    assert clean.returncode == 1


def test_diff_on_clean_tree_exits_0(project: Path) -> None:
    write(project, "ok.py", "x = 1\n")
    result = run_cli(["--diff", "."], project)
    assert result.returncode == 0 and result.stdout == ""


def test_fix_keeps_crlf_line_endings(project: Path) -> None:
    path = project / "losses.py"
    path.write_bytes(TF_LOSS.replace("\n", "\r\n").encode())
    assert run_cli(["--fix", "losses.py"], project).returncode == 0
    data = path.read_bytes()
    assert data == TF_LOSS_FIXED.replace("\n", "\r\n").encode()


def test_fix_keeps_tab_indentation_and_latin1_encoding(project: Path) -> None:
    source = "# -*- coding: latin-1 -*-\nimport torch\n\ndef f(z):\n\t# caf\xe9\n\treturn torch.log(torch.sigmoid(z))\n"
    path = project / "tabs.py"
    path.write_bytes(source.encode("latin-1"))
    assert run_cli(["--fix", "tabs.py"], project).returncode == 0
    assert path.read_bytes() == source.replace("torch.log(torch.sigmoid(z))", "torch.nn.functional.logsigmoid(z)").encode("latin-1")


def test_fix_that_breaks_the_file_is_refused(project: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """If a fix would not parse, the file is left untouched and the failure reported."""
    path = write(project, "losses.py", TF_LOSS)
    real_apply = fixes_module.apply_edits

    def broken_apply(text: str, edits: list[Edit]) -> str:
        return real_apply(text, edits) + "def (:\n"

    monkeypatch.setattr(fixes_module, "apply_edits", broken_apply)
    result = cli(["--fix", "--no-cache", "losses.py"], project)
    assert path.read_text() == TF_LOSS
    assert result.exit_code == 1
    assert "losses.py: fix would produce invalid code" in result.output
    assert "file left unchanged" in result.output


def test_overlapping_edits_are_rejected() -> None:
    a = Edit("x", Location(1, 1), Location(1, 5))
    b = Edit("y", Location(1, 3), Location(1, 7))
    with pytest.raises(ValueError):
        fixes_module.apply_edits("abcdefgh\n", [a, b])


def test_write_is_atomic_when_interrupted(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "m.py"
    target.write_text("original\n")

    def explode(src: str, dst: str) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(writeback.os, "replace", explode)
    with pytest.raises(OSError):
        writeback.write_atomically(str(target), b"new\n")
    assert target.read_text() == "original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]


UNGUARDED_RECALL = '''\
import tensorflow as tf


def recall(y_true, y_pred):
    tp = tf.reduce_sum(y_true * tf.round(y_pred))
    return tp / tf.reduce_sum(y_true)
'''


def test_unsafe_fixes_need_the_flag(project: Path) -> None:
    path = write(project, "metrics.py", UNGUARDED_RECALL)
    shown = run_cli(["metrics.py"], project)
    assert "(1 hidden fix can be enabled with the `--unsafe-fixes` option.)" in shown.stdout
    safe_only = run_cli(["--fix", "metrics.py"], project)
    assert safe_only.returncode == 1 and path.read_text() == UNGUARDED_RECALL
    unsafe = run_cli(["--fix", "--unsafe-fixes", "metrics.py"], project)
    assert unsafe.returncode == 0, unsafe.stdout
    assert path.read_text() == UNGUARDED_RECALL.replace(
        "tp / tf.reduce_sum(y_true)", "tf.math.divide_no_nan(tp, tf.reduce_sum(y_true))"
    )
    cst.parse_module(path.read_text())
    again = run_cli(["--fix", "--unsafe-fixes", "metrics.py"], project)
    assert again.returncode == 0 and "All checks passed!" in again.stdout


def test_diff_with_only_unsafe_fixes_says_that_they_exist(project: Path) -> None:
    path = write(project, "metrics.py", UNGUARDED_RECALL)
    safe = run_cli(["--diff", "metrics.py"], project)
    assert (safe.returncode, safe.stdout) == (0, "")
    assert safe.stderr == "No findings would be fixed (1 fix available with `--unsafe-fixes`).\n"
    write(project, "losses.py", TF_LOSS)
    both = run_cli(["--diff", "losses.py", "metrics.py"], project)
    assert both.returncode == 1
    assert both.stderr == "Would fix 2 findings in 1 file (1 more fix available with `--unsafe-fixes`).\n"
    unsafe = run_cli(["--diff", "--unsafe-fixes", "metrics.py"], project)
    assert unsafe.returncode == 1 and unsafe.stderr == "Would fix 1 finding in 1 file.\n"
    assert path.read_text() == UNGUARDED_RECALL
