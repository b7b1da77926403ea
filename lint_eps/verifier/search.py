"""Beyond the fixed grid: Hypothesis searches the inputs of each kind and shrinks a failure to the smallest.

Runs in the worker, after the grid of edge cases (inputs.cases, the explicit examples) has left the function or
one of its findings without a counterexample. Each input is drawn from the values of its kind, edge values
first (0, 1, 1e-45, 1 - 1e-7 for probabilities; ±1e2, ±1e4 for logits and features; all-zero masks; integer
confusion matrices), in one shape and dtype; Hypothesis stops at the first input that `breaks`, then shrinks it
(fewer non-zero entries, simpler values) while it still breaks. Derandomized, so a run is reproducible.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from .inputs import CLASSES, Case, Plan

MAX_EXAMPLES = 100
PROBABILITY_EDGES = (0.0, 1.0, 1e-45, 1 - 1e-7, 0.5)
LOGIT_EDGES = (0.0, 100.0, -100.0, 1e4, -1e4)


def available() -> bool:
    try:
        import hypothesis  # noqa: F401
        import hypothesis.extra.numpy  # noqa: F401
    except ImportError:
        return False
    return True


def _strategies(plan: Plan, shape: tuple[int, ...]) -> dict[str, Any]:
    from hypothesis import strategies as st
    from hypothesis.extra import numpy as hnp

    def floats(edges: tuple[float, ...], low: float, high: float) -> Any:
        return st.one_of(st.sampled_from(edges), st.floats(low, high, allow_nan=False, width=32))

    out: dict[str, Any] = {}
    for name, kind in plan.kinds.items():
        if kind.name == "mask":
            out[name] = hnp.arrays(np.float64, shape, elements=st.sampled_from((0.0, 1.0)))
        elif kind.name == "confusion":
            out[name] = hnp.arrays(np.float64, (CLASSES, CLASSES), elements=st.integers(0, 20).map(float))
        elif kind.name == "features":
            out[name] = hnp.arrays(np.float64, shape, elements=floats(LOGIT_EDGES, -1e4, 1e4))
        elif kind.name == "params":
            leaves = {key: (CLASSES, CLASSES) if matrix else (CLASSES,) for key, matrix in kind.keys}
            out[name] = st.fixed_dictionaries({key: hnp.arrays(np.float64, s, elements=st.floats(-10, 10, width=32)) for key, s in leaves.items()})
    for name in plan.counts:
        out[name] = st.integers(0, 5).map(lambda v: np.array(float(v)))
    if plan.prediction:
        edges, low, high = (LOGIT_EDGES, -1e4, 1e4) if plan.logits else (PROBABILITY_EDGES, 0.0, 1.0)
        out[plan.prediction] = hnp.arrays(np.float64, shape, elements=floats(edges, low, high))
    if plan.label:
        if plan.label_index:
            rows = shape[:-1] if len(shape) > 1 else shape
            out[plan.label] = hnp.arrays(np.float64, rows, elements=st.integers(0, CLASSES - 1).map(float))
        else:
            out[plan.label] = hnp.arrays(np.float64, shape, elements=st.sampled_from((0.0, 1.0)))
    return out


def _describe(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k!r}: {_describe(v)}" for k, v in value.items()) + "}"
    text = np.array2string(np.asarray(value), separator=", ", threshold=32, max_line_width=10**6, formatter={"float_kind": lambda v: f"{v:g}"})
    return " ".join(text.split())


def _case(plan: Plan, dtype: str, values: dict[str, Any]) -> Case:
    kept = {}
    for name, kind in plan.kinds.items():
        if kind.name == "mask" and not plan.float_masks:
            kept[name] = "bool"
        elif kind.name == "confusion":
            kept[name] = "int64"
    if plan.label and plan.label_index:
        kept[plan.label] = "int64"
    order = [n for n in (plan.label, plan.prediction, *plan.counts, *plan.kinds) if n in values]
    return Case(dtype, {n: values[n] for n in order}, {n: f"searched {_describe(values[n])}" for n in order}, kept)


def search(plan: Plan, shape: tuple[int, ...], dtype: str, breaks: Callable[[Case], bool]) -> tuple[Case | None, int]:
    """The smallest case that `breaks`, or None; and how many cases were tried."""
    from hypothesis import HealthCheck, find, settings
    from hypothesis import strategies as st
    from hypothesis.errors import NoSuchExample

    strategies = _strategies(plan, shape)
    if not strategies:
        return None, 0
    tried = 0

    def predicate(case: Case) -> bool:
        nonlocal tried
        tried += 1
        return breaks(case)

    strategy = st.fixed_dictionaries(strategies).map(lambda values: _case(plan, dtype, values))
    config = settings(max_examples=MAX_EXAMPLES, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    try:
        return find(strategy, predicate, settings=config), tried
    except NoSuchExample:
        return None, tried
