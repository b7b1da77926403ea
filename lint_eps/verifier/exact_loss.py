"""A function-level EPS301 (probabilities passed as logits): the loss it returns against the exact loss of its logits.

`optax.sigmoid_binary_cross_entropy(jax.nn.sigmoid(x @ w), y)` applies a second sigmoid: the loss stays finite and
its gradient too, so the edge-case grid sees nothing; the claim is a wrong value. It is checked the way the
model-level check checks a training step (models.py, whose comparison and report this reuses): the logits, the
flagged loss's prediction taken back through its sigmoid (`x @ params["w"]`, read from the source and evaluated
by itself), are driven to exactly ±a (features at +a in one row and -a in the other, every matrix of `params` the
identity, every other key 0), the labels set to those the logits predict (then the others), and the loss the
function returns is compared with the exact binary cross-entropy of those logits (the framework's with-logits
loss on them, what the fix computes), with the gradient of each wrt the features. After the fix, the loss gets the logits themselves and the two agree.

Runs in the worker, after the function's usual checks, for a binary (sigmoid) loss whose logits can be driven so:
the function's other parameters must be labels, the prediction, features or a params dict.
"""

from __future__ import annotations

import ast
import copy
import math
from typing import Any

import numpy as np

from . import arguments, models, probes
from .checks import Subject, describe, result
from .inputs import Case

CODES = ("EPS301",)
ROWS = 2


def amend(adapter: Any, subject: Subject, target: dict[str, Any], watch: probes.Instrumented | None, outcome: dict[str, Any]) -> dict[str, Any]:
    """`outcome` with each unconfirmed EPS301 finding decided by comparing losses, where its logits can be driven."""
    if watch is None or not outcome.get("findings"):
        return outcome
    findings = list(outcome["findings"])
    for index, spec in enumerate(target.get("findings") or []):
        if not str(spec["code"]).startswith(CODES):
            continue
        old = findings[index]
        if old["status"] == "confirmed" and (old.get("counterexample") or {}).get("evidence"):
            continue  # a NaN/inf made by the flagged expression itself: kept
        decided = _compare(adapter, subject, target, watch, tuple(spec["span"]))
        if decided is not None:  # the claim's own check decides, over a loss floor the grid may have found
            findings[index] = decided
    return {**outcome, "findings": findings}


def _logits(watch: probes.Instrumented, attr: str, span: tuple[int, int, int, int]) -> tuple[ast.expr, str, bool] | None:
    """The logits of the flagged loss call (local names replaced by what they were assigned before it, so that it
    reads only parameters), how the source writes them, and whether a sigmoid was applied to them first."""
    tree = ast.parse(watch.lines.text)
    definition = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name == attr), None)
    node = probes.find_node(definition, watch.lines, span) if definition is not None else None
    prediction = _prediction(node) if isinstance(node, ast.Call) else None
    if definition is None or prediction is None:
        return None
    assigned: dict[str, ast.expr] = {}
    for statement in ast.walk(definition):
        if isinstance(statement, ast.Assign) and len(statement.targets) == 1 and isinstance(statement.targets[0], ast.Name) and statement.lineno < node.lineno:
            if statement.targets[0].id not in assigned or assigned[statement.targets[0].id].lineno < statement.lineno:
                assigned[statement.targets[0].id] = statement.value

    def resolve(expression: ast.expr, depth: int = 0) -> ast.expr:
        if isinstance(expression, ast.Name) and expression.id in assigned and depth < 8:
            return resolve(assigned[expression.id], depth + 1)
        return _Inline(lambda name: resolve(name, depth + 1) if depth < 8 else name).visit(expression)

    value = assigned.get(prediction.id, prediction) if isinstance(prediction, ast.Name) else prediction
    through = isinstance(value, ast.Call) and "sigmoid" in (_callee(value) or "") and bool(value.args)
    written = value.args[0] if through else prediction  # type: ignore[attr-defined]
    shown = ast.get_source_segment(watch.lines.text, written) or ast.unparse(written)
    logits = resolve(written)
    if ast.unparse(logits) != ast.unparse(written):
        shown = f"{shown}` = `{ast.unparse(logits)}"
    return logits, shown, through


class _Inline(ast.NodeTransformer):
    """Replaces every name read by what `resolve` gives for it (in this module's own parse of the source)."""

    def __init__(self, resolve: Any) -> None:
        self.resolve = resolve

    def visit_Name(self, node: ast.Name) -> ast.expr:
        return self.resolve(node) if isinstance(node.ctx, ast.Load) else node


def _prediction(call: ast.Call) -> ast.expr | None:
    """The argument of a loss call that holds the predictions: `logits=`/`input=`/`y_pred=` by keyword, else the
    second positional one of a Keras-style `(y_true, y_pred)` loss (`binary_crossentropy`, a loss object), else the
    first (`sigmoid_binary_cross_entropy(logits, labels)`, `binary_cross_entropy_with_logits(input, target)`)."""
    for keyword in call.keywords:
        if keyword.arg in ("logits", "input", "y_pred", "output", "predictions"):
            return keyword.value
    inner = call.func.func if isinstance(call.func, ast.Call) else call  # `BinaryCrossentropy(...)(y, p)`
    name = (_callee(inner) or "").lower()
    keras_style = inner is not call or "crossentropy" in name.replace("_", "").replace("crossentropywithlogits", "")
    index = 1 if keras_style and "cross_entropy" not in name else 0
    return call.args[index] if len(call.args) > index else None


def _callee(call: ast.Call) -> str | None:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None


def _inputs(subject: Subject, a: float, wrong: bool) -> dict[str, Any] | str:
    """The float64 inputs with features ±a, identity matrices and labels (rows of 1/0, or 0/1 when `wrong`)."""
    plan = subject.plan
    values: dict[str, Any] = {}
    for name in plan.arrays:
        kind = plan.kinds.get(name)
        if name == plan.label:
            continue
        if name == plan.prediction or (kind is not None and kind.name == "features"):
            values[name] = np.concatenate([np.full((1, arguments.SIZE), a), np.full((1, arguments.SIZE), -a)])
        elif kind is not None and kind.name == "params":
            values[name] = {key: np.eye(arguments.SIZE) if matrix else np.zeros(arguments.SIZE) for key, matrix in kind.keys}
        else:
            return f"`{name}` is not labels, features or a params dict"
    return values


def _compare(adapter: Any, subject: Subject, target: dict[str, Any], watch: probes.Instrumented, span: tuple[int, int, int, int]) -> dict[str, Any] | None:
    found = _logits(watch, target["attr"], span)
    plan = subject.plan
    if found is None or plan.label is None or adapter.name not in _EXACT:
        return None
    expression, shown, through_sigmoid = found
    if any(isinstance(n, ast.Name) and n.id == plan.label for n in ast.walk(expression)):
        return None  # the labels, not logits: the prediction argument was not found
    code = compile(ast.fix_missing_locations(ast.Expression(copy.deepcopy(expression))), watch.filename, "eval")
    namespace = getattr(watch.obj, "__globals__", {})

    def logits_of(tensors: dict[str, Any]) -> Any:
        return eval(code, namespace, tensors)  # noqa: S307 - the user's own expression, in the worker

    def exact_loss(tensors: dict[str, Any]) -> Any:
        return _EXACT[adapter.name](adapter, logits_of(tensors), tensors[plan.label])
    features = plan.prediction or next((n for n, k in plan.kinds.items() if k.name == "features"), None)
    rows: list[models.Row] = []
    for wrong in (False, True):
        for a in models.LOGITS:
            values = _inputs(subject, a, wrong)
            if isinstance(values, str):
                return None
            try:
                logits = adapter.numeric(logits_of(adapter.tensors(_case(values))))
            except Exception:  # noqa: BLE001 - it reads a local other than the parameters: not checked this way
                return None
            if logits is None or logits.ndim != 2 or not np.allclose(np.abs(logits), a):
                return None  # the logits are not ±a with identity weights: another model than `x @ w`
            labels = (logits > 0).astype(np.float64) if not wrong else (logits < 0).astype(np.float64)
            case = _case({**values, plan.label: labels})
            try:
                outputs, grad = adapter.evaluate(subject.call, case, features)
                exact_outputs, exact_grad = adapter.evaluate(exact_loss, case, features)
            except Exception as exc:  # noqa: BLE001
                return result("error", f"comparing the loss with the exact loss of `{shown}` raised {describe(exc)}")
            reported = float(np.mean([np.mean(o) for o in outputs])) if outputs else math.nan
            exact = float(np.mean([np.mean(o) for o in exact_outputs]))
            rows.append((a, wrong, reported, exact, models.max_abs(grad) if grad is not None else None, models.max_abs(exact_grad)))
    sigmoid = "a sigmoid of " if through_sigmoid else ""
    matrices = [f'{p}["{k}"]' for p, kind in plan.kinds.items() if kind.name == "params" for k, matrix in kind.keys if matrix]
    head = f"the loss gets {sigmoid}`{shown}`, driven there by {features} = +a/-a rows" + (f" and {', '.join(matrices)} = identity" if matrices else "")
    shapes = {"x": [ROWS, arguments.SIZE], "logits": [ROWS, arguments.SIZE], "x values": "+a in row 0, -a in row 1"}
    call = f"{target['attr']}({', '.join(p.name for p in plan.params)})"
    return models.judge(rows, ("labels 1/0", "labels 0/1: confident mistakes"), head, [], call, shapes, wrt=features or "the features")


def _case(values: dict[str, Any]) -> Case:
    return Case("float32", values, {name: "" for name in values})


def _jax_exact(adapter: Any, logits: Any, labels: Any) -> Any:
    jax, jnp = adapter.jax, adapter.jnp
    return jnp.mean(jax.nn.softplus(-logits) * labels + jax.nn.softplus(logits) * (1 - labels))


def _torch_exact(adapter: Any, logits: Any, labels: Any) -> Any:
    return adapter.torch.nn.functional.binary_cross_entropy_with_logits(logits, labels)


def _tf_exact(adapter: Any, logits: Any, labels: Any) -> Any:
    tf = adapter.tf
    return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=labels, logits=logits))


# The exact binary cross-entropy of logits in each framework, the with-logits loss the fix computes: its value and
# its gradient are the reference.
_EXACT = {"jax": _jax_exact, "torch": _torch_exact, "tensorflow": _tf_exact}
