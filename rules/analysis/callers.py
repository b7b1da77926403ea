"""Guards in the caller (EPS101, issue 11): a private helper that is only ever called on checked inputs.

`_mean_tweedie_deviance(y_true, y_pred)` divides by `y_pred`; its callers in the module raise unless
`y_pred > 0` before calling it (or first call a function of the module that does). A division by one of the
helper's parameters is guarded when every call site in the module guards the argument passed for it:

- an `if`/`assert`/`if ...: raise|return` before the call, or an `if` around it, tests that argument (or a value
  it was computed from), or
- an earlier call in the caller passes that value to a function of the module that raises on a test of the
  corresponding parameter (a validating public wrapper called first).

Only private (`_name`) module-level helpers: a public function can be called from anywhere, unguarded. A helper
with no call site in the module keeps its findings.
"""

from __future__ import annotations

import libcst as cst
import libcst.matchers as m

from lint_eps.context import FileContext
from lint_eps.nodes import strip_parens
from lint_eps.scope import Scope
from lint_eps.walk import findall

from .denominators import operand_keys


def _functions(context: FileContext) -> dict[str, cst.FunctionDef]:
    cached = context.shared.get("callers.functions")
    if cached is None:
        cached = {s.name.value: s for s in context.module.body if isinstance(s, cst.FunctionDef)}
        context.shared["callers.functions"] = cached
    return cached  # type: ignore[return-value]


def _tested_keys(test: cst.BaseExpression, context: FileContext) -> set[str]:
    from ..division import test_keys  # the same reading of a condition as the in-function guards

    return test_keys(test, context)


def _checks_before(caller: cst.FunctionDef, call: cst.Call, context: FileContext) -> set[str]:
    """Values the caller tests before `call` (exits) or around it (enclosing `if`)."""
    scope = Scope(caller)
    order = scope.order_of(call)
    keys: set[str] = set()
    for node in findall(caller, m.If() | m.Assert() | m.IfExp()):
        if isinstance(node, cst.Assert):
            if (scope.order_of(node) or 0) < (order or 0):
                keys |= _tested_keys(node.test, context)
            continue
        around = any(c is call for c in findall(node.body, m.Call()))
        exits = isinstance(node, cst.If) and findall(node.body, m.Raise() | m.Return())
        if around or (exits and (scope.order_of(node) or 0) < (order or 0)):
            keys |= _tested_keys(node.test, context)
    return keys


def _validated_params(function: cst.FunctionDef, context: FileContext) -> set[str]:
    """Parameters of `function` tested by an `if ...: raise` (a validating wrapper)."""
    params = {p.name.value for p in function.params.params}
    keys: set[str] = set()
    for node in findall(function, m.If()):
        assert isinstance(node, cst.If)
        if findall(node.body, m.Raise()):
            keys |= _tested_keys(node.test, context)
    return keys & params


def _argument(call: cst.Call, helper: cst.FunctionDef, param: str) -> cst.BaseExpression | None:
    names = [p.name.value for p in helper.params.params]
    for index, a in enumerate(call.args):
        if a.keyword is not None:
            if a.keyword.value == param:
                return a.value
        elif a.star == "" and index < len(names) and names[index] == param:
            return a.value
    return None


def _value_keys(value: cst.BaseExpression, caller: cst.FunctionDef, call: cst.Call, context: FileContext) -> set[str]:
    """The argument's values, and one step back through a local it was assigned from."""
    keys = operand_keys(value, context)
    bare = strip_parens(value)
    if isinstance(bare, cst.Name):
        binding = Scope(caller).reaching_binding(bare)
        if binding is not None and binding.value is not None:
            keys |= operand_keys(binding.value, context)
    return keys


def _site_guarded(helper: cst.FunctionDef, caller: cst.FunctionDef, call: cst.Call, params: set[str], context: FileContext) -> bool:
    checked = _checks_before(caller, call, context)
    functions = _functions(context)
    scope = Scope(caller)
    order = scope.order_of(call) or 0
    earlier = [c for c in findall(caller, m.Call(func=m.Name())) if isinstance(c, cst.Call) and (scope.order_of(c) or 0) < order]
    for param in params:
        value = _argument(call, helper, param)
        if value is None:
            return False
        keys = _value_keys(value, caller, call, context)
        if keys & checked:
            continue
        validated = False
        for other in earlier:
            validator = functions.get(other.func.value)  # type: ignore[attr-defined]
            if validator is None or validator is helper:
                continue
            for tested in _validated_params(validator, context):
                passed = _argument(other, validator, tested)
                if passed is not None and operand_keys(passed, context) & keys:
                    validated = True
        if not validated:
            return False
    return True


def guarded_by_callers(helper: cst.FunctionDef, keys: set[str], context: FileContext) -> bool:
    """Every call of the private helper in the module guards the arguments behind `keys`."""
    sites = call_sites(helper, keys, context)
    return bool(sites) and all(guarded for _, _, guarded in sites)


def unguarded_call(helper: cst.FunctionDef, keys: set[str], context: FileContext) -> tuple[cst.FunctionDef, cst.Call] | None:
    """A call site of the helper that does not guard (the finding at the helper names it: issue 11)."""
    for caller, call, guarded in call_sites(helper, keys, context):
        if not guarded:
            return caller, call
    return None


def call_sites(helper: cst.FunctionDef, keys: set[str], context: FileContext) -> list[tuple[cst.FunctionDef, cst.Call, bool]]:
    """Each direct call of the private module-level helper from a module-level function, and whether it guards
    the arguments behind `keys`; empty when the helper is public or used in ways that cannot be checked."""
    name = helper.name.value
    if not name.startswith("_") or name.startswith("__") or _functions(context).get(name) is not helper:
        return []
    params = keys & {p.name.value for p in helper.params.params}
    if not params:
        return []
    key = f"callers.sites.{id(helper)}.{sorted(params)}"
    if key in context.shared:
        return context.shared[key]  # type: ignore[return-value]
    sites = []
    for caller in _functions(context).values():
        if caller is helper:
            continue
        for call in findall(caller, m.Call(func=m.Name(name))):
            sites.append((caller, call))
    found: list[tuple[cst.FunctionDef, cst.Call, bool]] = []
    if sites and f"{name}" not in _other_uses(context, name, len(sites)):
        found = [(caller, call, _site_guarded(helper, caller, call, params, context)) for caller, call in sites]  # type: ignore[misc]
    context.shared[key] = found
    return found


def _other_uses(context: FileContext, name: str, calls: int) -> set[str]:
    """{name} when the helper is used other than by a direct call from a module-level function (passed as a
    value, called from a method or from the module body): those uses cannot be checked."""
    uses = len([n for n in findall(context.module, m.Name(name))]) - 1  # minus the def's own name
    return {name} if uses != calls else set()
