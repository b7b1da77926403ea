"""A training step's own findings (a log of a softmax, a division), checked by running the step itself.

A training step (`train_step_multiclass(model, batch, optimizer)`) has no prediction parameter to fill: its
predictions are what its model makes of its batch. So it is filled the way the model-level check fills it
(models.step_roles, models.step_arguments): a linear head whose logits are exactly ±a, the batch (x, y) with the
labels those logits predict (then the others: confident mistakes), and SGD with learning rate 0, so that the step
changes nothing. a runs over the large values of the edge-case grid (EDGES): in float32 a softmax's smallest
probability is a subnormal at a = 100 and 0 from a ≈ 104, where its log is -inf.

A case breaks the step when the loss it returns is NaN/inf, or when the gradient its own `backward()` leaves on
the head's weight is; a finding is confirmed by the first case that breaks the step while its expression makes
the NaN/inf (probes), as for every function-level finding (checks.finding_result decides each).

Runs in the worker, for a torch function none of whose findings is model-level and whose parameters are not
tensors to fill.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import numpy as np

from . import models, probes
from .checks import NUMERIC_EXCEPTIONS, Hit, Tally, describe, finding_result, hit_result, nonfinite, result

EDGES = (1e2, 1e4)  # the edge-case grid's large logits and features (inputs.LOGITS, inputs' ±1e4)


def verify(adapter: Any, fn: Callable[..., Any], target: dict[str, Any], watch: probes.Instrumented | None) -> dict[str, Any] | None:
    """The step's outcome with one per finding ("findings"), or None when `fn` is not a torch training step."""
    if adapter.name != "torch" or watch is None:
        return None
    roles = models.step_roles(fn)
    if isinstance(roles, str):
        return None
    torch = adapter.torch
    binary = models.is_binary([f.text for f in watch.findings])
    labels = models.step_labels(binary)
    call = models.step_call(fn, roles)
    recorder = watch.recorder
    function, tallies = Tally(), [Tally() for _ in watch.findings]
    raised: list[str] = []
    shapes: dict[str, Any] = {}
    for wrong in (False, True):
        for a in EDGES:
            kwargs, head, x, y = models.step_arguments(torch, roles, a, binary, wrong)
            shapes = models.step_shapes(x, binary)
            exc_seen: BaseException | None = None
            recorder.start()
            try:
                with warnings.catch_warnings(), np.errstate(all="ignore"):
                    warnings.simplefilter("ignore")
                    returned = fn(**kwargs)
            except NUMERIC_EXCEPTIONS as exc:
                failures, exc_seen = [describe(exc)], exc
            except Exception as exc:  # noqa: BLE001 - counted and named in the message
                raised.append(describe(exc))
                continue
            else:
                failures = _failures(adapter, returned, head)
            finally:
                recorder.stop()
            if not failures:
                continue
            inputs = models.logit_inputs(shapes, a, labels[wrong])
            where, failure = f" at logits ±{a:g} ({labels[wrong]}, float32) in {call}", "; ".join(failures)
            function.note(Hit("float32", inputs, where, failure), True)
            at = probes.raised_at(exc_seen, watch.filename, watch.lines) if exc_seen is not None else None
            for finding, tally in zip(watch.findings, tallies):
                trigger = probes.triggered(finding, recorder, at) if tally.used is None else None
                if trigger:
                    tally.note(Hit("float32", inputs, where, failure, f"`{finding.text}` {trigger}"), True)
    if function.used is not None:
        outcome = hit_result(function.used, True)
    else:
        swept = ", ".join(f"±{a:g}" for a in EDGES)
        note = f"; {len(raised)} case{'s' if len(raised) != 1 else ''} raised ({raised[0]})" if raised else ""
        message = f"loss and gradient wrt the head's weight finite at logits {swept}, with right and with wrong labels ({labels[0]}; float32) in {call}"
        outcome = result("not-reproduced", message + note)
    outcome["findings"] = [finding_result(f, t, function, outcome, recorder) for f, t in zip(watch.findings, tallies)]
    return outcome


def _failures(adapter: Any, returned: Any, head: Any) -> list[str]:
    """What is NaN/inf: the returned loss (or whatever the step returns), the gradient its backward() left."""
    failures = []
    loss = models.scalar(adapter.torch, returned)
    if loss is not None and not math.isfinite(loss):
        failures.append(f"{'nan' if math.isnan(loss) else 'inf'} loss")
    elif loss is None:
        bad = nonfinite(adapter.flatten(returned))
        if bad:
            failures.append(f"{bad} output")
    grad = head.weight.grad
    bad_grad = nonfinite([adapter.numeric(grad)]) if grad is not None else None
    if bad_grad:
        failures.append(f"{bad_grad} gradient wrt the head's weight")
    return failures
