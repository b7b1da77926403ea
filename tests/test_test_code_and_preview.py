"""Issue 11: test code gets no EPS1/EPS2 findings by default (configurable), and weak role evidence (a
`metrics/`/`losses/` folder alone) reports only with `preview = true`. Through the CLI, on real files."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import run_cli, write

METRIC = """
    import numpy as np

    def precision_score(y_true, y_pred):
        tp = np.sum(y_true * y_pred)
        return tp / np.sum(y_pred)
"""

TEST_IN_LIBRARY = """
    import numpy as np

    def f1(p, r):
        return 2 * p * r / (p + r + 1e-7)

    def test_reference_precision():
        tp = np.sum(np.array([1, 0, 1]))
        predicted = np.sum(np.array([1, 1, 1]))
        assert tp / predicted == 2 / 3
"""

FOLDER_ONLY = """
    import jax.numpy as jnp

    def smooth(values, weights):
        return values / jnp.sum(weights)
"""


def _findings(project: Path, *extra: str) -> list[tuple[str, str]]:
    result = run_cli(["--no-cache", "--output-format", "json", *extra, "."], project)
    assert result.returncode in (0, 1), result.stderr
    return sorted((Path(d["filename"]).as_posix(), d["code"]) for d in json.loads(result.stdout))


def test_test_files_and_functions_are_quiet_by_default(project: Path) -> None:
    write(project, "pkg/metrics.py", METRIC)
    write(project, "tests/test_metrics.py", METRIC)
    write(project, "pkg/metrics_test.py", METRIC)
    write(project, "conftest.py", METRIC)
    write(project, "pkg/helpers.py", TEST_IN_LIBRARY.replace("def f1", "def f1_score"))
    write(project, "tests/fixtures/sample_metric.py", METRIC)  # a sample input beside the tests: linted
    assert _findings(project) == [("pkg/metrics.py", "EPS101"), ("tests/fixtures/sample_metric.py", "EPS101")]


REFERENCE_FORMULAS = """
    import numpy as np

    def test_log1p_matches_the_formula():
        x = np.linspace(-0.5, 0.5, 11)
        assert np.allclose(np.log1p(x), np.log(1 + x))

    def test_softmax_matches_the_formula(softmax):
        z = np.array([1.0, 2.0, 3.0])
        assert np.allclose(softmax(z), np.exp(z) / np.sum(np.exp(z)))
"""


def test_reference_formulas_in_tests_are_quiet_by_default_and_linted_on_request(project: Path) -> None:
    """Tests write the naive formula on purpose, to check the stable one against it (EPS5 is in the default
    test-ignores); `test-ignores = []` brings the findings back."""
    write(project, "tests/test_numerics.py", REFERENCE_FORMULAS)
    assert _findings(project) == []
    (project / "pyproject.toml").write_text("[tool.lint-eps]\ntest-ignores = []\nextend-select = [\"EPS506\"]\n", encoding="utf-8")
    assert _findings(project) == [("tests/test_numerics.py", "EPS501"), ("tests/test_numerics.py", "EPS506")]


def test_test_ignores_empty_lints_tests_again(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.lint-eps]\ntest-ignores = []\n", encoding="utf-8")
    write(project, "pkg/metrics.py", METRIC)
    write(project, "tests/test_metrics.py", METRIC)
    assert _findings(project) == [("pkg/metrics.py", "EPS101"), ("tests/test_metrics.py", "EPS101")]


def test_test_ignores_rejects_unknown_codes(project: Path) -> None:
    (project / "pyproject.toml").write_text("[tool.lint-eps]\ntest-ignores = [\"EPS999\"]\n", encoding="utf-8")
    write(project, "pkg/metrics.py", METRIC)
    result = run_cli(["--no-cache", "."], project)
    assert result.returncode == 2
    assert "test-ignores" in result.stderr and "EPS999" in result.stderr and "Traceback" not in result.stderr


def test_folder_evidence_is_preview_only(project: Path) -> None:
    write(project, "pkg/losses/smoothing.py", FOLDER_ONLY)
    assert _findings(project) == []
    (project / "pyproject.toml").write_text("[tool.lint-eps]\npreview = true\n", encoding="utf-8")
    result = run_cli(["--no-cache", "--show-details", "."], project)
    assert result.returncode == 1
    assert "EPS101" in result.stdout and "in a `losses/` folder" in result.stdout
