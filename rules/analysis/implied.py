"""Guards that protect a denominator without naming it (EPS101, issue 11).

- The numerator is checked: `tk / pk if tk != 0 else 0.0`, `if common == 0: continue` before `common / n`.
  A sub-count over its total (tp over tp + fp, an intersection over its union, matches over candidates) is 0
  whenever the total is, so testing the sub-count tests the total. Only counts qualify: an elementwise label or
  prediction says nothing about a reduction beside it.
- The quotient is asserted: `freq = table.sum(1) / nobs` then `assert np.allclose((freq * ...).sum(), 1)`. Every
  comparison with NaN is false, so an assert (or `if ...: raise`) on a value computed from a quotient by `d`
  rejects `d == 0` before the function returns; the same denominator elsewhere in the function is covered too.
"""

from __future__ import annotations

from lint_eps.lazy import libcst as cst
from lint_eps import match as m

from lint_eps.context import FileContext
from lint_eps.nodes import strip_parens
from lint_eps.walk import findall

from .denominators import operand_keys

# A check that lets NaN through: `assert not (r < 0).any()`, `assert r != 0`, `assert r is not None`. Class names
# (libcst's operator classes have no subclasses): nothing here reads libcst at import (`lint_eps.lazy`).
_NAN_PASSING = frozenset({"NotEqual", "Is", "IsNot", "In", "NotIn"})


def _rejects_nan(test: cst.BaseExpression) -> bool:
    test = strip_parens(test)
    if isinstance(test, cst.BooleanOperation):
        return isinstance(test.operator, cst.And) and (_rejects_nan(test.left) or _rejects_nan(test.right))
    if isinstance(test, cst.Comparison):
        return not any(type(c.operator).__name__ in _NAN_PASSING for c in test.comparisons)
    if isinstance(test, cst.Call):
        leaf = getattr(test.func, "attr", test.func)
        return isinstance(leaf, cst.Name) and leaf.value in ("allclose", "isclose", "isfinite", "all", "array_equal")
    return False


def _top_level_checks(function: cst.FunctionDef) -> list[cst.BaseExpression]:
    """Asserts and `if not ok: raise` in the function's own body: they run on every normal return."""
    body = function.body.body if isinstance(function.body, cst.IndentedBlock) else ()
    checks: list[cst.BaseExpression] = []
    for statement in body:
        if isinstance(statement, cst.SimpleStatementLine):
            checks.extend(s.test for s in statement.body if isinstance(s, cst.Assert) and _rejects_nan(s.test))
        elif isinstance(statement, cst.If) and statement.orelse is None and findall(statement.body, m.Raise()):
            # `if not ok: raise`: ok must be a NaN-rejecting check for the raise to catch NaN.
            test = strip_parens(statement.test)
            if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not) and _rejects_nan(test.expression):
                checks.append(test.expression)
    return checks


def asserted_quotient(function: cst.FunctionDef | None, keys: set[str], context: FileContext) -> bool:
    """Some top-level assert of `function` tests a value computed from a quotient by one of `keys`."""
    if function is None or not keys:
        return False
    checks = _top_level_checks(function)
    if not checks:
        return False
    tainted: set[str] = set()
    assigns = [a for a in findall(function, m.Assign()) if isinstance(a, cst.Assign)]
    for assign in assigns:
        for division in findall(assign.value, m.BinaryOperation(operator=m.Divide())):
            assert isinstance(division, cst.BinaryOperation)
            if operand_keys(division.right, context) & keys:
                for target in assign.targets:
                    tainted |= operand_keys(target.target, context)
    if not tainted:
        return False
    for _ in range(4):  # forward through the assignments that read a tainted value
        grown = set(tainted)
        for assign in assigns:
            if operand_keys(assign.value, context) & tainted:
                for target in assign.targets:
                    grown |= operand_keys(target.target, context)
        if grown == tainted:
            break
        tainted = grown
    return any(operand_keys(check, context) & tainted for check in checks)
