"""Model-level findings (EPS301, EPS302, EPS303): the claim is about a model and its loss, so verify that.

Runs in the worker, for a flagged function that cannot be fed `(y_true, y_pred)`:

- Keras: a builder (`build_classifier()`) is called with the arguments `arguments.calls` infers, and must return
  a compiled Keras model. Its last layer with weights (the head) is set to output confident logits ±a (kernel 0,
  bias ±a, labels 1/0), the model runs on a small random batch, and the compiled loss (`model.compute_loss`, what
  `fit` and `evaluate` report) is compared with the exact loss of the head's pre-activation output (the same Keras
  loss with `from_logits=True`), with the gradient of each wrt the head's kernel.
- PyTorch: a training step (`train_step(model, batch, optimizer)`) is called with a linear head whose logits are
  exactly -a and +a for labels 0 and 1 (one-hot rows and a·I for a multi-class loss), an SGD optimizer with
  learning rate 0, and the loss it returns is compared with the exact loss of those logits
  (`binary_cross_entropy_with_logits` / `cross_entropy`); the gradient is the one its own `backward()` left on
  the head's weight.

a runs over LOGITS, first with the labels the logits predict (a confident, right model), then with the other labels
(confident mistakes, where a clipped or saturated loss stops growing and its gradient vanishes); the first case
where the reported loss is off by more than 1%, or its gradient is 0 where the exact one is not, is the
counterexample.
"""

from __future__ import annotations

import math
import re
import warnings
from typing import Any, Callable

import numpy as np

from . import arguments
from .checks import describe, result

MODEL_CODES = ("EPS301", "EPS302", "EPS303")
LOGITS = (5.0, 10.0, 20.0, 30.0)  # 5: the rules' documented example; Keras's probability clip shows from a ≈ 16
TOLERANCE = 0.01
BATCH = 2
SEED = 20240611
BATCH_NAMES = re.compile(r"^(batch|data|minibatch|sample|example|batch_data)$")
INPUT_NAMES = re.compile(r"^(x|xb|inputs?|features|images?|data_x)$")
TARGET_NAMES = re.compile(r"^(y|yb|targets?|labels?|y_true|data_y)$")
OPTIMIZER_NAMES = re.compile(r"^(opt|optim|optimizer|optimiser)$")


def applies(target: dict[str, Any]) -> bool:
    return any(str(f.get("code", "")).startswith(MODEL_CODES) for f in target.get("findings") or [])


def verify(adapter: Any, fn: Callable[..., Any], target: dict[str, Any], texts: list[str]) -> dict[str, Any] | None:
    """The outcome of a builder or training step holding a model-level finding (None: not one this adapter
    builds); `texts` are the flagged source of the target's findings, which say a binary or a multi-class loss."""
    if adapter.name == "tensorflow":
        outcome = _keras_builder(fn)
    elif adapter.name == "torch":
        outcome = _torch_step(adapter.torch, fn, is_binary(texts))
    else:
        return None
    if outcome.pop("no_model", False) and not applies(target):
        return None  # a function named on the command line that is no model builder or step: say why it was skipped before
    each = {k: outcome[k] for k in ("status", "message", "counterexample")}
    other = result("skipped", "not a model-level finding, and the function has no prediction parameter to fill")
    return {**outcome, "findings": [each if str(f["code"]).startswith(MODEL_CODES) else other for f in target.get("findings") or []]}


def is_binary(texts: list[str]) -> bool:
    """Whether the flagged source says a binary loss (a sigmoid, BCE), so that the head gets one unit; else a
    multi-class one (SIZE classes). With nothing flagged (a named function), binary."""
    return any(re.search(r"bce|binary|sigmoid", t, re.IGNORECASE) for t in texts) or not texts


def _no_model(message: str) -> dict[str, Any]:
    """Skipped: the function neither builds a model nor trains one (a named function may be anything)."""
    return {**result("skipped", message), "no_model": True}


# -- comparing ------------------------------------------------------------------------------------------------
Row = tuple[float, bool, float, float, float | None, float]


def judge(rows: list[Row], labels: tuple[str, str], head: str, notes: list[str], built: str, shapes: dict[str, Any], wrt: str = "the last layer's kernel") -> dict[str, Any]:
    """rows: (a, labels wrong?, reported loss, exact loss, max |gradient| of each wrt `wrt`, the head's kernel; None:
    the code computes no gradient), right labels first. `labels`: how the right and the wrong labels are set;
    `shapes`: of the input and the logits, for the counterexample. Also exact_loss.py's report."""
    for a, wrong, reported, exact, grad, exact_grad in rows:
        off = not math.isfinite(reported) or abs(reported - exact) > TOLERANCE * abs(exact)
        stalled = grad is not None and (grad == 0 < exact_grad or not math.isfinite(grad))
        if not (off or stalled):
            continue
        factor = f" ({reported / exact:.3g}x)" if math.isfinite(reported) and exact > 0 and reported > 2 * exact else ""
        if grad is None:
            gradient = "is not computed by the code"
        else:
            gradient = "is 0" if grad == 0 else f"max |g| {grad:.2g}" if math.isfinite(grad) else f"is {'nan' if math.isnan(grad) else 'inf'}"
        failure = f"reported loss {reported:.5g}, exact loss {exact:.5g}{factor}"
        message = (
            f"{failure} at logits ±{a:g} ({labels[wrong]}; {head}, float32); gradient wrt {wrt} {gradient} "
            f"(exact loss: max |g| {exact_grad:.2g}); {built}"
        )
        inputs = logit_inputs(shapes, a, labels[wrong])
        return result("confirmed", "; ".join([message, *notes]), {"dtype": "float32", "inputs": inputs, "failure": failure})
    a, _, reported, exact, _, _ = rows[0]
    swept = ", ".join(f"±{r[0]:g}" for r in rows if not r[1])
    message = (
        f"reported loss equals the exact loss from the logits at {swept}, with right and with wrong labels "
        f"({reported:.5g} = {exact:.5g} at ±{a:g}; {labels[0]}; {head}, float32); {built}"
    )
    return result("not-reproduced", "; ".join([message, *notes]))


def logit_inputs(shapes: dict[str, Any], a: float, setting: str) -> dict[str, Any]:
    return {
        "x": {"shape": shapes["x"], "values": shapes.get("x values", "random normal")},
        "logits": {"shape": shapes["logits"], "values": f"±{a:g} ({setting.split(';')[0]})"},
    }


def _warned(caught: list[warnings.WarningMessage]) -> list[str]:
    seen = dict.fromkeys(" ".join(str(w.message).split()) for w in caught if issubclass(w.category, UserWarning) and "tf.data" not in str(w.message))
    return [f"the framework warned: {text[:200]}" for text in seen]


# -- Keras ----------------------------------------------------------------------------------------------------
def _loss_kind(loss: Any) -> str | None:
    name = loss if isinstance(loss, str) else getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
    key = str(name).lower().replace("_", "")
    if "sparsecategorical" in key:
        return "sparse"
    if "categorical" in key:
        return "categorical"
    if "binary" in key or key == "bce":
        return "binary"
    return None


def _exact_loss(keras: Any, loss: Any, kind: str) -> Any:
    """The compiled loss with `from_logits=True` (keeping its other settings), or the plain cross-entropy."""
    if not isinstance(loss, str) and hasattr(loss, "get_config"):
        try:
            config = loss.get_config()
            if "from_logits" in config:
                return type(loss).from_config({**config, "from_logits": True})
        except Exception:  # noqa: BLE001 - fall back to the plain cross-entropy
            pass
    classes = {"binary": keras.losses.BinaryCrossentropy, "categorical": keras.losses.CategoricalCrossentropy, "sparse": keras.losses.SparseCategoricalCrossentropy}
    return classes[kind](from_logits=True)


def _head(model: Any) -> Any | str:
    """The last layer with a kernel and a bias, when only weightless layers (activations) follow it."""
    for layer in reversed(model.layers):
        if getattr(layer, "kernel", None) is not None:
            if getattr(layer, "bias", None) is None:
                return f"the last layer `{layer.name}` has no bias to set its logits with"
            return layer
        if layer.weights:
            return f"the last layer with weights, `{layer.name}` ({type(layer).__name__}), has no kernel"
    return "the model has no layer with a kernel"


def _build(fn: Callable[..., Any]) -> tuple[Any, str] | dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        built = arguments.build(fn)
    if isinstance(built, arguments.Failure):
        if built.raised:
            return result("error", f"building the model with {built.message}")
        return _no_model(f"no prediction parameter to fill, and cannot build the model: {built.message}")
    return built[0], f"model built by {built[1]}"


def _keras_builder(fn: Callable[..., Any]) -> dict[str, Any]:
    import keras
    import tensorflow as tf

    built = _build(fn)
    if isinstance(built, dict):
        return built
    obj, text = built
    candidates = list(obj) if isinstance(obj, (tuple, list)) else list(obj.values()) if isinstance(obj, dict) else [obj]
    model = next((c for c in candidates if isinstance(c, keras.Model)), None)
    if model is None:
        return _no_model(f"{text.replace('model built by ', '')} returned {type(obj).__name__}, not a Keras model: no model to check")
    loss = getattr(model, "loss", None)
    if loss is None:
        return result("skipped", f"the model is not compiled: no loss to compare ({text})")
    kind = _loss_kind(loss)
    if kind is None:
        return result("skipped", f"the compiled loss `{loss if isinstance(loss, str) else type(loss).__name__}` is not a cross-entropy ({text})")
    head = _head(model)
    if isinstance(head, str):
        return result("skipped", f"{head} ({text})")
    try:
        inputs = [keras.ops.convert_to_tensor(np.random.default_rng(SEED).normal(size=(BATCH, *[d or 8 for d in i.shape[1:]])), "float32") for i in model.inputs]
        activation = getattr(head, "activation", None)
        head.activation = keras.activations.linear
        try:
            logits_model = keras.Model(model.inputs, head.output)
        finally:
            if activation is not None:
                head.activation = activation
    except Exception as exc:  # noqa: BLE001
        return result("skipped", f"cannot run the model on a batch ({describe(exc)}; {text})")
    exact_loss = _exact_loss(keras, loss, kind)
    units = int(head.bias.shape[-1])
    if kind != "binary" and units < 2:
        return result("skipped", f"a {kind} cross-entropy on a head of {units} unit: not a classifier to check ({text})")
    x = inputs[0] if len(inputs) == 1 else inputs
    caught: list[warnings.WarningMessage] = []
    rows = []
    head.kernel.assign(tf.zeros_like(head.kernel))
    for wrong in (False, True):
        for a in LOGITS:
            if kind == "binary":  # confident predictions of both labels, right (1 at +a) or wrong
                settings = [(np.full(units, a), float(not wrong)), (np.full(units, -a), float(wrong))]
            else:  # class 0 at +a, the others at 0; the label is class 0, or class 1
                settings = [(np.eye(units)[0] * a, int(wrong))]
            totals = np.zeros(4)  # reported, exact, and the max |gradient| of each
            for bias, label in settings:
                head.bias.assign(tf.constant(bias, head.bias.dtype))
                totals += _keras_losses(keras, tf, model, logits_model, head, exact_loss, x, kind, label, caught)
            rows.append((a, wrong, *(totals / len(settings))))
    if kind == "binary":
        labels = ("labels 1/0", "labels 0/1: confident mistakes")
    else:
        labels = (f"label 0 of {units}", f"label 1 of {units}: a confident mistake")
    notes = _warned(caught)
    if getattr(getattr(head, "activation", None), "__name__", "") in ("sigmoid", "softmax"):
        notes.append(f"the {head.activation.__name__} is a Keras activation: its output carries its logits, which Keras 3 on TensorFlow reads back (not on the JAX or torch backends)")
    if keras.config.epsilon() != 1e-7:  # a global set by the code (EPS401/EPS402) changes the clip
        notes.insert(0, f"keras.config.epsilon() is {keras.config.epsilon():g} here, not the default 1e-07")
    shapes = {"x": [BATCH, *[d or 8 for d in model.inputs[0].shape[1:]]], "logits": [BATCH, *[d or 8 for d in model.outputs[0].shape[1:]]]}
    return judge(rows, labels, f"the last layer `{head.name}` set to output them", notes, text, shapes)  # type: ignore[arg-type]


def _keras_losses(keras: Any, tf: Any, model: Any, logits_model: Any, head: Any, exact_loss: Any, x: Any, kind: str, label: float, caught: list[Any]) -> list[float]:
    """The compiled loss and the exact loss of the logits, and the max |gradient| of each wrt the head's kernel."""
    with warnings.catch_warnings(record=True) as record:
        warnings.simplefilter("always")
        with tf.GradientTape() as tape:
            y_pred = model(x, training=False)
            y = _labels(tf, y_pred, kind, label)
            reported = model.compute_loss(x=x, y=y, y_pred=y_pred)
        grad = tape.gradient(reported, head.kernel)
    caught.extend(record)
    activation = getattr(head, "activation", None)
    head.activation = keras.activations.linear
    try:
        with tf.GradientTape() as tape:
            logits = logits_model(x, training=False)
            exact = exact_loss(y, logits) + sum(model.losses, tf.constant(0.0))
        exact_grad = tape.gradient(exact, head.kernel)
    finally:
        head.activation = activation
    return [float(reported), float(exact), max_abs(grad), max_abs(exact_grad)]


def _labels(tf: Any, y_pred: Any, kind: str, label: float) -> Any:
    """Binary: every output is `label`; categorical/sparse: every row is class `label`."""
    shape = tf.shape(y_pred)
    if kind == "binary":
        return tf.fill(shape, tf.constant(label, y_pred.dtype))
    classes = tf.fill(shape[:-1], tf.constant(int(label), tf.int32))
    return tf.one_hot(classes, shape[-1], dtype=y_pred.dtype) if kind == "categorical" else classes


def max_abs(grad: Any) -> float:
    if grad is None:
        return 0.0
    array = np.asarray(grad.numpy() if hasattr(grad, "numpy") else grad, dtype=np.float64)
    if np.isnan(array).any():
        return math.nan
    return float(np.max(np.abs(array))) if array.size else 0.0


# -- PyTorch --------------------------------------------------------------------------------------------------
def step_roles(fn: Callable[..., Any]) -> dict[str, str] | str:
    """What each required parameter of a training step holds ("model", "batch", "x", "y", "optimizer"), or why `fn`
    is not one: a parameter none of these, or no model to give logits. Shared with steps.py, whose function-level
    checks fill a training step the same way."""
    import inspect

    name = getattr(fn, "__name__", "the function")
    try:
        parameters = [p for p in inspect.signature(fn).parameters.values() if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    except (TypeError, ValueError) as exc:
        return f"no signature to read ({describe(exc)})"
    roles = {}
    for p in parameters:
        lower = p.name.lower()
        role = (
            "model" if arguments.MODULE_NAME.match(lower) else "batch" if BATCH_NAMES.match(lower) else "x" if INPUT_NAMES.match(lower)
            else "y" if TARGET_NAMES.match(lower) else "optimizer" if OPTIMIZER_NAMES.match(lower) else None
        )
        if role is None:
            return f"`{p.name}` of {name} is not a model, a batch, inputs, targets or an optimizer"
        roles[p.name] = role
    if "model" not in roles.values():
        return f"{name} takes no model to give confident logits"
    return roles


def step_arguments(torch: Any, roles: dict[str, str], a: float, binary: bool, wrong: bool) -> tuple[dict[str, Any], Any, Any, Any]:
    """The keyword arguments of one call of a training step whose model is a linear head with logits ±a
    (`_torch_head`), its batch `(x, y)` and an SGD optimizer with learning rate 0: (kwargs, head, x, y)."""
    head, x, y = _torch_head(torch, a, binary, wrong)
    values = {"model": head, "batch": (x, y), "x": x, "y": y, "optimizer": torch.optim.SGD(head.parameters(), lr=0.0)}
    return {p: values[role] for p, role in roles.items()}, head, x, y


def step_call(fn: Callable[..., Any], roles: dict[str, str]) -> str:
    """The call as the messages write it: `train_step(model=Linear head, batch=(x, y), optimizer=SGD(lr=0))`."""
    return f"{getattr(fn, '__name__', 'the function')}({', '.join(f'{p}={_TORCH_WORDS[role]}' for p, role in roles.items())})"


def _torch_step(torch: Any, fn: Callable[..., Any], binary: bool) -> dict[str, Any]:
    roles = step_roles(fn)
    if isinstance(roles, str):
        return result("skipped", roles) if roles.startswith("no signature") else _no_model(f"no prediction parameter to fill, and {roles}")
    labels = step_labels(binary)
    call = step_call(fn, roles)
    rows: list[Row] = []
    for wrong in (False, True):
        for a in LOGITS:
            kwargs, head, x, y = step_arguments(torch, roles, a, binary, wrong)
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    returned = fn(**kwargs)
            except RuntimeError as exc:
                if "between 0 and 1" in str(exc):  # F.binary_cross_entropy given logits outside [0, 1]
                    failure = describe(exc)
                    inputs = logit_inputs(step_shapes(x, binary), a, labels[wrong])
                    return result("confirmed", f"{failure} at logits ±{a:g} ({labels[wrong]}, float32); {call}", {"dtype": "float32", "inputs": inputs, "failure": failure})
                return result("error", f"{call} raised {describe(exc)}")
            reported = scalar(torch, returned)
            if reported is None:
                return result("skipped", f"{call} returned {type(returned).__name__}, not the loss: nothing to compare")
            grad = max_abs(head.weight.grad.detach().numpy()) if head.weight.grad is not None else None
            # The exact loss: the framework's with-logits loss on the same float32 logits (what the fix computes).
            weight = head.weight.detach().clone().requires_grad_(True)
            logits = torch.nn.functional.linear(x, weight, head.bias.detach())
            exact = torch.nn.functional.binary_cross_entropy_with_logits(logits, y) if binary else torch.nn.functional.cross_entropy(logits, y)
            (exact_grad,) = torch.autograd.grad(exact, [weight])
            rows.append((a, wrong, reported, float(exact), grad, max_abs(exact_grad.numpy())))
    return judge(rows, labels, "a linear head set to output them", [], call, step_shapes(x, binary))


def step_labels(binary: bool) -> tuple[str, str]:
    """How the right and the wrong labels of `_torch_head` are set, in words."""
    if binary:
        return ("labels 1/0", "labels 0/1: confident mistakes")
    return (f"label i at class i of {arguments.SIZE}", f"label i+1 at class i of {arguments.SIZE}: confident mistakes")


def step_shapes(x: Any, binary: bool) -> dict[str, Any]:
    """The shapes of `_torch_head`'s batch and logits, for a counterexample (`logit_inputs`)."""
    units = 1 if binary else arguments.SIZE
    return {"x": list(x.shape), "logits": [int(x.shape[0]), units], "x values": "-1/+1 in feature 0, else 0" if binary else "one-hot rows"}


def _torch_head(torch: Any, a: float, binary: bool, wrong: bool) -> tuple[Any, Any, Any]:
    """A linear head and a batch whose logits are -a/+a (binary: row 0 at -a, row 1 at +a; multi-class: row i at +a
    for class i), with the labels those logits predict, or (`wrong`) the others."""
    units = 1 if binary else arguments.SIZE
    head = torch.nn.Linear(arguments.SIZE, units)
    with torch.no_grad():
        head.bias.zero_()
        if binary:
            head.weight.zero_()
            head.weight[0, 0] = a
            x = torch.zeros(BATCH, arguments.SIZE)
            x[:, 0] = torch.tensor([-1.0, 1.0])
            y = torch.tensor([[1.0], [0.0]]) if wrong else torch.tensor([[0.0], [1.0]])
        else:
            head.weight.copy_(torch.eye(arguments.SIZE) * a)
            x = torch.eye(arguments.SIZE)
            y = (torch.arange(arguments.SIZE) + int(wrong)) % arguments.SIZE
    return head, x, y


_TORCH_WORDS = {"model": "Linear head", "batch": "(x, y)", "x": "x", "y": "y", "optimizer": "SGD(lr=0)"}


def scalar(torch: Any, value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if torch.is_tensor(value) and value.numel() == 1 and value.is_floating_point():
        return float(value.detach())
    return None
