"""Jupyter notebooks: real `.ipynb` files written by nbformat (outputs, execution counts, markdown cells, IPython
magics, a model built in one cell and compiled in another), linted, fixed and diffed by the CLI as a user runs
it; every byte outside the edited cell's source must stay as it was."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from conftest import run_cli
from readme_snippets import readme_blocks

nbformat = pytest.importorskip("nbformat", reason="the tests write real notebooks with nbformat (pip install nbformat)")
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output  # noqa: E402

LOSS_LINE = "    return -tf.reduce_mean(y * tf.math.log(tf.sigmoid(logits)))"
FIXED_LINE = "    return -tf.reduce_mean(y * tf.math.log_sigmoid(logits))"


def training_cells() -> list:
    """A training notebook as people write them. Cell numbers (1-based, markdown included) are in comments."""
    return [
        new_markdown_cell("# Training\nThe loss below uses `tf.math.log(tf.sigmoid(x))` -- text, not code."),  # 1
        new_code_cell(  # 2
            "%matplotlib inline\n!pip install -q tensorflow\nimport tensorflow as tf\nfrom tensorflow import keras",
            execution_count=1,
            outputs=[new_output("stream", name="stdout", text="Successfully installed tensorflow\n")],
        ),
        new_code_cell(  # 3: the model ...
            "model = keras.Sequential([\n    keras.layers.Dense(16, activation='relu'),\n    keras.layers.Dense(1),\n])",
            execution_count=2,
        ),
        new_code_cell("%%time\nlosses = [tf.math.log(p) for p in probs]", execution_count=3),  # 4: a cell magic
        new_code_cell(  # 5: IPython lines mixed with Python
            f"files = !ls data/\n?keras.Sequential\nfor f in files:\n    !echo $f\n\n\ndef bce(y, logits):\n{LOSS_LINE}",
            execution_count=4,
            outputs=[new_output("execute_result", data={"text/plain": "['a.csv']"}, execution_count=4)],
        ),
        new_code_cell("model.compile(optimizer='adam', loss='binary_crossentropy')", execution_count=5),  # 6: ... compiled
        new_code_cell(  # 7: a suppressed finding
            "def recall(y_true, y_pred):\n    tp = tf.reduce_sum(y_true * y_pred)\n    return tp / tf.reduce_sum(y_true)  # noqa: EPS101",
            execution_count=6,
            outputs=[new_output("display_data", data={"image/png": "iVBORw0KGgo=", "text/plain": "<Figure>"}, metadata={"needs_background": "light"})],
        ),
    ]


def write_notebook(path: Path, cells: list | None = None) -> bytes:
    notebook = new_notebook(cells=cells if cells is not None else training_cells())
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata["language_info"] = {"name": "python", "version": "3.11.4"}
    nbformat.write(notebook, str(path))
    return path.read_bytes()


def test_notebook_is_one_program_and_findings_name_their_cell(project: Path) -> None:
    write_notebook(project / "train.ipynb")
    result = run_cli(["--no-cache", "train.ipynb"], project)
    assert result.returncode == 1, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    # The magics (`%matplotlib`, `!pip`, `x = !ls`, `?obj`, an indented `!echo`) are no syntax error, the `%%time`
    # cell and the markdown cell are not linted, the noqa in cell 7 holds.
    assert [line for line in lines if line.startswith("train.ipynb:")] == [
        "train.ipynb:cell 5:8:32: EPS202 [*] `log(sigmoid(x))` is -inf once sigmoid(x) underflows; use `tf.math.log_sigmoid(logits)`",
        "train.ipynb:cell 6:1:38: EPS302 `'binary_crossentropy'` gets logits from a linear last layer; set from_logits=True",
    ]
    # The source shown is the cell's line; the compile in cell 6 is about the layer of cell 3.
    assert f"8 | {LOSS_LINE}" in lines
    assert "  note: the model's linear output layer at train.ipynb:cell 3:3:5" in lines
    assert "EPS001" not in result.stdout and "Traceback" not in result.stderr


def test_json_sarif_and_github_formats_give_the_cell(project: Path) -> None:
    write_notebook(project / "train.ipynb")
    found = json.loads(run_cli(["--no-cache", "--output-format", "json", "train.ipynb"], project).stdout)
    assert [(d["code"], d["cell"], d["location"]["row"], d["location"]["column"]) for d in found] == [("EPS202", 5, 8, 32), ("EPS302", 6, 1, 38)]
    (edit,) = found[0]["fix"]["edits"]
    assert (edit["location"]["row"], edit["location"]["column"], edit["content"]) == (8, 32, "tf.math.log_sigmoid(logits)")

    sarif = json.loads(run_cli(["--no-cache", "--output-format", "sarif", "train.ipynb"], project).stdout)
    results = sarif["runs"][0]["results"]
    assert [(r["ruleId"], r["properties"]["cell"], r["locations"][0]["physicalLocation"]["region"]["startLine"]) for r in results] == [
        ("EPS202", 5, 8),
        ("EPS302", 6, 1),
    ]
    github = run_cli(["--no-cache", "--output-format", "github", "train.ipynb"], project).stdout
    assert "file=train.ipynb,line=8,col=32,endLine=8,endColumn=63::cell 5:8:32: EPS202 " in github


def test_folders_include_notebooks_but_not_checkpoints_or_other_languages(project: Path) -> None:
    (project / "notebooks" / ".ipynb_checkpoints").mkdir(parents=True)
    write_notebook(project / "notebooks" / "train.ipynb")
    write_notebook(project / "notebooks" / ".ipynb_checkpoints" / "train-checkpoint.ipynb")
    # An R notebook: its cells are not Python (and not a syntax error).
    r_notebook = new_notebook(cells=[new_code_cell("library(ggplot2)\nif (n > 0) { rate <- hits / n }")])
    r_notebook.metadata["kernelspec"] = {"name": "ir", "display_name": "R", "language": "R"}
    r_notebook.metadata["language_info"] = {"name": "R"}
    nbformat.write(r_notebook, str(project / "notebooks" / "analysis.ipynb"))
    result = run_cli(["--no-cache", "--output-format", "json", "."], project)
    assert sorted({d["filename"] for d in json.loads(result.stdout)}) == [os.path.join("notebooks", "train.ipynb")]


def test_fix_edits_the_cell_and_leaves_every_other_byte(project: Path) -> None:
    path = project / "train.ipynb"
    original = write_notebook(path)
    mode = stat.S_IMODE(path.stat().st_mode)
    result = run_cli(["--no-cache", "--fix", "train.ipynb"], project)
    assert result.returncode == 1, result.stdout + result.stderr  # EPS302 has no safe fix and stays
    assert "(1 fixed, 1 remaining)" in result.stdout
    fixed = path.read_bytes()
    # One JSON string changed, in place: key order, indentation, outputs, metadata, final newline are the file's.
    assert fixed == original.replace(json.dumps(LOSS_LINE).encode(), json.dumps(FIXED_LINE).encode(), 1)
    assert fixed != original
    assert stat.S_IMODE(path.stat().st_mode) == mode
    nbformat.validate(nbformat.reads(fixed.decode(), as_version=4))
    assert sorted(p.name for p in project.iterdir()) == ["pyproject.toml", "train.ipynb"], "no temporary file left"
    # A second --fix changes nothing; the IPython lines are still there.
    assert run_cli(["--no-cache", "--fix", "train.ipynb"], project).returncode == 1
    assert path.read_bytes() == fixed
    assert "files = !ls data/" in nbformat.reads(fixed.decode(), as_version=4).cells[4].source


def test_fix_keeps_a_notebook_written_in_another_style(project: Path) -> None:
    """Sources as one string, two-space indentation, ASCII escapes, no final newline: all kept."""
    notebook = nbformat.v4.new_notebook(cells=training_cells())
    notebook.cells[0].source = "# Entraînement 🔥"
    document = json.loads(nbformat.writes(notebook))
    for cell in document["cells"]:
        cell["source"] = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
    text = json.dumps(document, indent=2, ensure_ascii=True, sort_keys=False)
    path = project / "styled.ipynb"
    path.write_bytes(text.encode())
    assert result_of(run_cli(["--no-cache", "--fix", "styled.ipynb"], project)) == 1
    old_source = document["cells"][4]["source"]
    expected = text.replace(json.dumps(old_source), json.dumps(old_source.replace(LOSS_LINE, FIXED_LINE)), 1)
    assert path.read_text() == expected and expected != text
    assert "\\ud83d\\udd25" in path.read_text()  # the emoji of the markdown cell is still escaped


def result_of(done) -> int:
    assert "Traceback" not in done.stderr, done.stderr
    return done.returncode


def test_diff_shows_the_cell_and_changes_nothing(project: Path) -> None:
    path = project / "train.ipynb"
    original = write_notebook(path)
    result = run_cli(["--no-cache", "--diff", "train.ipynb"], project)
    assert result.returncode == 1
    assert path.read_bytes() == original
    assert result.stdout.splitlines() == [
        "--- a/train.ipynb:cell 5",
        "+++ b/train.ipynb:cell 5",
        "@@ -5,4 +5,4 @@",
        " ",
        " ",
        " def bce(y, logits):",
        f"-{LOSS_LINE}",
        f"+{FIXED_LINE}",
    ]
    assert "Would fix 1 finding in 1 file" in result.stderr


def test_add_noqa_suppresses_per_cell(project: Path) -> None:
    path = project / "train.ipynb"
    write_notebook(path)
    result = run_cli(["--no-cache", "--add-noqa", "train.ipynb"], project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Added 2 noqa directives." in result.stderr
    cells = nbformat.reads(path.read_text(), as_version=4).cells
    assert cells[4].source.endswith(f"{LOSS_LINE}  # noqa: EPS202")
    assert cells[5].source == "model.compile(optimizer='adam', loss='binary_crossentropy')  # noqa: EPS302"
    assert cells[1].source.startswith("%matplotlib inline\n!pip install")
    once = path.read_bytes()
    assert run_cli(["--no-cache", "--add-noqa", "train.ipynb"], project).returncode == 0
    assert path.read_bytes() == once
    assert run_cli(["--no-cache", "train.ipynb"], project).returncode == 0


def test_a_cell_that_is_not_python_is_a_syntax_error_naming_it(project: Path) -> None:
    cells = training_cells()
    cells[2] = new_code_cell("model = keras.Sequential([\n    keras.layers.Dense(1),\n")  # never closed
    write_notebook(project / "broken.ipynb", cells)
    result = run_cli(["--no-cache", "broken.ipynb"], project)
    assert result.returncode == 1
    assert "broken.ipynb:cell 3:1:26: EPS001 invalid syntax in cell 3: '[' was never closed (the cell was not linted)" in result.stdout
    # The other cells are still linted.
    assert "broken.ipynb:cell 5:8:32: EPS202" in result.stdout


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"cells": [', "broken.ipynb:1:12: EPS001 not a notebook: invalid JSON"),
        (b'{"nbformat": 4, "cells": {}}', "broken.ipynb:1:1: EPS001 not a notebook: no `cells` list at the top level"),
        (b'{"nbformat": 3, "nbformat_minor": 0, "cells": [], "worksheets": []}', "broken.ipynb:1:1: EPS001 unsupported notebook format 3"),
    ],
)
def test_a_file_that_is_not_a_notebook_is_reported_not_a_traceback(project: Path, content: bytes, message: str) -> None:
    (project / "broken.ipynb").write_bytes(content)
    result = run_cli(["--no-cache", "--fix", "broken.ipynb"], project)
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert message in result.stdout
    assert (project / "broken.ipynb").read_bytes() == content


def test_fix_leaves_a_read_only_notebook_alone(project: Path) -> None:
    path = project / "train.ipynb"
    original = write_notebook(path)
    path.chmod(0o444)
    result = run_cli(["--no-cache", "--fix", "train.ipynb"], project)
    assert result.returncode == 1
    assert "EPS003" in result.stdout and "read-only" in result.stdout
    assert path.read_bytes() == original and stat.S_IMODE(path.stat().st_mode) == 0o444


def test_fix_through_a_symlink_keeps_the_link(project: Path) -> None:
    target = project / "shared" / "train.ipynb"
    target.parent.mkdir()
    original = write_notebook(target)
    (project / "train.ipynb").symlink_to("shared/train.ipynb")
    assert run_cli(["--no-cache", "--fix", "train.ipynb"], project).returncode == 1
    assert (project / "train.ipynb").is_symlink()
    assert target.read_bytes() == original.replace(json.dumps(LOSS_LINE).encode(), json.dumps(FIXED_LINE).encode(), 1)


def test_the_cache_serves_notebooks_and_follows_their_content(project: Path) -> None:
    from lint_eps.runner import lint_paths
    from lint_eps.settings import Settings

    path = project / "train.ipynb"
    write_notebook(path)
    settings = Settings(root=str(project))
    first = lint_paths([str(path)], settings)
    second = lint_paths([str(path)], settings)
    assert not first.files[0].from_cache and second.files[0].from_cache
    assert second.diagnostics == first.diagnostics
    assert [(d.code, d.cell, d.location.row) for d in second.diagnostics] == [("EPS202", 5, 8), ("EPS302", 6, 1)]
    assert [loc.cell for _, loc in second.diagnostics[1].related] == [3]
    # An edited cell is linted again, not served from the cache.
    cells = training_cells()
    cells[5] = new_code_cell("model.compile(optimizer='adam', loss=keras.losses.BinaryCrossentropy(from_logits=True))")
    write_notebook(path, cells)
    third = lint_paths([str(path)], settings)
    assert not third.files[0].from_cache
    assert [d.code for d in third.diagnostics] == ["EPS202"]


def test_magic_like_text_inside_strings_and_brackets_is_python(project: Path) -> None:
    cells = [
        new_code_cell("import numpy as np\nreport = '''\n%d items\n!important\n'''\nshape = (\n    3,\n)"),
        new_code_cell("def ratio(y_true, y_pred):\n    return np.sum(y_pred) / np.sum(y_true)"),
    ]
    write_notebook(project / "m.ipynb", cells)
    result = run_cli(["--no-cache", "--output-format", "json", "m.ipynb"], project)
    assert [(d["code"], d["cell"], d["location"]["row"]) for d in json.loads(result.stdout)] == [("EPS101", 2, 2)]


def test_readme_notebook_example_is_what_lint_eps_prints(project: Path) -> None:
    (block,) = readme_blocks("## Jupyter notebooks", "console")
    command, expected = block.split("\n", 1)
    assert command == "$ lint-eps train.ipynb"
    write_notebook(project / "train.ipynb")
    assert run_cli(["train.ipynb"], project).stdout == expected


def test_the_size_budget_counts_code_not_outputs(project: Path) -> None:
    """A notebook's plots (base64 images in its outputs) are not code: the size budget is for the code cells."""
    cells = training_cells()
    cells[-1].outputs[0]["data"]["image/png"] = "iVBORw0KGgo" * 2000  # a 22 kB plot
    write_notebook(project / "plots.ipynb", cells)
    result = run_cli(["--no-cache", "--max-file-size", "5000", "--output-format", "json", "plots.ipynb"], project)
    assert [d["code"] for d in json.loads(result.stdout)] == ["EPS202", "EPS302"]
    result = run_cli(["--no-cache", "--max-file-size", "300", "--output-format", "json", "plots.ipynb"], project)
    (skipped,) = json.loads(result.stdout)
    assert skipped["code"] == "EPS005" and "over the size budget of 300 bytes" in skipped["message"]


def test_percent_at_the_start_of_a_continuation_line_is_python(project: Path) -> None:
    """`% 3` continuing a bracket is the modulo operator, not a magic: the cell is linted, not a syntax error."""
    cells = [new_code_cell('import numpy as np\nlabel = ("%d items"\n         % 3)\n\n\ndef ratio(y_true, y_pred):\n    return np.sum(y_pred) / np.sum(y_true)')]
    write_notebook(project / "m.ipynb", cells)
    result = run_cli(["--no-cache", "--output-format", "json", "m.ipynb"], project)
    assert [(d["code"], d["cell"], d["location"]["row"]) for d in json.loads(result.stdout)] == [("EPS101", 1, 7)]


def test_a_notebook_uses_the_project_modules_it_imports_and_the_cache_follows_them(project: Path) -> None:
    """A notebook's `from nets import discriminator` reads the project's module, as a file's import does, and a
    change to that module re-lints the notebook instead of serving its cached findings."""
    nets = project / "nets.py"
    nets.write_text("import torch\n\n\ndef discriminator(x, w):\n    return torch.sigmoid(x @ w)\n", encoding="utf-8")
    cells = [
        new_markdown_cell("# GAN"),
        new_code_cell("%load_ext autoreload\nimport torch\nfrom nets import discriminator"),
        new_code_cell("def d_loss(x, w):\n    return -torch.log(discriminator(x, w)).mean()"),
    ]
    write_notebook(project / "gan.ipynb", cells)
    first = json.loads(run_cli(["--output-format", "json", "gan.ipynb"], project).stdout)
    assert [(d["code"], d["cell"], d["location"]["row"]) for d in first] == [("EPS201", 3, 2)]
    assert "nets.py:5" in first[0]["related"][0]["message"]
    nets.write_text("import torch\n\n\ndef discriminator(x, w):\n    return x @ w\n", encoding="utf-8")
    assert json.loads(run_cli(["--output-format", "json", "gan.ipynb"], project).stdout) == []
