"""Generated docs are in sync with the rule classes, and the package ships every sub-package it has."""

from __future__ import annotations

import sys
import tomllib
from pathlib import Path

from conftest import ROOT
from lint_eps import docs
from lint_eps.registry import all_rules


def test_rule_pages_are_up_to_date() -> None:
    pages = ROOT / "docs" / "rules"
    for name, text in docs.rule_pages().items():
        page = pages / name
        assert page.exists(), f"{page} is missing: run `python -m lint_eps.docs`"
        assert page.read_text(encoding="utf-8") == text, f"{page} is stale: run `python -m lint_eps.docs`"
    assert {p.name for p in pages.glob("EPS*.md")} == set(docs.rule_pages())


def test_readme_rule_table_is_up_to_date_and_links_every_rule() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert docs.render_readme(readme) == readme, "README rule table is stale: run `python -m lint_eps.docs`"
    for code in all_rules():
        assert f"[{code}](docs/rules/{code}.md)" in readme


def test_every_python_subpackage_is_listed_for_installation() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    mapping = config.get("package-dir", {})
    on_disk = set()
    for package, folder in [("lint_eps", ROOT / "lint_eps"), *[(name, ROOT / path) for name, path in mapping.items()]]:
        for init in folder.rglob("__init__.py"):
            relative = init.parent.relative_to(folder)
            on_disk.add(".".join([package, *relative.parts]) if relative.parts else package)
    assert on_disk == listed, f"packages in pyproject.toml differ from the folders on disk: {sorted(on_disk ^ listed)}"


def test_static_linter_does_not_import_heavy_frameworks() -> None:
    """The pre-commit hook and the CLI stay light: linting imports no TensorFlow, NumPy or torch."""
    import subprocess

    code = (
        "import sys, lint_eps\n"
        "lint_eps.lint_source(open(sys.argv[1]).read(), sys.argv[1])\n"
        "heavy = [m for m in ('tensorflow', 'numpy', 'torch', 'jax', 'keras') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(ROOT / "examples" / "keras_segmentation.py")], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_readme_example_output_is_what_lint_eps_prints(tmp_path: Path) -> None:
    from conftest import run_cli

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    code = readme.split("```python\n", 1)[1].split("```", 1)[0]
    shown = readme.split("$ lint-eps metrics.py\n", 1)[1].split("```", 1)[0]
    (tmp_path / "metrics.py").write_text(code, encoding="utf-8")
    result = run_cli(["--no-cache", "metrics.py"], tmp_path)
    assert result.stdout == shown


def test_every_third_party_module_the_tests_import_is_declared_in_the_test_extra() -> None:
    """A fresh clone installs `.[test]` and nothing else: a test that imports an undeclared package passes only on
    a machine that happens to have it (ml_dtypes came in through TensorFlow until it did not have to)."""
    import ast
    import re
    from importlib.metadata import packages_distributions

    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    declared = {re.split(r"[\s<>=!~;\[]", req, maxsplit=1)[0].lower().replace("_", "-") for req in config["optional-dependencies"]["test"] + config["dependencies"]}
    providers = packages_distributions()
    local = {path.stem for path in (ROOT / "tests").glob("*.py")} | {"lint_eps"}
    missing = set()
    for path in (ROOT / "tests").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in local:
                    continue
                dists = {d.lower().replace("_", "-") for d in providers.get(top, [top])}
                if not dists & declared:
                    missing.add(f"{path.name}: {top} ({', '.join(sorted(dists))})")
    assert not missing, f"imported by tests but not declared in the test extra: {sorted(missing)}"
