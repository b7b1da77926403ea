"""Pathological inputs: each is reported cleanly (a finding or a warning), never a traceback, and every other
file is still linted."""

from __future__ import annotations

import builtins
import json
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import TF_LOSS, run_cli, write
from lint_eps import lint_source
from lint_eps.rules.log_activation import LogOfActivation


def _json(result) -> list[dict]:
    return json.loads(result.stdout)


def test_bad_files_are_findings_and_good_files_still_linted(project: Path) -> None:
    write(project, "good.py", TF_LOSS)
    (project / "syntax.py").write_text("def dice(y_true, y_pred:\n    pass\n")
    (project / "nul.py").write_bytes(b"x = 1\n\x00y = 2\n")
    (project / "latin_no_cookie.py").write_bytes('name = "caf\xe9"\n'.encode("latin-1"))
    (project / "latin_cookie.py").write_bytes('# -*- coding: latin-1 -*-\nname = "caf\xe9"\n'.encode("latin-1"))
    (project / "bad_cookie.py").write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    (project / "empty.py").write_bytes(b"")
    (project / "bom.py").write_bytes(b"\xef\xbb\xbfimport torch\nv = torch.log(torch.sigmoid(z))\n")
    result = run_cli(["--output-format", "json", "--no-cache", "."], project)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    found = {(d["filename"], d["code"], d["location"]["row"], d["location"]["column"]): d["message"] for d in _json(result)}
    assert found[("syntax.py", "EPS001", 1, 9)] == "invalid syntax: '(' was never closed"
    assert found[("nul.py", "EPS001", 2, 1)] == "source contains a NUL byte (binary file?)"
    assert found[("latin_no_cookie.py", "EPS001", 1, 12)] == "cannot decode byte 0xe9 as utf-8 (add a coding cookie or convert the file)"
    assert found[("bad_cookie.py", "EPS001", 1, 1)] == "bad encoding declaration: unknown encoding: klingon"
    assert ("bom.py", "EPS202", 2, 5) in found
    assert sum(1 for key in found if key[0] == "good.py") == 2
    assert not any(key[0] in ("latin_cookie.py", "empty.py") for key in found)


def test_fix_keeps_a_utf8_bom(project: Path) -> None:
    path = project / "bom.py"
    path.write_bytes(b"\xef\xbb\xbfimport torch\nv = torch.log(torch.sigmoid(z))\n")
    assert run_cli(["--fix", "bom.py"], project).returncode == 0
    assert path.read_bytes() == b"\xef\xbb\xbfimport torch\nv = torch.nn.functional.logsigmoid(z)\n"


def test_deeply_nested_expression_is_linted_not_crashed(project: Path) -> None:
    depth = 2000
    write(project, "deep.py", "import torch\nx = " + "(" * depth + "torch.log(torch.sigmoid(z))" + ")" * depth + "\n")
    write(project, "unary.py", "import torch\nx = " + "-" * depth + "torch.log(torch.sigmoid(z))\n")
    result = run_cli(["--output-format", "json", "--no-cache", "."], project)
    assert result.returncode == 1, result.stderr
    assert sorted((d["filename"], d["code"], d["location"]["column"]) for d in _json(result)) == [
        ("deep.py", "EPS202", depth + 5),
        ("unary.py", "EPS202", depth + 5),
    ]


def test_unreadable_file_is_reported_and_others_linted(project: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    write(project, "locked.py", TF_LOSS)
    write(project, "open.py", TF_LOSS)
    real_open = builtins.open

    def guarded_open(file, mode="r", *args, **kwargs):  # the OS refusing one file, as for mode 000 as non-root
        if str(file).endswith("locked.py") and "b" in mode:
            raise PermissionError(13, "Permission denied")
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    result = cli(["--output-format", "json", "--no-cache", "--jobs", "1", "."], project)
    data = json.loads(result.output)
    assert ("locked.py", "EPS003", "cannot read file: Permission denied") in {(d["filename"], d["code"], d["message"]) for d in data}
    assert sum(1 for d in data if d["filename"] == "open.py") == 2


def test_rule_crash_is_reported_with_file_and_rule_and_run_continues(project: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    write(project, "a.py", TF_LOSS)
    write(project, "b.py", "x = 1\n")

    def boom(self, node):
        raise KeyError("simulated bug")

    monkeypatch.setattr(LogOfActivation, "visit_Call", boom)
    result = cli(["--output-format", "json", "--no-cache", "--jobs", "1", "."], project)
    data = json.loads(result.output)
    assert result.exit_code == 1
    assert [(d["filename"], d["code"]) for d in data] == [("a.py", "EPS002")]
    assert "internal error in rule EPS202 (log-of-activation): KeyError: 'simulated bug'" in data[0]["message"]


def test_gate_crash_lints_the_file_whole_and_says_so(project: Path, monkeypatch: pytest.MonkeyPatch, cli) -> None:
    """A bug in a rule's per-function gate (it decides which function bodies libcst parses) must neither end the
    run in a traceback nor lose findings: the file is linted whole with every rule, and EPS002 says why."""
    write(project, "a.py", TF_LOSS)

    def broken_gate(text, function):
        raise TypeError("simulated gate bug")

    monkeypatch.setattr(LogOfActivation, "needs_function", staticmethod(broken_gate))
    result = cli(["--select", "EPS0,EPS202", "--output-format", "json", "--no-cache", "--jobs", "1", "a.py"], project)
    data = json.loads(result.output)
    assert sorted(d["code"] for d in data) == ["EPS002", "EPS202", "EPS202"], data
    assert "TypeError: simulated gate bug" in next(d["message"] for d in data if d["code"] == "EPS002")


def test_lint_source_api_on_odd_text() -> None:
    assert lint_source("", "empty.py") == []
    assert lint_source("\n\n\t\n", "blank.py") == []
    crlf = lint_source("import torch\r\nv = torch.log(torch.sigmoid(z))\r\n", "crlf.py")
    assert [(d.code, d.location.row, d.location.column) for d in crlf] == [("EPS202", 2, 5)]
    tabs = lint_source("import torch\nif True:\n\tv = torch.log(torch.sigmoid(z))\n", "tabs.py")
    assert [(d.code, d.location.row, d.location.column) for d in tabs] == [("EPS202", 3, 6)]


def test_parenthesised_empty_tuple_and_generator_defaults() -> None:
    """Rules look through parentheses; nodes that cannot lose theirs must not crash a rule (EPS002)."""
    source = (
        "import tensorflow as tf\n"
        "def dice_loss(y_true, y_pred, axes=(), eps=(1e-7), extra=(x for x in ())):\n"
        "    p = tf.clip_by_value(y_pred, eps, 1 - eps)\n"
        "    return tf.reduce_sum(y_true * tf.math.log(p), axis=axes)\n"
        "def names(base, extra=()):\n"
        "    return base + extra\n"
    )
    assert [d.code for d in lint_source(source, "defaults.py") if d.code == "EPS002"] == []


def test_comment_banners_next_to_role_keywords_do_not_stall_the_prefilter(project: Path) -> None:
    # `loss = # ### ...` and `self.total  # ####` once made a prefilter regex backtrack exponentially over the
    # `#` of a banner comment; the run must finish (the subprocess limit only guards against a hang).
    banner = "# " + "#" * 60 + " #" * 30
    source = (
        "import tensorflow as tf\n\n\n"
        "class Ratio(tf.keras.metrics.Metric):\n"
        "    def __init__(self, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.hits = self.add_weight(name='hits', initializer='zeros')\n"
        "        self.seen = self.add_weight(name='seen', initializer='zeros')\n\n"
        "    def update_state(self, y_true, y_pred, sample_weight=None):\n"
        f"        self.hits  {banner}\n"
        f"        options = dict(loss  {banner}\n"
        "                       =1)\n"
        "        self.hits.assign_add(tf.reduce_sum(y_true * y_pred))\n"
        "        self.seen.assign_add(tf.reduce_sum(y_pred))\n\n"
        "    def result(self):\n"
        "        return self.hits / self.seen\n"
    )
    (project / "banner.py").write_text(source, encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "lint_eps", "--no-cache", "banner.py"], cwd=project, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 1, result.stdout + result.stderr
    assert "banner.py:18:16: EPS101" in result.stdout
