"""`[tool.lint-eps]` in pyproject.toml and lint-eps.toml: discovery, keys, CLI overrides, errors."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import TF_LOSS, run_cli, write


def _codes(output: str) -> list[tuple[str, str]]:
    return [(d["filename"], d["code"]) for d in json.loads(output)]


def test_pyproject_select_ignore_and_cli_override(tmp_path: Path, cli) -> None:
    write(tmp_path, "pyproject.toml", '[tool.lint-eps]\nignore = ["EPS202"]\n')
    write(tmp_path, "src/losses.py", TF_LOSS)
    assert cli(["src"], tmp_path).exit_code == 0
    # --select replaces the configured selection but the configured ignore still applies...
    assert cli(["--select", "EPS2", "src"], tmp_path).exit_code == 0
    # ...and an explicit --config pointing elsewhere replaces the whole file.
    write(tmp_path, "other.toml", "select = ['EPS2']\n")
    assert cli(["--config", "other.toml", "src"], tmp_path).exit_code == 1


def test_config_found_from_a_subfolder(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.lint-eps]\nignore = ["EPS202"]\n')
    write(tmp_path, "src/pkg/losses.py", TF_LOSS)
    result = run_cli(["."], tmp_path / "src" / "pkg")
    assert result.returncode == 0, result.stdout


def test_lint_eps_toml_is_used_without_tool_table(tmp_path: Path, cli) -> None:
    write(tmp_path, "lint-eps.toml", 'extend-exclude = ["generated"]\n')
    write(tmp_path, "generated/losses.py", TF_LOSS)
    write(tmp_path, "src/losses.py", TF_LOSS)
    result = cli(["--output-format", "json", "."], tmp_path)
    assert {f for f, _ in _codes(result.output)} == {"src/losses.py"}


def test_per_file_ignores(tmp_path: Path, cli) -> None:
    write(
        tmp_path,
        "pyproject.toml",
        '[tool.lint-eps]\n[tool.lint-eps.per-file-ignores]\n"tests/*" = ["EPS2"]\n"legacy.py" = ["EPS202"]\n',
    )
    write(tmp_path, "tests/test_losses.py", TF_LOSS)
    write(tmp_path, "pkg/legacy.py", TF_LOSS)
    write(tmp_path, "pkg/losses.py", TF_LOSS)
    result = cli(["--output-format", "json", "."], tmp_path)
    assert {f for f, _ in _codes(result.output)} == {"pkg/losses.py"}


def test_exclude_replaces_defaults_and_extend_exclude_adds(tmp_path: Path, cli) -> None:
    write(tmp_path, "build/losses.py", TF_LOSS)
    write(tmp_path, "vendor/losses.py", TF_LOSS)
    write(tmp_path, "pyproject.toml", '[tool.lint-eps]\nextend-exclude = ["vendor/"]\n')
    assert cli(["--output-format", "json", "."], tmp_path).stdout.strip() == "[]"
    write(tmp_path, "pyproject.toml", '[tool.lint-eps]\nexclude = ["vendor/"]\n')
    result = cli(["--output-format", "json", "."], tmp_path)
    assert {f for f, _ in _codes(result.output)} == {"build/losses.py"}


def test_unknown_key_is_named_with_exit_2(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", '[tool.lint-eps]\nselekt = ["EPS2"]\n')
    write(tmp_path, "a.py", "x = 1\n")
    result = run_cli(["a.py"], tmp_path)
    assert result.returncode == 2
    assert "unknown key `selekt`" in result.stderr and "pyproject.toml" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_values_are_named_with_exit_2(tmp_path: Path, cli) -> None:
    write(tmp_path, "a.py", "x = 1\n")
    cases = {
        'select = "EPS2"': "`select` must be a list of strings",
        'select = ["EPS9"]': "`select`: unknown rule selector 'EPS9'",
        'keras-backend = "theano"': "`keras-backend` must be one of",
        'metric-name-patterns = ["(unclosed"]': "`metric-name-patterns`: '(unclosed' is not a valid regular expression",
        'respect-gitignore = "yes"': "`respect-gitignore` must be true or false",
        '[tool.lint-eps.per-file-ignores]\n"x.py" = ["EPS9"]': "`per-file-ignores.x.py`: unknown rule selector 'EPS9'",
    }
    for body, expected in cases.items():
        write(tmp_path, "pyproject.toml", f"[tool.lint-eps]\n{body}\n")
        result = cli(["a.py"], tmp_path)
        assert result.exit_code == 2, body
        assert expected in result.output, (body, result.output)


def test_invalid_toml_is_a_config_error(tmp_path: Path) -> None:
    write(tmp_path, "pyproject.toml", "[tool.lint-eps\nselect = [\n")
    write(tmp_path, "a.py", "x = 1\n")
    result = run_cli(["a.py"], tmp_path)
    assert result.returncode == 2
    assert "invalid TOML" in result.stderr


def test_missing_config_file_is_a_usage_error(tmp_path: Path, cli) -> None:
    write(tmp_path, "a.py", "x = 1\n")
    result = cli(["--config", "nope.toml", "a.py"], tmp_path)
    assert result.exit_code == 2 and "config file does not exist: nope.toml" in result.output


KPIS = """\
import numpy as np


def kpi_conversion(orders, visits):
    return np.sum(orders) / np.sum(visits)


def weekly_hit_rate(hits, shown):
    return np.sum(hits) / np.sum(shown)


def conversion(orders, visits):
    return np.sum(orders) / np.sum(visits)
"""


def test_readme_configuration_example_marks_functions_by_metric_name_patterns(tmp_path: Path) -> None:
    """The README's `[tool.lint-eps]` example, verbatim: `metric-name-patterns = ["^kpi_", "hit_rate"]` makes
    `kpi_conversion` and `weekly_hit_rate` metric code (regexes searched in the name, as a reader expects), while
    a function no pattern names stays out of scope."""
    from readme_snippets import readme_blocks

    (example,) = [block for block in readme_blocks("## Configuration", "toml") if "metric-name-patterns" in block]
    write(tmp_path, "pyproject.toml", example)
    write(tmp_path, "src/kpis.py", KPIS)
    result = run_cli(["--no-cache", "--output-format", "json", "src"], tmp_path)
    assert result.returncode == 1, result.stdout + result.stderr
    found = [(d["code"], d["location"]["row"], d["details"].split(" (by its name)")[0].rsplit("metric ", 1)[-1]) for d in json.loads(result.stdout)]
    assert found == [("EPS101", 5, "`kpi_conversion`"), ("EPS101", 9, "`weekly_hit_rate`")]
