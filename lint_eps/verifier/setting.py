"""Findings about Keras's global settings (EPS401-EPS404), verified in the worker by what the setting does.

A bad global epsilon is not a function to call on edge cases: it changes the Keras losses and metrics that read
`keras.config.epsilon()`. So the flagged value is evaluated (in the module's namespace, after its import) and
Keras's own binary and categorical cross-entropy, MAPE, KL divergence and Poisson loss are run on saturated
inputs with it and with the default, side by side: a NaN or inf loss at p = 1, a floor of -log(1 - eps) on a
perfect prediction, a metric shifted by eps. EPS402 (set at import) is confirmed by the epsilon before and after
importing the module; EPS404 (`set_epsilon = 1e-4`, assigned instead of called) by calling the function that
assigns it and reading the epsilon and the setter back.
"""

from __future__ import annotations

import ast
import math
from typing import Any

from .probes import Lines, find_node

SETTING_CODES = ("EPS401", "EPS402", "EPS403", "EPS404")
RELATIVE_CHANGE = 0.01
# The epsilon before the user's module was imported (snapshot()), for EPS402.
BEFORE: dict[str, Any] = {}

# (loss, y_true, y_pred, what it shows): saturated predictions, right and wrong, and a zero label for MAPE.
EDGE_CASES: tuple[tuple[str, list[Any], list[Any]], ...] = (
    ("binary_crossentropy", [1.0], [1.0]),
    ("binary_crossentropy", [0.0], [1.0]),
    ("binary_crossentropy", [1.0], [0.0]),
    ("categorical_crossentropy", [[1.0, 0.0]], [[1.0, 0.0]]),
    ("categorical_crossentropy", [[1.0, 0.0]], [[0.0, 1.0]]),
    ("mean_absolute_percentage_error", [0.0], [1.0]),
    ("kl_divergence", [[1.0, 0.0]], [[0.0, 1.0]]),
    ("poisson", [1.0], [0.0]),
)


def snapshot() -> None:
    """Record Keras's epsilon before the user's module is imported."""
    import keras

    BEFORE["epsilon"] = keras.config.epsilon()


def _result(status: str, message: str, counterexample: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"status": status, "message": message, "counterexample": counterexample}


def _losses(keras: Any, epsilon: Any) -> list[tuple[str, float | str]]:
    """Each edge case's loss (a float, or the exception's text) with Keras's epsilon set to `epsilon`."""
    import numpy as np

    saved = keras.config.epsilon()
    keras.config.set_epsilon(epsilon)
    out: list[tuple[str, float | str]] = []
    try:
        for name, y_true, y_pred in EDGE_CASES:
            call = f"{name}(y_true={_text(y_true)}, y_pred={_text(y_pred)})"
            try:
                with np.errstate(all="ignore"):
                    value = getattr(keras.losses, name)(np.array(y_true, np.float32), np.array(y_pred, np.float32))
                out.append((call, float(np.mean(np.asarray(value, dtype=np.float64)))))
            except Exception as exc:  # noqa: BLE001 - a non-number epsilon makes Keras raise: that is the finding
                out.append((call, f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": ")))
    finally:
        keras.config.set_epsilon(saved)
    return out


def _text(values: list[Any]) -> str:
    flat = values[0] if len(values) == 1 else values
    return str(flat).replace(".0", "") if not isinstance(flat, list) else "[" + ", ".join(f"{v:g}" for v in flat) + "]"


def _changed(flagged: float | str, default: float | str) -> bool:
    if isinstance(flagged, str) or isinstance(default, str):
        return flagged != default
    if math.isfinite(flagged) != math.isfinite(default):
        return True
    if not math.isfinite(flagged):
        return False
    return abs(flagged - default) > RELATIVE_CHANGE * max(abs(default), 1e-300)


def _show(value: float | str) -> str:
    return value if isinstance(value, str) else f"{value:.3g}"


def compare(value: Any) -> dict[str, Any]:
    """The Keras losses at epsilon `value` against the default epsilon."""
    import keras

    default = BEFORE.get("epsilon", 1e-7)
    flagged, reference = _losses(keras, value), _losses(keras, default)
    changes = [(call, new, old) for (call, new), (_, old) in zip(flagged, reference) if _changed(new, old)]
    if not changes:
        return _result("not-reproduced", f"the Keras losses that read epsilon give the same values on saturated inputs with epsilon = {value!r} as with {default!r}")
    worst = sorted(changes, key=lambda c: (not isinstance(c[1], str) and math.isfinite(c[1])))  # failures first
    shown = "; ".join(f"{call} is {_show(new)} (with the default {default!r}: {_show(old)})" for call, new, old in worst[:3])
    more = f"; {len(changes) - 3} more" if len(changes) > 3 else ""
    call, new, old = worst[0]
    failure = f"{_show(new)} {call.split('(')[0]}"
    counterexample = {"dtype": "float32", "inputs": {"epsilon": repr(value), "call": call}, "failure": failure, "evidence": f"{_show(old)} with epsilon = {default!r}"}
    return _result("confirmed", f"with epsilon = {value!r}: {shown}{more}", counterexample)


def _epsilon_call(node: ast.AST | None) -> ast.Call | None:
    for item in ast.walk(node) if node is not None else ():
        if isinstance(item, ast.Call):
            func = item.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name == "set_epsilon" and (item.args or item.keywords):
                return item
    return None


def _statement(tree: ast.Module, row: int) -> ast.stmt | None:
    found = [n for n in ast.walk(tree) if isinstance(n, ast.stmt) and n.lineno <= row <= (n.end_lineno or n.lineno)]
    return min(found, key=lambda n: (n.end_lineno or n.lineno) - n.lineno) if found else None


def _evaluate(node: ast.expr, module: Any) -> Any:
    return eval(compile(ast.Expression(node), "<lint-eps>", "eval"), module.__dict__)  # noqa: S307 - the user's own expression, in the worker


def check_call(code: str, call: ast.Call, module: Any, source: str) -> dict[str, Any]:
    import keras

    argument = call.args[0] if call.args else call.keywords[0].value
    try:
        value = _evaluate(argument, module)
    except Exception as exc:  # noqa: BLE001
        return _result("error", f"cannot evaluate `{ast.get_source_segment(source, argument)}`: {type(exc).__name__}: {exc}")
    outcome = compare(value)
    if code != "EPS402":
        return outcome
    before, after = BEFORE.get("epsilon"), keras.config.epsilon()
    if before is None or before == after:
        return _result("not-reproduced", f"importing the module leaves keras.config.epsilon() at {after!r}; {outcome['message']}")
    prefix = f"importing the module changes keras.config.epsilon() from {before!r} to {after!r} for the whole process"
    return {**outcome, "status": "confirmed", "message": f"{prefix}; {outcome['message']}"}


def check_assignment(statement: ast.Assign, module: Any, function: str | None, source: str) -> dict[str, Any]:
    """EPS404: run what assigns the setter (the function, or the import did), then read epsilon and the setter."""
    import keras

    target = statement.targets[0]
    if not isinstance(target, ast.Attribute):
        return _result("skipped", "the assignment's target is not an attribute")
    try:
        owner = _evaluate(target.value, module)
    except Exception as exc:  # noqa: BLE001
        return _result("error", f"cannot evaluate `{ast.get_source_segment(source, target.value)}`: {type(exc).__name__}: {exc}")
    original = getattr(owner, target.attr, None)
    before = keras.config.epsilon()
    # The function may set other globals; Keras's epsilon is put back for the module's other functions.
    ran = ""
    if function:
        fn = getattr(module, function, None)
        if not callable(fn):
            return _result("skipped", f"`{function}` is not a module-level function")
        try:
            fn()
        except TypeError as exc:
            return _result("skipped", f"cannot call `{function}()` without arguments ({type(exc).__name__}: {exc})")
        ran = f"after `{function}()`, "
    setter = getattr(owner, target.attr, None)
    written = ast.get_source_segment(source, target) or target.attr
    try:
        if callable(setter):
            return _result("not-reproduced", f"{ran}`{written}` is still callable")
        try:
            setter(before)  # type: ignore[misc]
            raised = "nothing"
        except TypeError as exc:
            raised = f"TypeError: {exc}"
        after = keras.config.epsilon()
        still = "still " if after == before else ""
        message = (
            f"{ran}keras.config.epsilon() is {still}{after!r}, not the {setter!r} assigned; `{written}` is now a {type(setter).__name__}, "
            f"so a later `{written}(...)` raises {raised}"
        )
        return _result("confirmed", message, {"dtype": "float32", "inputs": {}, "failure": f"`{written}` replaced by {setter!r}", "evidence": f"epsilon {after!r}"})
    finally:
        if original is not None and callable(original):
            setattr(owner, target.attr, original)
        keras.config.set_epsilon(before)


def check_called(call: ast.Call, module: Any, function: str | None, source: str) -> dict[str, Any]:
    """EPS404 after its fix: the function calls the setter, so Keras's epsilon is the value the code gives."""
    import keras

    saved = keras.config.epsilon()
    try:
        intended = _evaluate(call.args[0] if call.args else call.keywords[0].value, module)
        fn = getattr(module, function) if function else None
        if fn is not None:
            fn()
        after = keras.config.epsilon()
    except Exception as exc:  # noqa: BLE001
        return _result("error", f"{type(exc).__name__}: {exc}")
    finally:
        keras.config.set_epsilon(saved)
    ran = f"after `{function}()`, " if function else ""
    if after == intended:
        return _result("not-reproduced", f"{ran}keras.config.epsilon() is {after!r}, the value `{ast.get_source_segment(source, call)}` gives")
    return _result("confirmed", f"{ran}keras.config.epsilon() is {after!r}, not the {intended!r} `{ast.get_source_segment(source, call)}` gives")


def verify(module: Any, module_file: str, source: str, target: dict[str, Any]) -> dict[str, Any]:
    """One result per finding of a setting target (kind "setting")."""
    tree = ast.parse(source, filename=module_file)
    lines = Lines(source)
    results = []
    for finding in target.get("findings") or []:
        code, span = finding["code"], tuple(finding["span"])
        statement = _statement(tree, span[0])
        call = _epsilon_call(find_node(tree, lines, span)) or _epsilon_call(statement)  # type: ignore[arg-type]
        if code == "EPS404" and isinstance(statement, ast.Assign):
            results.append(check_assignment(statement, module, target.get("attr") or None, source))
        elif code == "EPS404" and call is not None:  # the fixed source: the setter is called
            results.append(check_called(call, module, target.get("attr") or None, source))
        elif call is not None:
            results.append(check_call(code, call, module, source))
        else:
            results.append(_result("skipped", "not inside a function or class, and not a `set_epsilon(...)` call"))
    statuses = [r["status"] for r in results]
    first = next((r for r in results if r["status"] == "confirmed"), results[0] if results else _result("skipped", "nothing to verify"))
    return {**first, "status": "confirmed" if "confirmed" in statuses else first["status"], "findings": results}
