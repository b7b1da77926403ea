"""The checks, run in the worker: non-finite outputs, non-finite gradients, and the loss precision floor.

Each framework adapter turns the float64 master arrays into that framework's tensors in a given dtype, calls
the user's function and hands back the outputs (and the gradient with respect to the prediction argument) as
float64 NumPy arrays. Every value comes from the user's own code path; nothing is re-implemented here.
"""

from __future__ import annotations

import inspect
import math
import sys
import time
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from . import arguments, probes, search
from .given import INPUTS_FUNCTION
from .inputs import BATCHES, DTYPES, RANKS, SEED, Case, Plan, benign_case, cases, parity, plan_for, shape_for, shape_text

# A case that raises one of these is a numerical failure (a Python-float division by zero, np.seterr(all="raise")).
NUMERIC_EXCEPTIONS = (ZeroDivisionError, FloatingPointError, OverflowError)
FLOOR_SWEEP = range(0, 41)
FLOOR_TOLERANCE = 0.01
FLOOR_CLAIM = "the function keeps the loss floor of a clipped probability, which is EPS303's finding (probability-loss-floor), not this one's"
BUDGET_SHARE = 0.6  # of the time limit, for the edge cases (the rest: the precision floor, the report)


def describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    if len(text) > 300:
        text = text[:297] + "..."
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# -- adapters --------------------------------------------------------------------------------------------
class Adapter:
    name = ""
    dtypes: tuple[str, ...] = DTYPES
    gradient_skip: str | None = None  # why gradients are not checked with this adapter
    sigmoids: tuple[str, ...] = ()  # how the floor sweep makes probabilities, first is the default
    batches: tuple[int, ...] = BATCHES  # batch sizes of the shapes tried

    def tensor(self, array: np.ndarray, dtype: str) -> Any:
        raise NotImplementedError

    def tensors(self, case: Case) -> dict[str, Any]:
        """The case's inputs as this framework's tensors: floats in the case's dtype, masks and class indices in
        their own, a params dict leaf by leaf."""
        out: dict[str, Any] = {}
        for name, value in case.values.items():
            dtype = case.dtype_of(name)
            out[name] = {k: self.tensor(a, dtype) for k, a in value.items()} if isinstance(value, dict) else self.tensor(value, dtype)
        return out

    def evaluate(self, call: Callable[[dict[str, Any]], Any], case: Case, grad_name: str | None) -> tuple[list[np.ndarray], np.ndarray | None]:
        raise NotImplementedError

    def sigmoid(self, x: np.ndarray, variant: str) -> Any:
        raise NotImplementedError

    def numeric(self, value: Any) -> np.ndarray | None:
        if isinstance(value, (bool, int, float, complex, np.generic, np.ndarray)):
            try:
                return np.asarray(value, dtype=np.float64) if not np.iscomplexobj(value) else np.abs(np.asarray(value))
            except (TypeError, ValueError):
                return None
        return None

    def flatten(self, value: Any) -> list[np.ndarray]:
        if value is None or isinstance(value, (str, bytes)):
            return []
        if isinstance(value, dict):
            return [a for v in value.values() for a in self.flatten(v)]
        if isinstance(value, (list, tuple)):
            return [a for v in value for a in self.flatten(v)]
        array = self.numeric(value)
        return [] if array is None else [array]


class NumpyAdapter(Adapter):
    name = "numpy"
    dtypes = ("float32", "float64", "float16")
    gradient_skip = "NumPy has no autodiff"
    sigmoids = ("sigmoid",)

    def tensor(self, array: np.ndarray, dtype: str) -> Any:
        return array.astype(np.dtype(dtype))

    def evaluate(self, call, case, grad_name):
        tensors = self.tensors(case)
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = call(tensors)
            return self.flatten(out), None

    def sigmoid(self, x, variant):
        x32 = x.astype(np.float32)
        with np.errstate(all="ignore"):
            return (np.float32(1) / (np.float32(1) + np.exp(-x32))).astype(np.float32)


class TensorFlowAdapter(Adapter):
    name = "tensorflow"
    sigmoids = ("tf.sigmoid", "keras.activations.sigmoid")

    def __init__(self) -> None:
        import tensorflow as tf

        self.tf = tf
        # tf.function bodies run eagerly, so that the probes of a finding see values, not symbolic tensors.
        tf.config.run_functions_eagerly(True)
        tf.random.set_seed(SEED)

    def tensor(self, array, dtype):
        tf = self.tf
        return tf.cast(tf.constant(array, tf.float64), getattr(tf, dtype))

    def numeric(self, value):
        tf = self.tf
        if isinstance(value, (tf.Tensor, tf.Variable)):
            if value.dtype.is_floating:
                return np.asarray(tf.cast(value, tf.float64).numpy())
            if value.dtype.is_complex:
                return np.abs(value.numpy()).astype(np.float64)
            if value.dtype.is_integer or value.dtype.is_bool:
                return np.zeros(())
            return None
        return super().numeric(value)

    def evaluate(self, call, case, grad_name):
        tf = self.tf
        tensors = self.tensors(case)
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            with tf.GradientTape() as tape:
                if grad_name:
                    tape.watch(tensors[grad_name])
                out = call(tensors)
            outputs = self.flatten(out)
            grad = None
            if grad_name:
                targets = [t for t in tf.nest.flatten(out) if isinstance(t, (tf.Tensor, tf.Variable)) and t.dtype.is_floating]
                if targets:
                    g = tape.gradient(targets, tensors[grad_name])
                    if g is not None:
                        grad = np.asarray(tf.cast(tf.convert_to_tensor(g), tf.float64).numpy())
        return outputs, grad

    def sigmoid(self, x, variant):
        tf = self.tf
        logits = tf.constant(x, tf.float32)
        if variant == "keras.activations.sigmoid":
            import keras

            return keras.activations.sigmoid(logits)
        return tf.sigmoid(logits)


class TorchAdapter(Adapter):
    name = "torch"
    sigmoids = ("torch.sigmoid",)

    def __init__(self) -> None:
        import torch

        self.torch = torch
        # A module's weights are drawn when the verifier builds it: the same weights, the same counterexample.
        torch.manual_seed(SEED)

    def tensor(self, array, dtype):
        return self.torch.tensor(array, dtype=getattr(self.torch, dtype))

    def numeric(self, value):
        if self.torch.is_tensor(value):
            value = value.detach()
            if value.is_floating_point():
                return value.to(self.torch.float64).cpu().numpy()
            return np.zeros(())
        return super().numeric(value)

    def evaluate(self, call, case, grad_name):
        torch = self.torch
        tensors = self.tensors(case)
        if grad_name:
            tensors[grad_name].requires_grad_(True)
        out = call(tensors)
        outputs = self.flatten(out)
        grad = None
        if grad_name:
            stack = [out]
            targets = []
            while stack:
                item = stack.pop()
                if isinstance(item, dict):
                    stack.extend(item.values())
                elif isinstance(item, (list, tuple)):
                    stack.extend(item)
                elif torch.is_tensor(item) and item.is_floating_point() and item.requires_grad:
                    targets.append(item.sum())
            if targets:
                (g,) = torch.autograd.grad(sum(targets), [tensors[grad_name]], allow_unused=True)
                if g is not None:
                    grad = g.detach().to(torch.float64).numpy()
        return outputs, grad

    def sigmoid(self, x, variant):
        return self.torch.sigmoid(self.torch.tensor(x, dtype=self.torch.float32))


class JaxAdapter(Adapter):
    name = "jax"
    sigmoids = ("jax.nn.sigmoid",)
    # Run op by op (for the probes), every primitive is compiled again for each new shape and dtype (~0.1 s
    # each): one batch size keeps a function's shapes to its ranks.
    batches = (1,)

    def __init__(self) -> None:
        import jax
        import jax.numpy as jnp

        self.jax, self.jnp = jax, jnp
        self.gradients: dict[tuple[int, str], tuple[Any, Any]] = {}
        if not jax.config.read("jax_enable_x64"):  # without it, float64 arrays are silently float32
            self.dtypes = tuple(d for d in DTYPES if d != "float64")

    def tensor(self, array, dtype):
        return self.jnp.asarray(array, dtype=getattr(self.jnp, "bool_" if dtype == "bool" else dtype))

    def numeric(self, value):
        if isinstance(value, self.jax.Array):
            return np.asarray(value.astype(self.jnp.float32) if value.dtype == self.jnp.bfloat16 else value, dtype=np.float64)
        return super().numeric(value)

    def evaluate(self, call, case, grad_name):
        jax, jnp = self.jax, self.jnp
        tensors = self.tensors(case)
        with jax.disable_jit():  # jitted code runs op by op, so that the probes of a finding see values
            out = call(tensors)
        grad = None
        if grad_name:

            def total(p: Any, rest: dict[str, Any]) -> Any:
                leaves = jax.tree_util.tree_leaves(call({**rest, grad_name: p}))
                floats = [jnp.sum(x) for x in leaves if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)]
                return sum(floats) if floats else jnp.zeros(())

            rest = {n: t for n, t in tensors.items() if n != grad_name}
            # Compiled once per function and shape (op by op, a gradient costs ~0.1 s); code that cannot be
            # traced (Python branches on values) gets the op-by-op gradient.
            cached = self.gradients.get((id(call), grad_name))
            if cached is None or cached[0] is not call:
                cached = self.gradients[id(call), grad_name] = (call, jax.jit(jax.grad(total)))
            try:
                value = cached[1](tensors[grad_name], rest)
            except jax.errors.JAXTypeError:
                value = jax.grad(total)(tensors[grad_name], rest)
            grad = np.asarray(value, dtype=np.float64)
        return self.flatten(jax.tree_util.tree_leaves(out)), grad

    def sigmoid(self, x, variant):
        return self.jax.nn.sigmoid(self.jnp.asarray(x, dtype=self.jnp.float32))


ADAPTERS = {"numpy": NumpyAdapter, "tensorflow": TensorFlowAdapter, "torch": TorchAdapter, "jax": JaxAdapter}


# -- results ---------------------------------------------------------------------------------------------
def result(status: str, message: str, counterexample: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"status": status, "message": message, "counterexample": counterexample}


def nonfinite(arrays: list[np.ndarray]) -> str | None:
    if any(np.isnan(a).any() for a in arrays):
        return "nan"
    if any(np.isinf(a).any() for a in arrays):
        return "inf"
    return None


@dataclass
class Subject:
    """One thing to verify: a call taking {parameter: tensor}, and how to talk about it."""

    call: Callable[[dict[str, Any]], Any]
    plan: Plan
    role: str | None  # "loss" | "metric" | None
    differentiable: bool
    output_word: str = "output"  # "result" for Metric subclasses
    before_update: Callable[[], Any] | None = None  # Metric.result() on a fresh instance
    notes: list[str] = field(default_factory=list)


@dataclass
class Hit:
    """The first failing case of one kind: the failure, the inputs, and what it did to a flagged expression."""

    dtype: str
    inputs: dict[str, Any]
    where: str  # " with y_true = zeros (1,), ..." or " (result() on a fresh instance)"
    failure: str
    evidence: str | None = None

    def counterexample(self) -> dict[str, Any]:
        data: dict[str, Any] = {"dtype": self.dtype, "inputs": self.inputs, "failure": self.failure}
        if self.evidence:
            data["evidence"] = self.evidence
        return data

    def text(self) -> str:
        return f"{self.failure}{self.where}" + (f"; {self.evidence} there" if self.evidence else "")


@dataclass
class Tally:
    """The first hit in a dtype the code uses and the first in one it does not."""

    used: Hit | None = None
    other: Hit | None = None

    def note(self, hit: Hit, used: bool) -> None:
        if used and self.used is None:
            self.used = hit
        elif not used and self.other is None:
            self.other = hit


def _case_hit(case: Case, failure: str) -> Hit:
    text = case.text()
    return Hit(case.dtype, case.inputs(), f" with {text} in {case.dtype}" if text else f" in {case.dtype}", failure)


def hit_result(hit: Hit, used: bool) -> dict[str, Any]:
    if used:
        return result("confirmed", hit.text(), hit.counterexample())
    return result(
        "unused-dtype",
        f"only in {hit.dtype}, which this code does not compute in (--dtypes {hit.dtype} counts it): {hit.text()}",
        hit.counterexample(),
    )


def _evidence(finding: probes.Finding, trigger: str) -> str:
    return f"`{finding.text}` {trigger}"


def verify(
    adapter: Adapter, subject: Subject, used_dtypes: tuple[str, ...] = DTYPES, watch: probes.Instrumented | None = None, budget: float | None = None
) -> dict[str, Any]:
    """The function's outcome, and with `watch` one outcome per finding ("findings"), each with its own
    counterexample: the first case that both breaks the function and triggers that finding's expression."""
    findings = watch.findings if watch is not None else []
    recorder = watch.recorder if watch is not None else None
    tallies = [Tally() for _ in findings]
    function = Tally()
    outcome = _verify(adapter, subject, used_dtypes, watch, function, tallies, None if budget is None else time.monotonic() + budget)
    if not findings:
        return outcome
    outcome["findings"] = [finding_result(f, t, function, outcome, recorder) for f, t in zip(findings, tallies)]  # type: ignore[arg-type]
    return outcome


def finding_result(finding: probes.Finding, tally: Tally, function: Tally, outcome: dict[str, Any], recorder: probes.Recorder) -> dict[str, Any]:
    if not finding.code.startswith(probes.VALUE_CODES):
        return result("skipped", f"{finding.code} is about a setting, not a value this function computes: running it shows nothing")
    if finding.node is None:
        return result("skipped", "cannot find the flagged expression in the source that ran")
    if tally.used is not None:
        return hit_result(tally.used, True)
    floor = outcome.get("floor")
    if finding.code.startswith("EPS3") and floor:
        return {k: v for k, v in floor.items() if k in ("status", "message", "counterexample")}
    if tally.other is not None:
        return hit_result(tally.other, False)
    if outcome["status"] in ("error", "skipped"):
        return {k: v for k, v in outcome.items() if k in ("status", "message", "counterexample")}
    if not probes.evaluated(finding, recorder):
        return result("not-reproduced", f"`{finding.text}` never gave a value to check (not reached, or compiled code); {outcome['message']}")
    if function.used is None and outcome.get("floor"):
        # What the function still shows is the floor of a clipped probability: another rule's claim, not this one's.
        return result("not-reproduced", f"no failing case triggers `{finding.text}`; {FLOOR_CLAIM}: {outcome['message']}")
    if function.used is not None or function.other is not None:
        return result("not-reproduced", f"no failing case triggers `{finding.text}`; the function itself: {outcome['status']}: {outcome['message']}")
    return result("not-reproduced", outcome["message"])


def _verify(
    adapter: Adapter, subject: Subject, used_dtypes: tuple[str, ...], watch: probes.Instrumented | None, function: Tally, tallies: list[Tally], deadline: float | None
) -> dict[str, Any]:
    plan = subject.plan
    notes = list(subject.notes)
    findings = watch.findings if watch is not None else []
    recorder = watch.recorder if watch is not None else None

    def judge(make_hit: Callable[[], Hit], used: bool, exc: BaseException | None) -> None:
        function.note(make_hit(), used)
        if watch is None:
            return
        raised = probes.raised_at(exc, watch.filename, watch.lines) if exc is not None else None
        if exc is not None and raised is None:
            return
        for finding, tally in zip(findings, tallies):
            if (tally.used if used else tally.other) is None:
                trigger = probes.triggered(finding, watch.recorder, raised)
                if trigger:
                    hit = make_hit()
                    hit.evidence = _evidence(finding, trigger)
                    tally.note(hit, used)

    def settled() -> bool:
        return function.used is not None and all(t.used is not None or not f.watched for f, t in zip(findings, tallies))

    if subject.before_update is not None:
        if recorder:
            recorder.start()
        try:
            failure, exc = _check_before_update(adapter, subject)
        finally:
            if recorder:
                recorder.stop()
        if failure is not None:
            judge(lambda: Hit("float32", {}, " (result() on a fresh instance)", failure), True, exc)  # type: ignore[arg-type]
            if settled():
                return hit_result(function.used, True)  # type: ignore[arg-type]
    # 1. Which encoding (dense or index labels, boolean or float masks) and ranks does the function accept
    # (ordinary inputs, float32)?
    if not plan.shaped:
        shapes: list[tuple[int, ...]] = [()]
        try:
            adapter.evaluate(subject.call, benign_case(plan, ()), None)
        except NUMERIC_EXCEPTIONS:
            pass
        except Exception as exc:
            return result("error", describe(exc))
    else:
        accepted: list[int] = []
        first_error: BaseException | None = None
        for variant in plan.variants():
            for rank in RANKS:
                try:
                    adapter.evaluate(subject.call, benign_case(variant, shape_for(rank, max(adapter.batches))), None)
                    accepted.append(rank)
                except NUMERIC_EXCEPTIONS:
                    accepted.append(rank)
                except Exception as exc:
                    if variant is plan and (first_error is None or rank == 2):
                        first_error = exc
            if accepted:
                plan = subject.plan = variant
                break
        if not accepted:
            assert first_error is not None
            return result("error", describe(first_error))
        ranks = [accepted[0]] + [r for r in accepted if r >= 2 and r != accepted[0]][:1]
        shapes = sorted((shape_for(r, b) for r in ranks for b in adapter.batches), key=lambda s: (int(np.prod(s)), len(s)))
    # 2. Which dtypes does it accept?
    dtypes: list[str] = []
    for dtype in adapter.dtypes:
        try:
            adapter.evaluate(subject.call, benign_case(plan, shapes[-1], dtype), None)
            dtypes.append(dtype)
        except NUMERIC_EXCEPTIONS:
            dtypes.append(dtype)
        except Exception as exc:
            notes.append(f"{dtype} not run ({describe(exc)})")
    grad_name = plan.gradient if subject.differentiable else None
    # 3. Edge cases, smallest first, until the function and every finding has a counterexample in a dtype the
    # code uses (a failure in another dtype is kept in case none comes).
    checked = 0
    raised: list[str] = []
    gradient_seen = False

    def run(case: Case, record: bool = True) -> bool:
        """Evaluate one case. With `record`, judge its failure; without, only say whether it breaks the function
        or a finding that has no counterexample yet (the search's test)."""
        nonlocal gradient_seen
        exc_seen: BaseException | None = None
        if recorder:
            recorder.start()
        try:
            outputs, grad = adapter.evaluate(subject.call, case, grad_name)
        except NUMERIC_EXCEPTIONS as exc:
            failures, exc_seen = [describe(exc)], exc
        except Exception as exc:
            if record:
                raised.append(describe(exc))
            return False
        else:
            failures = []
            bad = nonfinite(outputs)
            if bad:
                failures.append(f"{bad} {subject.output_word}")
            if grad is not None:
                gradient_seen = True
                bad_grad = nonfinite([grad])
                if bad_grad:
                    failures.append(f"{bad_grad} gradient wrt {grad_name}")
        finally:
            if recorder:
                recorder.stop()
        if not failures:
            return False
        if record:
            judge(lambda: _case_hit(case, "; ".join(failures)), case.dtype in used_dtypes, exc_seen)
            return True
        if function.used is None or watch is None:
            return function.used is None
        at = probes.raised_at(exc_seen, watch.filename, watch.lines) if exc_seen is not None else None
        return any(t.used is None and f.watched and probes.triggered(f, watch.recorder, at) for f, t in zip(findings, tallies))

    for case in cases(plan, shapes, tuple(dtypes)):
        if deadline is not None and time.monotonic() > deadline:
            # Many filled parameters multiply the cases: stop in time to report what was seen.
            if not checked:
                return result("timeout", f"no edge case run within {BUDGET_SHARE:.0%} of the time limit (importing and finding the shapes and dtypes it accepts took it)")
            notes.append(f"stopped after {checked} cases, at {BUDGET_SHARE:.0%} of the time limit")
            break
        checked += 1
        if run(case) and settled():
            break
    # Then a search beyond the grid (Hypothesis), shrunk to the smallest input that breaks what is left.
    if not settled() and search.available() and (deadline is None or time.monotonic() < deadline) and dtypes:
        shape = next((s for s in shapes if int(np.prod(s)) >= 2), shapes[-1])
        dtype = next((d for d in dtypes if d in used_dtypes), dtypes[0])
        in_time = lambda: deadline is None or time.monotonic() < deadline  # noqa: E731
        found, tried = search.search(plan, shape, dtype, lambda case: in_time() and run(case, record=False))
        if found is not None:
            run(found)
        elif tried:
            notes.append(f"{tried} more searched (Hypothesis), none broke it")
    # 4. The precision floor of a binary cross-entropy: when nothing else broke, or for a logits/probabilities
    # finding (EPS3xx), whose failure is the floor rather than a NaN.
    floor_findings = any(f.code.startswith("EPS3") and t.used is None for f, t in zip(findings, tallies))
    if function.used is not None and not floor_findings:
        return hit_result(function.used, True)
    if subject.role != "metric" and plan.label and plan.prediction and not plan.label_index:
        floor = _floor_sweep(adapter, subject, shapes)
        if isinstance(floor, dict):
            return {**(floor if function.used is None else hit_result(function.used, True)), "floor": floor}
        notes.append(floor)
    if function.used is not None:
        return hit_result(function.used, True)
    if function.other is not None:
        return hit_result(function.other, False)
    # Nothing broke.
    if grad_name:
        if adapter.gradient_skip:
            notes.insert(0, f"gradient not checked: {adapter.gradient_skip}")
        elif not gradient_seen:
            notes.insert(0, f"no gradient flows to {grad_name}")
        else:
            notes.insert(0, f"gradient wrt {grad_name} finite")
    if raised:
        notes.append(f"{len(raised)} case{'s' if len(raised) != 1 else ''} raised ({raised[0]})")
    shapes_text = ", ".join(shape_text(s) for s in shapes)
    message = f"finite {subject.output_word} on {checked} cases ({', '.join(dtypes)}; shapes {shapes_text})"
    return result("not-reproduced", "; ".join([message, *notes]))


def _check_before_update(adapter: Adapter, subject: Subject) -> tuple[str | None, BaseException | None]:
    """The failure of Metric.result() on a fresh instance (and the exception that made it), if any."""
    assert subject.before_update is not None
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            outputs = adapter.flatten(subject.before_update())
    except NUMERIC_EXCEPTIONS as exc:
        return f"{describe(exc)} before any update", exc
    except Exception as exc:
        subject.notes.append(f"result() before any update raised {describe(exc)}")
        return None, None
    bad = nonfinite(outputs)
    return (f"{bad} {subject.output_word} before any update", None) if bad else (None, None)


def _floor_sweep(adapter: Adapter, subject: Subject, shapes: list[tuple[int, ...]]) -> dict[str, Any] | str:
    """Sweep the logit a over 0..40 with labels 0/1 and predictions at -a/+a (or sigmoid of them); every element's
    exact binary cross-entropy is log1p(exp(-a)). Report where the loss's relative error passes 1% for good."""
    plan = subject.plan
    assert plan.label and plan.prediction
    shape = next((s for s in shapes if int(np.prod(s)) >= 2), shapes[-1])
    labels = parity(shape)
    reference = np.array([math.log1p(math.exp(-a)) for a in FLOOR_SWEEP])  # noqa: EPS503 (a >= 0: exp(-a) <= 1)
    variants = ("logits",) if plan.logits else adapter.sigmoids
    outcomes: dict[str, tuple[int, float, float] | None] = {}
    for variant in variants:
        values = []
        try:
            for a in FLOOR_SWEEP:
                x = np.where(labels == 1, float(a), -float(a))
                tensors = {plan.label: adapter.tensor(labels, "float32")}
                tensors[plan.prediction] = adapter.tensor(x, "float32") if variant == "logits" else adapter.sigmoid(x, variant)
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    arrays = adapter.flatten(subject.call(tensors))
                values.append(float(np.mean([np.mean(v) for v in arrays])) if arrays else math.nan)
        except Exception as exc:
            return f"precision floor not checked ({describe(exc)})"
        loss = np.array(values)
        scale = loss[0] / reference[0]
        if not (np.isfinite(scale) and scale > 0):
            return "precision floor not checked: not a binary cross-entropy"
        with np.errstate(all="ignore"):
            relative = np.abs(loss / scale - reference) / reference
        if not np.all(relative[1:4] < FLOOR_TOLERANCE):
            return "precision floor not checked: not a binary cross-entropy"
        bad = ~(relative <= FLOOR_TOLERANCE)  # NaN counts as bad
        if not bad[-1]:
            outcomes[variant] = None
            continue
        onset = len(FLOOR_SWEEP) - 1
        while onset > 0 and bad[onset - 1]:
            onset -= 1
        outcomes[variant] = (FLOOR_SWEEP[onset], float(loss[-1] / scale), float(loss[onset] / scale))
    first = variants[0]
    found = outcomes.get(first)
    if found is None:
        if any(outcomes.get(v) for v in variants[1:]):
            other = next(v for v in variants[1:] if outcomes.get(v))
            return f"no precision floor for a = 0..40 with {first} outputs (there is one with {other} outputs)"
        return "no precision floor for a = 0..40"
    onset, last, _ = found
    if not math.isfinite(last):
        failure = f"{'nan' if math.isnan(last) else 'inf'} loss from a = {onset}"
    elif last == 0:
        failure = f"loss is 0 from a = {onset}"
    else:
        failure = f"loss floor {last:.3g} from a = {onset}"
    made = "+/-a" if first == "logits" else f"{first}(+/-a)"
    inputs = {
        plan.label: {"shape": list(shape), "values": "alternating 0/1"},
        plan.prediction: {"shape": list(shape), "values": f"{made} where {plan.label} is 1/0, a = 0..40"},
    }
    message = (
        f"{failure}: relative error against the exact log1p(exp(-a)) passes 1% "
        f"(with {plan.label} = alternating 0/1 {shape_text(shape)}, {plan.prediction} = {made} where {plan.label} is 1/0, in float32)"
    )
    for variant in variants[1:]:
        if outcomes.get(variant) is None:
            message += f"; no floor when {plan.prediction} is the output of {variant} (Keras 3 on TensorFlow reads the activation's logits)"
        else:
            message += f"; the same with {variant} outputs"
    return result("confirmed", message, {"dtype": "float32", "inputs": inputs, "failure": failure})


# -- targets -------------------------------------------------------------------------------------------------
def keras_class_kind(cls: type) -> str | None:
    for name in ("keras", "tf_keras"):
        module = sys.modules.get(name)
        if module is None:
            continue
        try:
            if issubclass(cls, module.metrics.Metric):
                return "metric"
            if issubclass(cls, module.losses.Loss):
                return "loss"
            if issubclass(cls, module.layers.Layer):
                return "layer"
        except (AttributeError, TypeError):
            continue
    torch = sys.modules.get("torch")
    if torch is not None and issubclass(cls, torch.nn.Module):
        return "module"
    return None


def instantiate(cls: type, given: dict[str, Any]) -> Any:
    """`cls(...)` with its sizes (`num_classes`), shapes and sub-modules filled in as arguments.py fills a
    constructor, and the given values; a dict (a skipped result) when it cannot be built."""
    filled = {**arguments.fill(cls, arguments.identity_for(cls)), **given}
    try:
        params = set(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        params = set()
    filled = {n: v for n, v in filled.items() if n in params}
    try:
        return cls(**filled)
    except TypeError as exc:
        call = f"{cls.__name__}({', '.join(f'{n}={v!r}' for n, v in filled.items())})"
        how = "without arguments" if not filled else "with the arguments read from its signature"
        return result("skipped", f"cannot instantiate `{call}` {how} ({describe(exc)}); give them in `{INPUTS_FUNCTION}()`")


def subject_for_class(cls: type, kind: str, role: str | None = None, given: dict[str, Any] | None = None) -> Subject | dict[str, Any]:
    """A Keras Metric, Loss or Layer subclass, built and called as Keras calls it."""
    given = given or {}
    instance = instantiate(cls, given)
    if isinstance(instance, dict):
        return instance
    if kind == "metric":
        plan = plan_for(inspect.signature(instance.update_state), "metric", fn=instance.update_state, given=given)
        if isinstance(plan, str):
            return result("skipped", f"update_state: {plan}")

        def run_metric(tensors: dict[str, Any]) -> Any:
            instance.reset_state()
            plan.call(instance.update_state, tensors)  # type: ignore[union-attr]
            return instance.result()

        return Subject(run_metric, plan, "metric", False, "result", before_update=instantiate(cls, given).result)
    if kind == "loss":
        from_logits = bool(getattr(instance, "from_logits", False)) or None
        plan = plan_for(inspect.signature(instance.call), "loss", logits=from_logits, fn=instance.call, given=given)
        if isinstance(plan, str):
            return result("skipped", f"call: {plan}")
        if plan.label is None or plan.prediction is None:
            return result("skipped", "call: expected `(y_true, y_pred)`")
        label, prediction = plan.label, plan.prediction
        return Subject(lambda t: instance(t[label], t[prediction]), plan, "loss", True)
    # A Keras layer is called, so that its dtype policy applies (a torch module: modules.subject).
    plan = plan_for(inspect.signature(instance.call), role, fn=instance.call, given=given)
    if isinstance(plan, str):
        return result("skipped", f"call: {plan}")
    return Subject(lambda t: plan.call(instance, t), plan, role, plan.gradient is not None)  # type: ignore[union-attr]


def subject_for_function(fn: Callable[..., Any], role: str | None, *, overflow: bool = False, given: dict[str, Any] | None = None) -> Subject | dict[str, Any]:
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError) as exc:
        return result("skipped", f"no signature to read ({describe(exc)})")
    plan = plan_for(signature, role, sole_input_logits=overflow, fn=fn, given=given)
    if isinstance(plan, str):
        return result("skipped", plan)
    return Subject(lambda t: plan.call(fn, t), plan, role, plan.gradient is not None)  # type: ignore[union-attr]
