"""The command line as users drive it: exit codes, selection, output formats, noqa, rule docs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import CLEAN, TF_LOSS, run_cli, write


def test_findings_exit_1_with_location_source_and_caret(project: Path) -> None:
    write(project, "losses.py", TF_LOSS)
    result = run_cli(["losses.py"], project)
    assert result.returncode == 1, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("losses.py:6:37: EPS202 [*] `log(sigmoid(x))`")
    assert "tf.math.log_sigmoid(logits)" in lines[0]
    assert lines[1] == "6 |     return -tf.reduce_mean(y_true * tf.math.log(probs) + (1.0 - y_true) * tf.math.log(1.0 - tf.sigmoid(logits)))"
    assert lines[2] == "  |                                     " + "^" * len("tf.math.log(probs)")
    assert "Found 2 warnings." in result.stdout
    assert "[*] 2 fixable with the `--fix` option." in result.stdout
    assert result.stderr == ""


def test_default_path_is_current_folder_and_clean_exits_0(project: Path) -> None:
    write(project, "pkg/clean.py", CLEAN)
    result = run_cli([], project)
    assert result.returncode == 0
    assert "All checks passed!" in result.stdout


def test_exit_zero_forces_success(project: Path, cli) -> None:
    write(project, "losses.py", TF_LOSS)
    result = cli(["--exit-zero", "losses.py"], project)
    assert result.exit_code == 0
    assert "EPS202" in result.output


def test_missing_path_is_a_usage_error(project: Path) -> None:
    result = run_cli(["no_such_dir"], project)
    assert result.returncode == 2
    assert "path does not exist: no_such_dir" in result.stderr
    assert "Traceback" not in result.stderr


def test_broken_symlink_and_symlink_loop_are_missing_paths(project: Path) -> None:
    (project / "gone.py").symlink_to("deleted.py")
    (project / "loop").symlink_to("loop")
    (project / "a").symlink_to("b")
    (project / "b").symlink_to("a")
    expected = {
        "gone.py": "lint-eps: error: path does not exist: gone.py (broken symlink to deleted.py)",
        "loop": "lint-eps: error: path cannot be resolved: loop (symlink loop)",
        "a/losses.py": "lint-eps: error: path cannot be resolved: a/losses.py (symlink loop)",
    }
    for path, message in expected.items():
        result = run_cli([path], project)
        assert (result.returncode, result.stderr, result.stdout) == (2, message + "\n", ""), path


def test_a_run_that_checks_nothing_says_so(project: Path) -> None:
    write(project, "docs/notes.txt", "no Python here\n")
    write(project, "src/losses.py", TF_LOSS)
    empty = run_cli(["docs"], project)
    assert (empty.returncode, empty.stdout) == (0, "")
    assert empty.stderr == "lint-eps: warning: no Python files found under docs; nothing was checked\n"
    as_json = run_cli(["--output-format", "json", "docs"], project)
    assert (as_json.returncode, json.loads(as_json.stdout)) == (0, [])
    for selection in (["--select", ""], ["--select", "EPS2", "--ignore", "EPS2"]):
        result = run_cli([*selection, "src"], project)
        assert (result.returncode, result.stdout) == (0, ""), selection
        assert result.stderr == "lint-eps: warning: no rule is selected (see --select, --ignore and the configuration); nothing was checked\n"


def test_unknown_rule_code_is_a_usage_error(project: Path, cli) -> None:
    write(project, "losses.py", TF_LOSS)
    for option in ("--select", "--ignore", "--extend-select"):
        result = cli([option, "EPS999", "losses.py"], project)
        assert result.exit_code == 2, option
        assert "unknown rule selector 'EPS999'" in result.output


def test_select_and_ignore_take_prefixes(project: Path, cli) -> None:
    write(project, "losses.py", TF_LOSS)
    assert cli(["--select", "EPS2", "losses.py"], project).exit_code == 1
    assert cli(["--select", "EPS20", "--ignore", "EPS202", "losses.py"], project).exit_code == 0
    assert cli(["--ignore", "EPS2", "losses.py"], project).exit_code == 0
    result = cli(["--ignore", "EPS2", "--extend-select", "EPS202", "--output-format", "json", "losses.py"], project)
    # --ignore wins over --extend-select, as in ruff
    assert json.loads(result.output) == []


def test_noqa_specific_list_and_bare(project: Path, cli) -> None:
    write(
        project,
        "m.py",
        """\
        import torch
        a = torch.log(torch.sigmoid(x))  # noqa: EPS202
        b = torch.log(torch.sigmoid(x))  # noqa: EPS101, EPS202
        c = torch.log(torch.sigmoid(x))  # noqa
        d = torch.log(torch.sigmoid(x))  # NOQA:EPS202
        e = torch.log(torch.sigmoid(x))  # noqa: EPS201
        f = "# noqa"; g = torch.log(torch.sigmoid(x))
        """,
    )
    data = json.loads(cli(["--output-format", "json", "m.py"], project).output)
    assert [d["location"]["row"] for d in data] == [6, 7]


def test_json_output_has_ruff_shape(project: Path, cli) -> None:
    write(project, "losses.py", TF_LOSS)
    result = cli(["--output-format", "json", "losses.py"], project)
    assert result.exit_code == 1
    data = json.loads(result.output)
    assert len(data) == 2
    first = data[0]
    # ruff's keys (`cell` is null outside a notebook, as in ruff), plus `severity`, `details` and `related` (which
    # ruff-shaped consumers ignore)
    assert set(first) == {"code", "message", "filename", "location", "end_location", "fix", "url", "noqa_row", "cell", "severity", "details", "related"}
    assert first["cell"] is None
    assert first["severity"] == "warning"
    assert first["message"] == "`log(sigmoid(x))` is -inf once sigmoid(x) underflows; use `tf.math.log_sigmoid(logits)`"
    assert "x < -88.7 in float32" in first["details"]
    assert first["code"] == "EPS202"
    assert first["filename"] == "losses.py"
    assert first["location"] == {"row": 6, "column": 37}
    assert first["end_location"] == {"row": 6, "column": 55}
    assert first["noqa_row"] == 6
    assert first["url"].endswith("EPS202.md")
    assert first["fix"]["applicability"] == "safe"
    assert first["fix"]["edits"] == [
        {"content": "tf.math.log_sigmoid(logits)", "location": {"row": 6, "column": 37}, "end_location": {"row": 6, "column": 55}}
    ]


def test_sarif_output_for_code_scanning(project: Path, cli) -> None:
    write(project, "losses.py", TF_LOSS)
    result = cli(["--output-format", "sarif", "losses.py"], project)
    assert result.exit_code == 1
    sarif = json.loads(result.output)
    assert sarif["version"] == "2.1.0"
    assert sarif["$schema"].endswith("sarif-2.1.0.json")
    run = sarif["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert "EPS202" in ids and ids == sorted(ids)
    for rule in rules:
        assert rule["shortDescription"]["text"] and rule["help"]["text"] and rule["helpUri"]
    result0 = run["results"][0]
    assert result0["ruleId"] == "EPS202"
    assert rules[result0["ruleIndex"]]["id"] == "EPS202"
    region = result0["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 6, "startColumn": 37, "endLine": 6, "endColumn": 55}
    assert result0["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "losses.py"
    assert result0["level"] == "warning"
    assert result0["message"]["text"].endswith("use `tf.math.log_sigmoid(logits)`") and "\n" not in result0["message"]["text"]
    assert result0["message"]["markdown"].startswith(result0["message"]["text"] + "\n\n")
    assert "x < -88.7 in float32" in result0["message"]["markdown"]


def test_github_annotations(project: Path, cli) -> None:
    write(project, "losses.py", TF_LOSS)
    lines = cli(["--output-format", "github", "losses.py"], project).output.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("::warning title=lint-eps (EPS202),file=losses.py,line=6,col=37,endLine=6,endColumn=55::EPS202 `log(sigmoid(x))`")
    # The one-line message, then (escaped newlines: one annotation) the explanation.
    assert "log_sigmoid(logits)`%0A%0A`log(sigmoid(x))` is -inf once sigmoid(x) underflows (x < -88.7" in lines[0]


def test_statistics_counts_per_code(project: Path, cli) -> None:
    write(project, "losses.py", TF_LOSS)
    write(project, "other.py", "import torch\nv = torch.log(torch.softmax(s, 1))\n")
    result = cli(["--statistics", "."], project)
    assert result.exit_code == 1
    assert result.output == "3\tEPS202\t[*] log-of-activation\n"


def test_statistics_as_json_is_a_list_of_rules(project: Path, cli) -> None:
    write(project, "losses.py", TF_LOSS)
    write(project, "metrics.py", "import tensorflow as tf\n\ndef recall(y_true, y_pred):\n    tp = tf.reduce_sum(y_true * tf.round(y_pred))\n    return tp / tf.reduce_sum(y_true)\n")
    result = cli(["--statistics", "--output-format", "json", "."], project)
    assert result.exit_code == 1
    assert json.loads(result.output) == [
        {"code": "EPS202", "name": "log-of-activation", "count": 2, "fixable": True},
        {"code": "EPS101", "name": "unguarded-division", "count": 1, "fixable": False},
    ]


def test_rule_docs_and_rule_list(project: Path, cli) -> None:
    docs = cli(["rule", "EPS202"], project)
    assert docs.exit_code == 0
    for section in ("# log-of-activation (EPS202)", "## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        assert section in docs.output
    unknown = cli(["rule", "EPS999"], project)
    assert unknown.exit_code == 2 and "unknown rule code" in unknown.output
    listing = cli(["rules"], project)
    assert listing.exit_code == 0
    row = next(line for line in listing.output.splitlines() if line.startswith("EPS202"))
    assert row.split()[:4] == ["EPS202", "log-of-activation", "on", "sometimes"]
    as_json = json.loads(cli(["rules", "--output-format", "json"], project).output)
    assert {"code": "EPS001", "name": "invalid-syntax"}.items() <= as_json[0].items()


def test_python_dash_m_and_version(project: Path) -> None:
    result = run_cli(["--version"], project)
    assert result.returncode == 0 and result.stdout.startswith("lint-eps, version ")


def test_color_only_when_forced_or_on_a_tty(project: Path) -> None:
    write(project, "losses.py", TF_LOSS)
    plain = run_cli(["losses.py"], project)
    assert "\x1b[" not in plain.stdout
    colored = run_cli(["losses.py"], project, env={"NO_COLOR": "", "FORCE_COLOR": "1"})
    assert "\x1b[" in colored.stdout


def test_unused_noqa_is_opt_in_and_fixable(project: Path, cli) -> None:
    source = "import torch\nv = torch.log_softmax(x, 1)  # noqa: EPS202\nw = torch.log(torch.sigmoid(z))  # noqa: EPS202\n"
    path = write(project, "m.py", source)
    assert cli(["m.py"], project).exit_code == 0
    result = cli(["--extend-select", "EPS004", "m.py"], project)
    assert result.exit_code == 1
    assert "m.py:2:30: EPS004 [*] `# noqa` with unused code EPS202 (no such finding on this line)" in result.output
    assert cli(["--extend-select", "EPS004", "--fix", "m.py"], project).exit_code == 0
    assert path.read_text() == source.replace("v = torch.log_softmax(x, 1)  # noqa: EPS202", "v = torch.log_softmax(x, 1)")


def test_show_details_prints_the_explanation_under_each_finding(project: Path) -> None:
    write(project, "losses.py", TF_LOSS)
    plain = run_cli(["--no-cache", "losses.py"], project).stdout
    assert "= why:" not in plain and "x < -88.7" not in plain
    detailed = run_cli(["--no-cache", "--show-details", "losses.py"], project).stdout.splitlines()
    head = detailed.index(next(line for line in detailed if line.startswith("losses.py:6:37: EPS202")))
    # message, source line, caret, the related note, then the explanation, indented and wrapped to the terminal.
    assert detailed[head + 3] == "  note: activation here at losses.py:5:13"
    assert detailed[head + 4].startswith("  = why: `log(sigmoid(x))` is -inf once sigmoid(x) underflows (x < -88.7 in float32")
    assert detailed[head + 5].startswith("    ") and all(len(line) <= 100 for line in detailed[head + 4 : head + 6])


BROKEN = "def f(:\n    pass\n"


def test_one_severity_in_every_format(project: Path, cli) -> None:
    """A rule's finding is a warning and a file that cannot be checked an error, in the text summary, GitHub
    annotations, SARIF, JSON and the language server alike."""
    write(project, "losses.py", TF_LOSS)
    write(project, "broken.py", BROKEN)
    args = ["--no-cache", "broken.py", "losses.py"]
    text = cli(args, project).output
    assert "Found 1 error and 2 warnings." in text
    data = json.loads(cli([*args, "--output-format", "json"], project).output)
    words = {d["code"]: d["severity"] for d in data}
    assert words == {"EPS001": "error", "EPS202": "warning"}
    github = cli([*args, "--output-format", "github"], project).output.splitlines()
    assert {line.split("::")[2].split()[0]: line.split()[0].lstrip(":") for line in github} == words
    sarif = json.loads(cli([*args, "--output-format", "sarif"], project).output)["runs"][0]
    assert {r["ruleId"]: r["level"] for r in sarif["results"]} == words
    levels = {r["id"]: r["defaultConfiguration"]["level"] for r in sarif["tool"]["driver"]["rules"]}
    assert levels["EPS001"] == "error" and levels["EPS202"] == "warning"

    pytest.importorskip("lsprotocol", reason="the language server's types come with the lsp extra")
    from lsprotocol import types

    from lint_eps.diagnostic import Diagnostic
    from lint_eps.server.convert import PositionMapper, to_lsp_diagnostic

    lsp = {"warning": types.DiagnosticSeverity.Warning, "error": types.DiagnosticSeverity.Error}
    mapper = PositionMapper(TF_LOSS)
    for record in data:
        converted = to_lsp_diagnostic(Diagnostic.from_dict(record), mapper, "file:///losses.py")
        assert converted.severity == lsp[record["severity"]], record["code"]


# -- the end of a run: `entry` skips the interpreter's teardown after a lint run ----------------------------
def test_a_lint_run_ends_with_its_exit_code_and_all_of_its_output(project: Path) -> None:
    """After `check`, `lint-eps` leaves through os._exit (lint_eps.cli.entry): every byte of a long report is
    still written, through a pipe, and the exit code is the documented one."""
    losses = "\n\n".join(f"def loss_{i}(y_true, y_pred):\n    return -K.mean(y_true * K.log(y_pred))" for i in range(300))
    write(project, "many.py", "from tensorflow.keras import backend as K\n\n\n" + losses + "\n")
    out = run_cli(["--no-cache", "--output-format", "json", "many.py"], project)
    assert out.returncode == 1
    assert len(json.loads(out.stdout)) == 300
    assert run_cli(["--no-cache", "--exit-zero", "--quiet", "many.py"], project).returncode == 0
    usage = run_cli(["--no-cache", "missing.py"], project)
    assert usage.returncode == 2 and "missing.py" in usage.stderr
    # The other commands end normally.
    assert run_cli(["--version"], project).stdout.startswith("lint-eps")
