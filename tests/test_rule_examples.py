"""Every rule's VALID and INVALID examples, run through the real engine (as Fixit's test suite does).

Adding a rule is one file in rules/: its examples are picked up here automatically.
"""

from __future__ import annotations

import re

import libcst as cst
import pytest

from lint_eps.engine import lint_source
from lint_eps.fixes import fix_source
from lint_eps.registry import all_rules
from lint_eps.rule import Invalid, Valid, validate_rule_class
from lint_eps.settings import Settings

RULES = all_rules()
LINT_RULES = {code: rule for code, rule in RULES.items() if not rule.engine_only}


def _cases(kind: str):
    for code, rule in RULES.items():
        for index, example in enumerate(getattr(rule, kind)):
            yield pytest.param(code, example, id=f"{code}-{kind.lower()}-{index}")


def _settings(example: Valid | Invalid | str, code: str) -> Settings:
    extra = {} if isinstance(example, str) else dict(example.settings)
    extra.setdefault("select", (code,))  # an example may select companions (EPS004 needs the rules it checks)
    return Settings(**extra)


@pytest.mark.parametrize("code, example", list(_cases("VALID")))
def test_valid_example_has_no_finding(code: str, example: Valid | str) -> None:
    source = example if isinstance(example, str) else example.code
    found = [d for d in lint_source(source, "example.py", _settings(example, code)) if d.code == code]
    assert found == [], f"{code} fired on a VALID example:\n{source}\n{found}"


@pytest.mark.parametrize("code, example", list(_cases("INVALID")))
def test_invalid_example_is_found_and_fixed(code: str, example: Invalid) -> None:
    settings = _settings(example, code)
    found = [d for d in lint_source(example.code, "example.py", settings) if d.code == code]
    assert len(found) == example.count, f"{code}: expected {example.count} finding(s) in:\n{example.code}\ngot {found}"
    for diagnostic in found:
        assert diagnostic.message and diagnostic.location.row >= 1
    if example.fixed is None:
        assert all(d.fix is None for d in found), f"{code} offered a fix where none is expected: {found}"
        return
    outcome = fix_source(example.code, "example.py", settings, unsafe=True)
    assert outcome.error is None
    assert outcome.text == example.fixed
    cst.parse_module(outcome.text)
    again = fix_source(outcome.text, "example.py", settings, unsafe=True)
    assert again.text == outcome.text, "fixing twice changed the file again"


@pytest.mark.parametrize("code", sorted(RULES))
def test_rule_declaration_is_complete(code: str) -> None:
    rule = RULES[code]
    assert validate_rule_class(rule) == []
    assert rule.documentation().startswith(f"# {rule.name} ({code})")


@pytest.mark.parametrize("code", sorted(LINT_RULES))
def test_rule_has_enough_examples(code: str) -> None:
    rule = LINT_RULES[code]
    assert len(rule.VALID) >= 6, f"{code} needs at least 6 VALID examples"
    assert len(rule.INVALID) >= 6, f"{code} needs at least 6 INVALID examples"
    if rule.fixable == "never":
        assert all(example.fixed is None for example in rule.INVALID)
    else:
        assert any(example.fixed is not None for example in rule.INVALID), f"{code} is fixable but no example shows a fix"


# One terminal line after the `path:row:col: CODE ` prefix, as ruff's messages: what is wrong and what to do.
MAX_MESSAGE = 100
# Frameworks with autodiff; an example importing none of them is NumPy/Python code, which has no gradient.
AUTODIFF_IMPORT = re.compile(r"^\s*(?:import|from)\s+(?:tensorflow|tf_keras|keras|torch|jax|optax)\b", re.M)


@pytest.mark.parametrize("code, example", list(_cases("INVALID")))
def test_message_is_one_short_line_and_details_explain_it(code: str, example: Invalid) -> None:
    found = [d for d in lint_source(example.code, "example.py", _settings(example, code)) if d.code == code]
    for diagnostic in found:
        assert "\n" not in diagnostic.message and len(diagnostic.message) <= MAX_MESSAGE, (
            f"{code}: message of {len(diagnostic.message)} characters (at most {MAX_MESSAGE}): {diagnostic.message}"
        )
        if code[3] in "1234":  # rule findings (not the engine's EPS00x): the full explanation is kept
            assert len(diagnostic.details) > len(diagnostic.message), f"{code}: no details behind {diagnostic.message!r}"


@pytest.mark.parametrize("code, example", [p for p in _cases("INVALID") if not AUTODIFF_IMPORT.search(p.values[1].code)])
def test_numpy_and_python_code_is_never_told_about_gradients(code: str, example: Invalid) -> None:
    found = [d for d in lint_source(example.code, "example.py", _settings(example, code)) if d.code == code]
    for diagnostic in found:
        text = f"{diagnostic.message} {diagnostic.details}"
        assert "gradient" not in text and "optimizer" not in text, f"{code} on NumPy/Python code: {text}"
