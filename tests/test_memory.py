"""A file's memory is freed when the file is done: lint-eps leaves no reference cycle behind it.

A lint run sets the cyclic garbage collector to run rarely (`lint_eps.collector`), which is only safe because
the engine leaves no cycle holding a file's trees: a cycle there (a recursive closure, an analysis cached on the
context that holds it) kept both trees of every file alive until a collection, up to 140 MB on torchmetrics. These
tests lint real code with the collector off and look at what only the collector could free.
"""

from __future__ import annotations

import gc
from pathlib import Path

from conftest import ROOT
from lint_eps.runner import lint_paths

# Files that exercise every analysis the rules share: roles, provenance, models, denominators, summaries.
EXAMPLES = sorted(str(path) for path in (ROOT / "examples").glob("*.py"))


def _garbage_after(paths: list[str]) -> list[object]:
    gc.collect()
    gc.disable()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        result = lint_paths(paths, jobs=1, use_cache=False)
        assert result.diagnostics  # the examples have findings: the rules and their analyses ran
        gc.collect()
        return list(gc.garbage)
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


def test_linting_the_examples_leaves_no_tree_nor_analysis_to_the_garbage_collector() -> None:
    garbage = _garbage_after(EXAMPLES)
    kinds = {type(obj).__module__.split(".")[0] + "." + type(obj).__qualname__ for obj in garbage}
    trees = sorted(kind for kind in kinds if kind.startswith(("libcst.", "ast.")))
    ours = sorted(kind for kind in kinds if kind.startswith("lint_eps."))
    # What is left is the standard library's own: `ast.literal_eval` (which libcst's `evaluated_value` calls)
    # makes recursive closures; they hold the few ast nodes of one literal, never a file's tree.
    assert not ours, ours
    assert len([obj for obj in garbage if type(obj).__module__.startswith("libcst")]) == 0, trees
    assert len(garbage) < 200 * len(EXAMPLES), len(garbage)


def test_a_lint_run_collects_rarely_and_a_library_caller_keeps_its_collector(tmp_path: Path) -> None:
    """The CLI tunes the collector in its own process; calling the API (an editor, a test) changes nothing."""
    import subprocess
    import sys

    before = gc.get_threshold()
    lint_paths(EXAMPLES[:1], jobs=1, use_cache=False)
    assert gc.get_threshold() == before
    probe = "import gc, sys\nfrom lint_eps.cli import main\ntry:\n    main(['--no-cache', '--exit-zero', '--quiet', '--jobs', '1', sys.argv[1]])\nexcept SystemExit:\n    pass\nprint('threshold', gc.get_threshold()[0], 'frozen', gc.get_freeze_count() > 0)\n"
    # Five files, one process: the imports are frozen once the first file has imported libcst.
    out = subprocess.run([sys.executable, "-c", probe, str(ROOT / "examples")], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert "threshold 100000 frozen True" in out.stdout, out.stdout + out.stderr
