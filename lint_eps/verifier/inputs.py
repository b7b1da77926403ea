"""Edge-case inputs: which parameters to fill (from the signature, kinds.py for those beyond labels,
predictions and counts, given.py for what the user gives) and the arrays to fill them with.

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
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Iterator

import numpy as np

from lint_eps.rules.tables.roles import LABEL_PARAM_NAMES, LOGIT_PARAM_NAMES, PREDICTION_PARAM_NAMES

from .given import INPUTS_FUNCTION
from .kinds import Kind, by_name, is_feature, read

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
    """How to call a function: which parameters get labels, predictions, counts or another kind (kinds.Kind);
    the rest keep their defaults. `label_index`: labels are class indices (int64, one axis fewer), for code that
    gathers or indexes with them; `float_masks`: masks are 0.0/1.0 rather than booleans."""

    params: list[inspect.Parameter]
    label: str | None
    prediction: str | None
    logits: bool
    counts: tuple[str, ...]
    kinds: dict[str, Kind] = field(default_factory=dict)
    label_index: bool = False
    float_masks: bool = False

    @property
    def filled(self) -> tuple[str, ...]:
        return tuple(n for n in (self.label, self.prediction) if n) + self.counts + tuple(self.kinds)

    @property
    def arrays(self) -> tuple[str, ...]:
        """The parameters filled with varied arrays (the others are given or fixed)."""
        return tuple(n for n in self.filled if n not in self.kinds or self.kinds[n].name != "fixed")

    @property
    def shaped(self) -> bool:
        """Whether some input takes the case's shape (a confusion matrix and counts have their own)."""
        return bool(self.label or self.prediction or any(k.name in ("mask", "features", "params") for k in self.kinds.values()))

    @property
    def gradient(self) -> str | None:
        """The input the gradient is taken with respect to: the prediction, else the first float tensor."""
        if self.prediction:
            return self.prediction
        return next((n for n, k in self.kinds.items() if k.name == "features"), None)

    def variants(self) -> list["Plan"]:
        """This plan and the encodings to try when it is not accepted: index labels, float masks."""
        out = [self]
        if self.label:
            out.append(replace(self, label_index=True))
        if any(k.name == "mask" for k in self.kinds.values()):
            out.extend([replace(p, float_masks=True) for p in list(out)])
        return out

    def call(self, fn: Callable[..., Any], values: dict[str, Any]) -> Any:
        values = {**{n: k.value for n, k in self.kinds.items() if k.name == "fixed"}, **values}
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


def _missing_text(missing: list[str]) -> str:
    names = ", ".join(f"`{m}`" for m in missing)
    return (
        f"cannot fill parameter{'s' if len(missing) > 1 else ''} {names}: no default, and not a label, prediction, count, mask, "
        f"confusion matrix or tensor by name; give {'them' if len(missing) > 1 else 'it'} in `{INPUTS_FUNCTION}()`"
    )


def plan_for(
    signature: inspect.Signature,
    role: str | None,
    logits: bool | None = None,
    *,
    sole_input_logits: bool = False,
    fn: Callable[..., Any] | None = None,
    given: dict[str, Any] | None = None,
) -> Plan | str:
    """A Plan, or the reason (a string) why the parameters cannot be filled. With `sole_input_logits` (findings
    about exp overflowing: EPS5xx), a function of one tensor is fed logits: the finding's claim is about that input
    being large, which is what the logit grid (±1e2) tests. `given` (from `lint_eps_inputs()`) fixes parameters
    by name; `fn` is read for the keys of a `params` dict."""
    params = list(signature.parameters.values())
    fillable = [p for p in params if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if fillable and fillable[0].name in ("self", "cls"):
        return f"`{fillable[0].name}` is the first parameter: a method cannot be called on its own; name its class"
    fixed = {n: Kind("fixed", value=v) for n, v in (given or {}).items() if n in signature.parameters}
    special = {p.name: Kind(k) for p in fillable if p.name not in fixed and p.default is p.empty and (k := by_name(p))}
    free = [p for p in fillable if p.name not in fixed and p.name not in special]
    required = [p for p in free if p.default is p.empty]
    positional = [p for p in free if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    label: str | None = None
    prediction: str | None = None
    if positional and positional[0].name in LABEL_PARAM_NAMES:
        label = positional[0].name
    for p in free:
        if p.name != label and (p.name in PREDICTION_PARAM_NAMES or is_logit_name(p.name)):
            prediction = p.name
            break
    if label is not None and prediction is None and len(positional) >= 2:
        prediction = positional[1].name
    required_positional = [p for p in required if p in positional]
    if sole_input_logits and label is None and prediction is None and len(required_positional) == 1 and len(required) == 1 and not special:
        prediction, logits = required_positional[0].name, True
    if (
        label is None
        and prediction is None
        and role in ("loss", "metric")
        and len(required_positional) == 2
        and not any(is_feature(p) for p in required_positional)
    ):
        # Keras calls every loss and metric function as fn(y_true, y_pred), whatever the names.
        label, prediction = required_positional[0].name, required_positional[1].name
    if label is None:
        label = next((p.name for p in free if p.name in LABEL_PARAM_NAMES and p.name != prediction), None)
    counts = tuple(p.name for p in required if COUNT_NAME.match(p.name) and p.name not in (label, prediction))
    rest = [p for p in required if p.name not in (label, prediction, *counts)]
    kinds: dict[str, Kind] = {**fixed, **special, **read(fn, rest).kinds}
    missing = [p.name for p in rest if p.name not in kinds]
    if missing:
        return _missing_text(missing)
    if prediction is None and not counts and not any(k.name != "fixed" for k in kinds.values()):
        return "no prediction parameter to fill (expected `(y_true, y_pred)` or a prediction-named parameter)"
    if logits is None:
        logits = prediction is not None and is_logit_name(prediction)
    return Plan(params, label, prediction, bool(logits), counts, kinds)


# -- arrays ----------------------------------------------------------------------------------------------
def shape_for(rank: int, batch: int) -> tuple[int, ...]:
    return (batch,) + (CLASSES,) * (rank - 1)


def parity(shape: tuple[int, ...]) -> np.ndarray:
    """0, 1, 0, 1, ... in reading order."""
    return (np.arange(int(np.prod(shape, dtype=np.int64))) % 2).astype(np.float64).reshape(shape)


Option = tuple[str, Any, "str | None"]  # description, array (or {key: array}), dtype it keeps (None: the case's)


def label_arrays(shape: tuple[int, ...], index: bool = False) -> list[tuple[str, np.ndarray]]:
    if index:  # class indices: the shape without its class axis
        rows = shape[:-1] if len(shape) > 1 else shape
        size = int(np.prod(rows, dtype=np.int64))
        mixed = (np.arange(size) % (shape[-1] if len(shape) > 1 else 2)).reshape(rows)
        return [("class 0", np.zeros(rows)), ("class 1", np.ones(rows)), ("mixed classes", mixed.astype(np.float64))]
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


def confusion_arrays() -> list[tuple[str, np.ndarray]]:
    """Square non-negative integer matrices: empty, a class never in the labels (its row all zero), a class in
    neither labels nor predictions (row and column zero), and ordinary counts."""
    base = np.ones((CLASSES, CLASSES)) + 2 * np.eye(CLASSES)
    row = base.copy()
    row[-1, :] = 0
    absent = row.copy()
    absent[:, -1] = 0
    counts = np.random.default_rng(SEED).integers(1, 10, (CLASSES, CLASSES)).astype(np.float64)
    return [("zeros", np.zeros((CLASSES, CLASSES))), (f"row {CLASSES - 1} zero", row), (f"class {CLASSES - 1} absent", absent), ("counts", counts)]


def kind_options(plan: Plan, name: str, shape: tuple[int, ...]) -> list[Option]:
    """The values of a parameter of another kind than label, prediction or count (kinds.Kind)."""
    kind = plan.kinds[name]
    if kind.name == "mask":
        dtype = None if plan.float_masks else "bool"
        return [(k, a, dtype) for k, a in (("zeros", np.zeros(shape)), ("ones", np.ones(shape)), ("mixed", parity(shape)))]
    if kind.name == "confusion":
        return [(k, a, "int64") for k, a in confusion_arrays()]
    if kind.name == "features":
        # Any sign and size: the logits' grid, and ±1e4 for values that reach exp() through small weights.
        grid = [(k, a, None) for k, a in prediction_arrays(shape, True)]
        return grid[:-1] + [("+1e4", np.full(shape, 1e4), None), ("-1e4", np.full(shape, -1e4), None)] + grid[-1:]
    if kind.name == "params":
        leaves = {key: (CLASSES, CLASSES) if matrix else (CLASSES,) for key, matrix in kind.keys}
        rng = np.random.default_rng(SEED)
        return [
            ("ones", {key: np.ones(s) for key, s in leaves.items()}, None),
            ("random normal", {key: rng.normal(0.0, 1.0, s) for key, s in leaves.items()}, None),
        ]
    return []


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
    values: dict[str, Any]  # name -> float64 array, or {key: array} for a params dict
    described: dict[str, str]
    kept: dict[str, str] = field(default_factory=dict)  # name -> the dtype it keeps whatever the case's ("bool", "int64")

    def dtype_of(self, name: str) -> str:
        return self.kept.get(name, self.dtype)

    def inputs(self) -> dict[str, dict[str, Any]]:
        return {name: {"shape": _shape(self.values[name]), "values": self.described[name]} for name in self.values}

    def text(self) -> str:
        return ", ".join(f"{name} = {self.described[name]} {_shape_text(self.values[name])}".rstrip() for name in self.values)


def _shape(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: list(np.shape(v)) for k, v in value.items()}
    return list(np.shape(value))


def _shape_text(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {shape_text(np.shape(v))}" for k, v in value.items()) + "}"
    return shape_text(np.shape(value))


def shape_text(shape: tuple[int, ...]) -> str:
    return "(scalar)" if not shape else f"({', '.join(map(str, shape))}{',' if len(shape) == 1 else ''})"


def _options(plan: Plan, shape: tuple[int, ...]) -> list[tuple[str, list[Option]]]:
    """Every varied parameter with its values, outermost first: other kinds, counts, prediction, label."""
    grids: list[tuple[str, list[Option]]] = []
    for name, kind in plan.kinds.items():
        if kind.name != "fixed":
            grids.append((name, kind_options(plan, name, shape)))
    for name in plan.counts:
        grids.append((name, [(f"{v:g}", np.array(v), None) for v in COUNT_VALUES]))
    if plan.prediction:
        grids.append((plan.prediction, [(k, a, None) for k, a in prediction_arrays(shape, plan.logits)]))
    if plan.label:
        grids.append((plan.label, [(k, a, "int64" if plan.label_index else None) for k, a in label_arrays(shape, plan.label_index)]))
    return grids


def _case(plan: Plan, dtype: str, chosen: list[tuple[str, Option]]) -> Case:
    # Inputs are listed as the function's users read them: label, prediction, counts, then the rest.
    order = [n for n in (plan.label, plan.prediction, *plan.counts, *plan.kinds) if n]
    chosen = sorted(chosen, key=lambda c: order.index(c[0]))
    values = {name: option[1] for name, option in chosen}
    described = {name: option[0] for name, option in chosen}
    kept = {name: option[2] for name, option in chosen if option[2]}
    return Case(dtype, values, described, kept)


def benign_case(plan: Plan, shape: tuple[int, ...], dtype: str = "float32") -> Case:
    """Ordinary inputs, used to find the shapes and dtypes the function accepts: the last value of each grid
    (random predictions, mixed labels, counts of 3, ordinary confusion counts, ...)."""
    chosen = []
    for name, options in _options(plan, shape):
        if name == plan.label:
            pick = next((o for o in options if o[0] in ("mixed", "mixed classes")), options[-1])
        else:
            pick = options[-1]
        chosen.append((name, pick))
    return _case(plan, dtype, chosen)


def cases(plan: Plan, shapes: list[tuple[int, ...]], dtypes: tuple[str, ...]) -> Iterator[Case]:
    for shape in shapes:
        grids = _options(plan, shape)
        for dtype in dtypes:
            for combo in itertools.product(*[options for _, options in grids]):
                yield _case(plan, dtype, [(name, option) for (name, _), option in zip(grids, combo)])
