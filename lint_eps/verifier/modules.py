"""A torch module's flagged method as something to verify: the module is built with the sizes its constructor
asks for (`SelfAttention(dim=4)`, `RBM(visible=4, hidden=4)`; a sub-module is the identity; what `lint_eps_inputs()`
gives is passed as it is) and the method holding the finding is called (`RBM.free_energy`, not only `forward`),
so that a finding in a module whose constructor takes arguments, or in a method other than `forward`, gets the
same edge-case inputs as a function.

Runs in the worker; the one builder of torch modules for the edge-case checks (checks.subject_for_class builds
Keras classes).
"""

from __future__ import annotations

import inspect
import sys
from typing import Any

from . import arguments
from .checks import Subject, describe, result
from .given import INPUTS_FUNCTION
from .inputs import plan_for


def subject(torch: Any, cls: type, target: dict[str, Any], given: dict[str, Any] | None = None) -> Subject | dict[str, Any]:
    given = given or {}
    built = arguments.build(cls, torch.nn.Identity, given)
    if isinstance(built, arguments.Failure):
        if built.raised:
            return result("error", f"cannot build `{cls.__name__}`: {built.message}")
        return result("skipped", f"cannot build `{cls.__name__}`: {built.message}; give them in `{INPUTS_FUNCTION}()`")
    instance, text = built
    name = target.get("method") or "forward"
    if name.startswith("__"):  # a finding in `__init__` (or another dunder): what the module computes is `forward`
        name = "forward"
    method = getattr(instance, name, None)
    if not callable(method):
        return result("skipped", f"`{cls.__name__}` has no method `{name}` to call")
    overflow = any(str(f.get("code", "")).startswith("EPS50") for f in target.get("findings") or [])
    try:
        # Its parameters read as for a function; a sole input that is neither a feature nor a prediction by name
        # gets logits where the finding is about exp overflowing (EPS5xx).
        plan = plan_for(inspect.signature(method), target.get("role"), fn=method, given=given)
        if isinstance(plan, str) and overflow:
            plan = plan_for(inspect.signature(method), target.get("role"), sole_input_logits=True, fn=method, given=given)
    except (TypeError, ValueError) as exc:
        return result("skipped", f"no signature to read ({describe(exc)})")
    if isinstance(plan, str):
        return result("skipped", f"{text}.{name}: {plan}")
    call = instance if name == "forward" else method

    def run(tensors: dict[str, Any]) -> Any:
        _cast(instance, tensors)
        return plan.call(call, tensors)  # type: ignore[union-attr]

    found = Subject(run, plan, target.get("role"), plan.gradient is not None)
    found.notes.append(f"called as {text}.{name}")
    return found


def _cast(module: Any, tensors: dict[str, Any]) -> None:
    """Give a torch module's weights the dtype of its float inputs, as `.half()` or `.double()` would: a float16
    case runs a float16 model rather than failing on mixed dtypes."""
    torch = sys.modules["torch"]
    dtype = next((t.dtype for t in tensors.values() if torch.is_tensor(t) and t.is_floating_point()), None)
    weight = next(iter(module.parameters()), None)
    if dtype is not None and weight is not None and weight.dtype != dtype:
        module.to(dtype)
