"""Edge-case inputs: which parameters to fill (from the signature) and the arrays to fill them with.

Runs in the worker. Arrays are built in float64 with NumPy and cast to each dtype by the framework adapter, so
`1 - 1e-7` becomes 0.99999988 in float32 and exactly 1 in float16, as it would in a real model. The order of
`cases()` is the order of "smallest": fewest elements first, then float32, float64, float16, bfloat16, then the
prediction and label kinds in the order listed below; the first failing case (in a dtype the code computes in,
and for a finding, one that breaks its flagged expression) is the counterexample reported.
"""

from __future__ import annotations

import inspect
import itertools
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import numpy as np

from lint_eps.rules.tables.roles import LABEL_PARAM_NAMES, LOGIT_PARAM_NAMES, PREDICTION_PARAM_NAMES

DTYPES = ("float32", "float64", "float16", "bfloat16")
# Prediction values (probabilities): exact 0 and 1, the smallest float32 subnormal, the float32 value just below 1.
PROBABILITIES: tuple[tuple[str, float | None], ...] = (
    ("0", 0.0),
    ("1", 1.0),
    ("1e-45", 1e-45),
    ("1-1e-7", 1 - 1e-7),
    ("0.5", 0.5),
    ("random(0,1)", None),
)
LOGITS: tuple[tuple[str, float | str | None], ...] = (
    ("+1e2", 100.0),
    ("-1e2", -100.0),
    ("+/-1e2", "alternating"),
    ("0", 0.0),
    ("random normal", None),
)
LABELS = ("zeros", "ones", "mixed", "one-hot")
COUNT_VALUES = (0.0, 1.0, 3.0)
CLASSES = 4  # the size of every axis after the batch axis
BATCHES = (1, 8)
RANKS = (1, 2, 3, 4)
# Scalar count parameters of a metric (`precision(tp, fp)`): filled with 0, 1 and 3.
COUNT_NAME = re.compile(
    r"^(tp|fp|fn|tn|true_pos\w*|false_pos\w*|true_neg\w*|false_neg\w*|n|count|counts|total|support|num_\w+|n_\w+)$"
)
SEED = 20240611


def is_logit_name(name: str) -> bool:
    return name in LOGIT_PARAM_NAMES or "logit" in name.lower()


@dataclass
class Plan:
    """How to call a function: which parameters get labels, predictions or counts; the rest keep defaults."""

    params: list[inspect.Parameter]
    label: str | None
    prediction: str | None
    logits: bool
    counts: tuple[str, ...]

    @property
    def filled(self) -> tuple[str, ...]:
        return tuple(n for n in (self.label, self.prediction) if n) + self.counts

    def call(self, fn: Callable[..., Any], values: dict[str, Any]) -> Any:
        args: list[Any] = []
        kwargs: dict[str, Any] = {}
        gap = False
        for p in self.params:
            if p.name not in values:
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL):
                    gap = True
                continue
            if p.kind == p.POSITIONAL_ONLY or (p.kind == p.POSITIONAL_OR_KEYWORD and not gap):
                args.append(values[p.name])
            else:
                kwargs[p.name] = values[p.name]
        return fn(*args, **kwargs)


def plan_for(signature: inspect.Signature, role: str | None, logits: bool | None = None, *, sole_input_logits: bool = False) -> Plan | str:
    """A Plan, or the reason (a string) why the parameters cannot be filled. With `sole_input_logits` (findings
    about exp overflowing: EPS5xx), a function of one tensor is fed logits: the finding's claim is about that input
    being large, which is what the logit grid (±1e2) tests."""
    params = list(signature.parameters.values())
    fillable = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if fillable and fillable[0].name in ("self", "cls"):
        return f"`{fillable[0].name}` is the first parameter: a method cannot be called on its own; name its class"
    required = [p for p in fillable if p.default is p.empty]
    positional = [p for p in fillable if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    label: str | None = None
    prediction: str | None = None
    if positional and positional[0].name in LABEL_PARAM_NAMES:
        label = positional[0].name
    for p in fillable:
        if p.name != label and (p.name in PREDICTION_PARAM_NAMES or is_logit_name(p.name)):
            prediction = p.name
            break
    if label is not None and prediction is None and len(positional) >= 2:
        prediction = positional[1].name
    required_positional = [p for p in required if p in positional]
    if sole_input_logits and label is None and prediction is None and len(required_positional) == 1 and len(required) == 1:
        prediction, logits = required_positional[0].name, True
    if label is None and prediction is None and role in ("loss", "metric") and len(required_positional) == 2:
        # Keras calls every loss and metric function as fn(y_true, y_pred), whatever the names.
        label, prediction = required_positional[0].name, required_positional[1].name
    if label is None:
        label = next((p.name for p in fillable if p.name in LABEL_PARAM_NAMES and p.name != prediction), None)
    counts = tuple(p.name for p in required if COUNT_NAME.match(p.name) and p.name not in (label, prediction))
    missing = [p.name for p in required if p.name not in (label, prediction, *counts)]
    if missing:
        names = ", ".join(f"`{m}`" for m in missing)
        return f"cannot fill parameter{'s' if len(missing) > 1 else ''} {names}: no default, and not a label, prediction or count"
    if prediction is None and not counts:
        return "no prediction parameter to fill (expected `(y_true, y_pred)` or a prediction-named parameter)"
    if logits is None:
        logits = prediction is not None and is_logit_name(prediction)
    return Plan(params, label, prediction, bool(logits), counts)


# -- arrays ----------------------------------------------------------------------------------------------
def shape_for(rank: int, batch: int) -> tuple[int, ...]:
    return (batch,) + (CLASSES,) * (rank - 1)


def parity(shape: tuple[int, ...]) -> np.ndarray:
    """0, 1, 0, 1, ... in reading order."""
    return (np.arange(int(np.prod(shape, dtype=np.int64))) % 2).astype(np.float64).reshape(shape)


def label_arrays(shape: tuple[int, ...]) -> list[tuple[str, np.ndarray]]:
    out: list[tuple[str, np.ndarray]] = []
    for kind in LABELS:
        if kind == "zeros":
            array = np.zeros(shape)
        elif kind == "ones":
            array = np.ones(shape)
        elif kind == "mixed":
            array = parity(shape)
        else:
            if len(shape) < 2:
                continue
            rows = int(np.prod(shape[:-1], dtype=np.int64))
            array = np.eye(shape[-1])[np.arange(rows) % shape[-1]].reshape(shape)
        if any(np.array_equal(array, seen) for _, seen in out):
            continue
        out.append((kind, array))
    return out


def prediction_arrays(shape: tuple[int, ...], logits: bool) -> list[tuple[str, np.ndarray]]:
    rng = np.random.default_rng(SEED)
    out: list[tuple[str, np.ndarray]] = []
    for kind, value in LOGITS if logits else PROBABILITIES:
        if value is None:
            array = rng.normal(0.0, 3.0, shape) if logits else rng.uniform(0.01, 0.99, shape)
        elif value == "alternating":
            array = np.where(parity(shape) == 1, 100.0, -100.0)
        else:
            array = np.full(shape, float(value))  # type: ignore[arg-type]
        out.append((kind, array))
    return out


@dataclass(frozen=True)
class Case:
    dtype: str
    values: dict[str, np.ndarray]
    described: dict[str, str]

    def inputs(self) -> dict[str, dict[str, Any]]:
        return {name: {"shape": list(self.values[name].shape), "values": self.described[name]} for name in self.values}

    def text(self) -> str:
        return ", ".join(f"{name} = {self.described[name]} {shape_text(self.values[name].shape)}" for name in self.values)


def shape_text(shape: tuple[int, ...]) -> str:
    return "(scalar)" if not shape else f"({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def benign_case(plan: Plan, shape: tuple[int, ...], dtype: str = "float32") -> Case:
    """Ordinary inputs, used to find the shapes and dtypes the function accepts."""
    values: dict[str, np.ndarray] = {}
    described: dict[str, str] = {}
    if plan.label:
        values[plan.label], described[plan.label] = parity(shape), "mixed"
    if plan.prediction:
        kind, array = prediction_arrays(shape, plan.logits)[-1]
        values[plan.prediction], described[plan.prediction] = array, kind
    for name in plan.counts:
        values[name], described[name] = np.array(3.0), "3"
    return Case(dtype, values, described)


def cases(plan: Plan, shapes: list[tuple[int, ...]], dtypes: tuple[str, ...]) -> Iterator[Case]:
    count_combos = list(itertools.product(COUNT_VALUES, repeat=len(plan.counts)))
    for shape in shapes:
        labels = label_arrays(shape) if plan.label else [("", None)]
        predictions = prediction_arrays(shape, plan.logits) if plan.prediction else [("", None)]
        for dtype in dtypes:
            for combo in count_combos:
                for pred_kind, pred in predictions:
                    for label_kind, label in labels:
                        values: dict[str, np.ndarray] = {}
                        described: dict[str, str] = {}
                        if plan.label and label is not None:
                            values[plan.label], described[plan.label] = label, label_kind
                        if plan.prediction and pred is not None:
                            values[plan.prediction], described[plan.prediction] = pred, pred_kind
                        for name, value in zip(plan.counts, combo):
                            values[name], described[name] = np.array(value), f"{value:g}"
                        yield Case(dtype, values, described)
