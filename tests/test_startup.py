"""A fast first answer (issue 15): a run imports only what it needs.

libcst costs more to import than a small file costs to lint, so a run where every file is a cache hit or is proven
clean by the prefilter must not import it, and no run may import `libcst.matchers` (as slow again) or start
multiprocessing for a handful of files. Speed itself is measured in bench/startup.py; these tests check the
imports, by running the real CLI in a fresh interpreter. `lint_eps.match` must match exactly what libcst's
matchers match: the last test compares the two on every node of real files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import libcst
import libcst.matchers as libcst_matchers
import pytest

from conftest import ROOT, TF_LOSS, write
from lint_eps import match

# Run the CLI in this interpreter (as `lint-eps` does) and report which of the heavy modules it imported.
PROBE = """
import sys
from lint_eps.cli import main
sys.argv = ["lint-eps", *sys.argv[1:]]
try:
    main()
except SystemExit as exit:
    code = exit.code
print("exit", code)
print("imported", sorted(m for m in ("libcst", "libcst.matchers", "libcst.metadata", "multiprocessing") if m in sys.modules))
"""

DATA_LOADER = '''\
import os


def list_images(folder, suffixes=(".png", ".jpg")):
    """Every image under `folder`, sorted."""
    found = []
    for root, _, names in os.walk(folder):
        found.extend(os.path.join(root, n) for n in names if n.endswith(suffixes))
    return sorted(found)
'''


def probe(args: list[str], cwd: Path) -> tuple[str, list[str], str]:
    out = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    lines = out.stdout.splitlines()
    exit_line = next(line for line in lines if line.startswith("exit "))
    imported = next(line for line in lines if line.startswith("imported "))
    return exit_line.split()[1], eval(imported.split(" ", 1)[1]), out.stdout


def test_a_file_the_prefilter_proves_clean_is_answered_without_libcst(project: Path) -> None:
    write(project, "data.py", DATA_LOADER)
    code, imported, stdout = probe(["--no-cache", "data.py"], project)
    assert code == "0" and "All checks passed!" in stdout
    assert imported == []


def test_a_warm_cache_answers_without_libcst(project: Path) -> None:
    write(project, "losses.py", TF_LOSS)
    write(project, "data.py", DATA_LOADER)
    first_code, first_imported, first = probe(["."], project)
    assert first_code == "1" and "EPS202" in first and "libcst" in first_imported  # the loss file was parsed
    code, imported, stdout = probe(["."], project)
    assert code == "1" and stdout.replace(str(imported), "") == first.replace(str(first_imported), "")
    assert imported == []


def test_a_file_with_findings_imports_libcst_but_not_its_matchers_nor_multiprocessing(project: Path) -> None:
    write(project, "losses.py", TF_LOSS)
    write(project, "data.py", DATA_LOADER)
    code, imported, stdout = probe(["--no-cache", "--jobs", "2", "."], project)
    assert code == "1" and "losses.py:6:" in stdout and "EPS202" in stdout
    assert "libcst" in imported
    assert "libcst.matchers" not in imported and "multiprocessing" not in imported


def test_a_named_file_does_not_import_pathspec(project: Path) -> None:
    """Exclude patterns only matter when a folder is walked or --force-exclude is given."""
    write(project, "losses.py", TF_LOSS)
    probe_pathspec = PROBE.replace('"multiprocessing")', '"multiprocessing", "pathspec")')
    named = subprocess.run([sys.executable, "-c", probe_pathspec, "--no-cache", "losses.py"], cwd=project, capture_output=True, text=True, timeout=300)
    assert "EPS202" in named.stdout and "'pathspec'" not in named.stdout
    walked = subprocess.run([sys.executable, "-c", probe_pathspec, "--no-cache", "."], cwd=project, capture_output=True, text=True, timeout=300)
    assert "EPS202" in walked.stdout and "'pathspec'" in walked.stdout


# -- lint_eps.positions agrees with libcst's PositionProvider ----------------------------------------------
POSITION_FILES = ["examples/keras_segmentation.py", "examples/torch_energy_models.py", "lint_eps/engine.py", "rules/analysis/roles.py"]

ODD_LAYOUT = (
    "import torch\r\n"
    "def f(x,\r\n      y):  # a comment\r\n"
    "    return (torch.log(\r\n        x) /\\\r\n        (y + 1e-7)); z = [\r\n  1,\r\n]\r\n"
    "class A:\r\n\tdef g(self): return lambda q: q ** 2 if q else -q\r\n"
    "@decorator(1)\r\nasync def h():\r\n    async with a as b, c:\r\n        await b[1:2, ::3]\r\n"
)


@pytest.mark.parametrize("path", [*POSITION_FILES, "odd layout (CRLF, tabs, continuations)"])
def test_positions_agree_with_libcst_position_provider_on_every_node(path: str) -> None:
    from libcst.metadata import MetadataWrapper, PositionProvider

    from lint_eps.positions import positions

    source = ODD_LAYOUT if path.startswith("odd") else (ROOT / path).read_text(encoding="utf-8")
    wrapper = MetadataWrapper(libcst.parse_module(source), unsafe_skip_copy=True)
    theirs = wrapper.resolve(PositionProvider)
    ours = positions(wrapper.module)
    assert len(ours) == len(theirs) > 50
    for node, span in theirs.items():
        assert ours[node] == (span.start.line, span.start.column, span.end.line, span.end.column), node


# -- lint_eps.match agrees with libcst.matchers ------------------------------------------------------------
def _pairs() -> list[tuple[object, object]]:
    """The same shapes in both libraries: the kinds of matchers the rules build."""

    def both(build):  # type: ignore[no-untyped-def]
        return build(match), build(libcst_matchers)

    return [
        both(lambda m: m.Call()),
        both(lambda m: m.Name("self")),
        both(lambda m: m.Name("None")),
        both(lambda m: m.Attribute(value=m.Name("self"), attr=m.Name())),
        both(lambda m: m.Call(func=m.Attribute(attr=m.Name("log")), args=())),
        both(lambda m: m.Call(func=m.Name("len") | m.Attribute(attr=m.Name("shape") | m.Name("size")))),
        both(lambda m: m.Call(args=[m.Arg(value=m.SimpleString())])),
        both(lambda m: m.Call(func=m.Attribute(value=m.Attribute(value=m.Name("self"))))),
        both(lambda m: m.BinaryOperation(left=m.Integer("1") | m.Float("1.0") | m.Float("1."), operator=m.Subtract())),
        both(lambda m: m.UnaryOperation(operator=m.Minus())),
        both(lambda m: m.Assign(targets=[m.AssignTarget(target=m.Name())])),
        both(lambda m: m.Comparison(comparisons=[m.ComparisonTarget(operator=m.NotEqual())])),
        both(lambda m: m.Return() | m.Raise() | m.Continue() | m.Break()),
        both(lambda m: m.Subscript(slice=[m.SubscriptElement(slice=m.Index())])),
        both(lambda m: m.Param(default=None)),
        both(lambda m: m.Arg(keyword=m.Name("from_logits"), value=m.Name("True"))),
    ]


@pytest.mark.parametrize("path", ["examples/keras_segmentation.py", "examples/torch_training.py", "rules/division.py", "lint_eps/engine.py"])
def test_match_agrees_with_libcst_matchers_on_every_node(path: str) -> None:
    from lint_eps.walk import findall, iter_nodes

    module = libcst.parse_module((ROOT / path).read_text(encoding="utf-8"))
    nodes = list(iter_nodes(module, tokens=True))
    shapes_found = 0
    for ours, theirs in _pairs():
        found = [node for node in nodes if match.matches(node, ours)]
        assert found == [node for node in nodes if libcst_matchers.matches(node, theirs)], ours
        assert list(findall(module, ours)) == list(libcst_matchers.findall(module, theirs)), ours
        shapes_found += bool(found)
    assert shapes_found >= 5  # many shapes occur in each of these files: the comparison is not vacuous
