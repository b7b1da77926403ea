"""Inputs the user gives where the verifier cannot read them from the code: `lint_eps_inputs()` in the module.

    def lint_eps_inputs():
        return {
            "scaled_loss": {"scale": 2.0},                   # a function's parameter
            "SiameseDistance": {"encoder": nn.Linear(4, 4)},  # a class's constructor (or method) parameter
        }

Runs in the worker, after the module is imported. Each value is passed as it is, in every case; the verifier
still varies the parameters it can fill (labels, predictions, masks, ...). The function is the user's code, so
a call that raises is reported for every function of the module rather than raised.
"""

from __future__ import annotations

from typing import Any

INPUTS_FUNCTION = "lint_eps_inputs"


class GivenError(Exception):
    """`lint_eps_inputs()` raised or returned something else than {name: {parameter: value}}."""


def given_inputs(module: Any) -> dict[str, dict[str, Any]]:
    function = getattr(module, INPUTS_FUNCTION, None)
    if function is None:
        return {}
    if not callable(function):
        raise GivenError(f"`{INPUTS_FUNCTION}` is a {type(function).__name__}, not a function")
    try:
        table = function()
    except Exception as exc:  # noqa: BLE001 - the user's code
        raise GivenError(f"`{INPUTS_FUNCTION}()` raised {type(exc).__name__}: {exc}") from None
    if not isinstance(table, dict) or not all(isinstance(k, str) and isinstance(v, dict) for k, v in table.items()):
        raise GivenError(f"`{INPUTS_FUNCTION}()` must return {{name: {{parameter: value}}}}, got {type(table).__name__}")
    return table


def given_for(table: dict[str, dict[str, Any]], *names: str | None) -> dict[str, Any]:
    """The values given for a target, under any of its names (`outer.inner`, `inner`, `Class`)."""
    for name in names:
        if name and name in table:
            return dict(table[name])
    return {}
