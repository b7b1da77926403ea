"""A torch module's flagged method as something to verify: the module is built with the sizes its constructor
asks for (`SelfAttention(dim=4)`, `RBM(visible=4, hidden=4)`; a sub-module is the identity) and the method holding
the finding is called (`RBM.free_energy`, not only `forward`), so that a finding in a module whose constructor
takes arguments, or in a method other than `forward`, gets the same edge-case inputs as a function.

Runs in the worker; used where `checks.subject_for_class` cannot build the module or would call another method.
"""

from __future__ import annotations

import inspect
from typing import Any

from . import arguments
from .checks import Subject, describe, result
from .inputs import plan_for


def subject(torch: Any, cls: type, target: dict[str, Any]) -> Subject | dict[str, Any]:
    built = arguments.build(cls, torch.nn.Identity)
    if isinstance(built, arguments.Failure):
        return result("error" if built.raised else "skipped", f"cannot build `{cls.__name__}`: {built.message}")
    instance, text = built
    name = target.get("method") or "forward"
    if name.startswith("__"):  # a finding in `__init__` (or another dunder): what the module computes is `forward`
        name = "forward"
    method = getattr(instance, name, None)
    if not callable(method):
        return result("skipped", f"`{cls.__name__}` has no method `{name}` to call")
    overflow = any(str(f.get("code", "")).startswith("EPS50") for f in target.get("findings") or [])
    try:
        plan = plan_for(inspect.signature(method), "loss", sole_input_logits=overflow)
    except (TypeError, ValueError) as exc:
        return result("skipped", f"no signature to read ({describe(exc)})")
    if isinstance(plan, str):
        return result("skipped", f"{text}.{name}: {plan}")
    call = instance if name == "forward" else method
    found = Subject(lambda t: plan.call(call, t), plan, "loss", True)  # type: ignore[union-attr]
    found.notes.append(f"called as {text}.{name}")
    return found
