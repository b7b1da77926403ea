"""Gradient findings (EPS504 naive sigmoid, EPS505 square root at zero): their claim is about the gradient, not
the value (`1 / (1 + exp(-x))` is 0 at x = -100, but its derivative is inf/inf = NaN; `sqrt(sum((a - b)**2))` is
0 at a = b, but its derivative is infinite), so the value probes alone cannot confirm them.

Runs in the worker, after the usual checks, for a function or a class (a torch module or Keras layer, built with
the arguments `arguments.calls` infers, a sub-module being the identity) holding such findings. The gradient of
the sum of its float outputs wrt every tensor input is computed (TF GradientTape, torch.autograd, jax.grad) in
float32 on:

- logits (EPS504): every input at -100, at +100, and alternating -100/+100 (exp(-x) overflows for x < -88.7);
  where the flagged expression never overflows there (a module whose small weights keep its pre-activation
  `v @ W + c` small), the same at ±1e4, the edge-case grid's largest features;
- coincident inputs (EPS505): all inputs equal to one random array (a = b: an anchor paired with itself), one
  input whose rows are all equal (the diagonal of a pairwise distance), all inputs 0.

A finding is confirmed by the first case whose gradient is NaN/inf while its own expression is at its singular
point: an overflow born inside it (EPS504), or its value is 0 (EPS505: the root or the norm of 0).
"""

from __future__ import annotations

import inspect
import warnings
from typing import Any, Callable

import numpy as np

from . import arguments, probes
from .checks import describe, nonfinite, result
from .inputs import shape_text

GRADIENT_CODES = ("EPS504", "EPS505")
AUTODIFF = ("tensorflow", "torch", "jax")
LARGE = (100.0, 1e4)  # the second only where the first never makes the flagged expression overflow
SHAPES = ((arguments.SIZE,), (2, arguments.SIZE), (2, arguments.SIZE, arguments.SIZE))
SEED = 20240611


def applies(target: dict[str, Any]) -> bool:
    return any(str(f.get("code", "")).startswith(GRADIENT_CODES) for f in target.get("findings") or [])


def decides_all(adapter: Any, target: dict[str, Any]) -> bool:
    """Every finding of the target is about a gradient and the framework has one: the edge-case grid of values
    would only repeat what the gradient check decides, so it is not run."""
    findings = target.get("findings") or []
    return adapter.name in AUTODIFF and bool(findings) and all(str(f.get("code", "")).startswith(GRADIENT_CODES) for f in findings)


def amend(adapter: Any, obj: Any, target: dict[str, Any], watch: Any, outcome: dict[str, Any]) -> dict[str, Any]:
    """`outcome` with each EPS504/EPS505 finding decided by its gradient (a confirmed value failure is kept)."""
    if watch is None or not outcome.get("findings") or adapter.name not in AUTODIFF:
        return outcome
    groups: dict[str | None, list[int]] = {}
    for index, spec in enumerate(target["findings"]):
        if str(spec["code"]).startswith(GRADIENT_CODES):
            method = _method_of(obj, spec["span"][0]) if isinstance(obj, type) else None
            groups.setdefault(method or target.get("method"), []).append(index)
    findings = list(outcome["findings"])
    for method, indices in groups.items():
        decided = _check(adapter, obj, {**target, "method": method}, watch, indices)
        for index in indices:
            new, old = decided.get(index, decided.get(-1)), findings[index]
            assert new is not None
            if new["status"] == "confirmed" or (old["status"] != "confirmed" and (new["status"] == "not-reproduced" or old["status"] == "skipped")):
                findings[index] = new
    return {**outcome, "findings": findings}


# -- the callable ---------------------------------------------------------------------------------------------
def _method_of(cls: type, row: int) -> str | None:
    """The method of `cls` whose code spans line `row` (a class target is one per class, its findings may sit in
    several methods: the gradient of each is taken through its own method)."""
    for name, member in vars(cls).items():
        code = getattr(member, "__code__", None)
        if code is not None:
            lines = [line for _, _, line in code.co_lines() if line is not None]
            if lines and code.co_firstlineno <= row <= max(lines):
                return name
    return None


def _callable(adapter: Any, obj: Any, target: dict[str, Any]) -> tuple[Callable[..., Any], list[str], str] | dict[str, Any]:
    """The function to differentiate, its tensor parameters, and how it was made."""
    if target["kind"] == "function":
        fn = signature_of = obj
        made = ""
    elif target["kind"] == "factory":  # `def make_gate(): def gate(x): ...`: built with the factory's defaults
        try:
            fn = signature_of = obj()
        except Exception as exc:  # noqa: BLE001
            return result("skipped", f"cannot build `{target['inner']}` by calling `{target['attr']}()` ({describe(exc)})")
        if not callable(fn):
            return result("skipped", f"`{target['attr']}()` returned {type(fn).__name__}, not the nested function `{target['inner']}`")
        made = f"; built by {target['attr']}()"
    elif target["kind"] == "class" and isinstance(obj, type):
        built = arguments.build(obj, _identity(adapter))
        if isinstance(built, arguments.Failure):
            return result("error" if built.raised else "skipped", f"cannot build `{obj.__name__}`: {built.message}")
        instance, text = built
        method = target.get("method")
        if method in (None, "forward", "call", "__call__"):  # the module or layer itself
            fn = instance
            signature_of = getattr(instance, "forward", None) or getattr(instance, "call", None) or instance
            made = f"; {text}"
        else:
            fn = signature_of = getattr(instance, method)
            made = f"; {text}.{method}"
    else:
        return result("skipped", "the gradient is checked for module-level functions and classes only")
    try:
        parameters = inspect.signature(signature_of).parameters.values()
    except (TypeError, ValueError) as exc:
        return result("skipped", f"no signature to read ({describe(exc)})")
    names = [p.name for p in parameters if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
    if not names:
        return result("skipped", "no tensor parameter to differentiate by")
    return fn, names, made


def _identity(adapter: Any) -> Callable[[], Any] | None:
    if adapter.name == "torch":
        return adapter.torch.nn.Identity  # type: ignore[no-any-return]
    if adapter.name == "tensorflow":
        import keras

        return keras.layers.Identity  # type: ignore[no-any-return]
    return None


# -- cases ----------------------------------------------------------------------------------------------------
Case = tuple[dict[str, np.ndarray], str, str]  # the inputs, what each holds, the case in words


def _number(large: float) -> str:
    return f"{large:.0e}".replace("e+0", "e") if large >= 1e4 else f"{large:g}"  # 100, 1e4


def _large(names: list[str], shape: tuple[int, ...], large: float) -> list[Case]:
    """Every input at -large, at +large, and alternating (EPS504)."""
    shown, value = shape_text(shape), _number(large)
    alternating = np.where(np.arange(int(np.prod(shape))).reshape(shape) % 2 == 1, large, -large)
    out: list[Case] = []
    for array, kind in ((np.full(shape, -large), f"-{value}"), (np.full(shape, large), f"+{value}"), (alternating, f"-{value}/+{value} alternating")):
        out.append(({n: array for n in names}, kind, ", ".join(f"{n} = {kind} {shown}" for n in names)))
    return out


def _cases(names: list[str], shape: tuple[int, ...], codes: set[str]) -> list[Case]:
    rng = np.random.default_rng(SEED)
    out: list[Case] = []
    shown = shape_text(shape)
    if "EPS504" in codes:
        out.extend(_large(names, shape, LARGE[0]))
    if "EPS505" in codes:
        point = rng.normal(size=shape)
        if len(names) > 1:
            out.append(({n: point for n in names}, "coincident: one random normal array", f"{' = '.join(names)} (coincident, random normal {shown})"))
        if len(shape) > 1:
            rows = np.broadcast_to(point[:1], shape).copy()
            out.append(({n: rows for n in names}, "equal rows", ", ".join(f"{n} = equal rows {shown}" for n in names)))
        out.append(({n: np.zeros(shape) for n in names}, "0", ", ".join(f"{n} = 0 {shown}" for n in names)))
    return out


def _gradients(adapter: Any, fn: Callable[..., Any], values: dict[str, np.ndarray], recorder: probes.Recorder) -> tuple[list[np.ndarray], dict[str, np.ndarray | None]]:
    """The float outputs and the gradient of their sum wrt each input, in float32 (probes on in the forward pass)."""
    names = list(values)
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        if adapter.name == "tensorflow":
            tf = adapter.tf
            tensors = [tf.constant(values[n], tf.float32) for n in names]
            with tf.GradientTape() as tape:
                for t in tensors:
                    tape.watch(t)
                recorder.start()
                try:
                    out = fn(*tensors)
                finally:
                    recorder.stop()
                floats = [tf.reduce_sum(t) for t in tf.nest.flatten(out) if isinstance(t, (tf.Tensor, tf.Variable)) and t.dtype.is_floating]
                total = tf.add_n(floats) if floats else None
            grads = tape.gradient(total, tensors) if total is not None else [None] * len(names)
            return adapter.flatten(out), {n: None if g is None else np.asarray(tf.cast(tf.convert_to_tensor(g), tf.float64)) for n, g in zip(names, grads)}
        if adapter.name == "torch":
            torch = adapter.torch
            tensors = [torch.tensor(values[n], dtype=torch.float32, requires_grad=True) for n in names]
            recorder.start()
            try:
                out = fn(*tensors)
            finally:
                recorder.stop()
            floats = [t.sum() for t in _leaves(out) if torch.is_tensor(t) and t.is_floating_point() and t.requires_grad]
            grads = torch.autograd.grad(sum(floats), tensors, allow_unused=True) if floats else [None] * len(names)
            return adapter.flatten(out), {n: None if g is None else g.detach().to(torch.float64).numpy() for n, g in zip(names, grads)}
        jax, jnp = adapter.jax, adapter.jnp
        arrays = [jnp.asarray(values[n], dtype=jnp.float32) for n in names]
        recorder.start()
        try:
            with jax.disable_jit():
                out = fn(*arrays)
        finally:
            recorder.stop()

        def total(*inputs: Any) -> Any:
            leaves = jax.tree_util.tree_leaves(fn(*inputs))
            return sum((jnp.sum(x) for x in leaves if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jnp.floating)), jnp.zeros(()))

        grads = jax.grad(total, argnums=tuple(range(len(arrays))))(*arrays)
        return adapter.flatten(jax.tree_util.tree_leaves(out)), {n: np.asarray(g, dtype=np.float64) for n, g in zip(names, grads)}


def _leaves(value: Any) -> list[Any]:
    if isinstance(value, dict):
        return [x for v in value.values() for x in _leaves(v)]
    if isinstance(value, (list, tuple)):
        return [x for v in value for x in _leaves(v)]
    return [value]


# -- deciding -------------------------------------------------------------------------------------------------
def _at_singular_point(finding: probes.Finding, recorder: probes.Recorder) -> str | None:
    """What the flagged expression did in this case that makes its derivative infinite, or None."""
    trigger = probes.triggered(finding, recorder)
    if trigger:
        return trigger
    own = recorder.values.get(finding.own) if finding.own is not None else None
    if finding.code.startswith("EPS505") and own is not None and own.zero:
        return "is 0"
    return None


def _check(adapter: Any, obj: Any, target: dict[str, Any], watch: Any, indices: list[int]) -> dict[int, dict[str, Any]]:
    """The outcome of each finding in `indices` (key -1: the one for every finding without its own)."""
    made = _callable(adapter, obj, target)
    if isinstance(made, dict):
        return {-1: made}
    fn, names, built = made
    recorder: probes.Recorder = watch.recorder
    shape = None
    first_error: BaseException | None = None
    for candidate in SHAPES:
        try:
            _gradients(adapter, fn, {n: np.random.default_rng(SEED).normal(size=candidate) for n in names}, recorder)
            shape = candidate
            break
        except Exception as exc:  # noqa: BLE001 - the next shape
            first_error = first_error or exc
    if shape is None:
        return {-1: result("error", f"no input shape runs: {describe(first_error)}{built}")}  # type: ignore[arg-type]
    codes = {str(target["findings"][i]["code"])[:6] for i in indices}
    cases = _cases(names, shape, codes)
    hits: dict[int, dict[str, Any]] = {}
    reached: set[int] = set()  # findings whose expression reached its singular point in some case
    flowed = False
    raised: list[str] = []
    larges = [LARGE[0]]
    position = 0
    while position < len(cases):
        values, kind, text = cases[position]
        position += 1
        try:
            outputs, grads = _gradients(adapter, fn, values, recorder)
        except Exception as exc:  # noqa: BLE001 - counted and named in the message
            raised.append(describe(exc))
        else:
            flowed = flowed or any(g is not None for g in grads.values())
            reached.update(i for i in indices if _at_singular_point(watch.findings[i], recorder))
            bad = [(n, nonfinite([g])) for n, g in grads.items() if g is not None and nonfinite([g])]
            for index in indices if bad else ():
                finding = watch.findings[index]
                trigger = _at_singular_point(finding, recorder) if index not in hits else None
                if trigger:
                    evidence = f"`{finding.text}` {trigger}"
                    inputs = {n: {"shape": list(shape), "values": kind} for n in names}
                    output = f" (the output is {nonfinite(outputs)})" if nonfinite(outputs) else " (the output is finite)"
                    message = f"gradient is {bad[0][1]} at {text} in float32{output}; {evidence} there{built}"
                    failure = "; ".join(f"{what} gradient wrt {name}" for name, what in bad)
                    hits[index] = result("confirmed", message, {"dtype": "float32", "inputs": inputs, "failure": failure, "evidence": evidence})
        # Every case run, and an EPS504 expression never overflowed: the inputs were too small for its weights.
        unreached = [i for i in indices if i not in hits and i not in reached and str(target["findings"][i]["code"]).startswith("EPS504")]
        if position == len(cases) and unreached and len(larges) < len(LARGE):
            larges.append(LARGE[len(larges)])
            cases.extend(_large(names, shape, larges[-1]))
    families = " and ".join(f for c, f in (("EPS504", "logits " + " and ".join(f"±{_number(v)}" for v in larges)), ("EPS505", "coincident inputs")) if c in codes)
    if not flowed:
        quiet = result("not-reproduced", f"no gradient flows to {', '.join(names)} on {len(cases)} cases ({families}, float32){built}")
    else:
        note = f"; {len(raised)} case{'s' if len(raised) != 1 else ''} raised ({raised[0]})" if raised else ""
        quiet = result("not-reproduced", f"gradient finite on {len(cases) - len(raised)} cases ({families}, float32, shape {shape_text(shape)}){note}{built}")
    decided = {**hits, -1: quiet}
    for index in set(indices) - set(hits) - reached:
        text = watch.findings[index].text
        never = "never overflows" if watch.findings[index].code.startswith("EPS504") else "is never 0"
        decided[index] = {**quiet, "message": f"{quiet['message']}; `{text}` {never} on these inputs"}
    return decided
