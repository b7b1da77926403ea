"""Arguments for the calls that build what a finding is about: a model builder (`build_classifier(input_shape)`)
or a module's constructor (`RBM(visible, hidden)`, `SiameseDistance(encoder)`).

Runs in the worker. A parameter with a default keeps it (the code's own choice). A required one is filled only
when its name or annotation leaves no doubt about what it is: a size (`n_features`, `dim`, `hidden: int`) gets a
small integer, a shape (`input_shape`) a small shape, a sub-module (`encoder: nn.Module`) the identity module.
Anything else makes the call impossible, and the reason names the parameter.
"""

from __future__ import annotations

import inspect
import re
import sys
from dataclasses import dataclass
from typing import Any, Callable

SEED = 20240611
SIZE = 4  # every size: small enough to run in milliseconds, large enough to be a real batch/feature axis
SHAPES = ((16,), (16, 16, 3))  # tried in order for a `*shape` parameter: a vector, then an image
SIZE_NAME = re.compile(
    r"^(n|num|n_\w+|num_\w+|\w+_dim|dim|dims|d_\w+|\w+_dims|\w+_size|size|\w+_features|features|in_\w+|out_\w+|units|hidden|"
    r"visible|classes|\w+_classes|channels|\w+_channels|heads|\w+_heads|depth|width|latent|embed\w*|vocab\w*)$"
)
SHAPE_NAME = re.compile(r"^(\w+_)?shape$")
MODULE_NAME = re.compile(r"^(encoder|decoder|backbone|body|base|base_model|embedding_net|net|network|model|module|head|trunk)$")


def _annotation(parameter: inspect.Parameter) -> str:
    annotation = parameter.annotation
    if annotation is parameter.empty:
        return ""
    return annotation if isinstance(annotation, str) else getattr(annotation, "__name__", str(annotation))


def identity_for(cls: Any) -> Callable[[], Any] | None:
    """What makes an identity sub-module for a constructor of `cls`: `nn.Identity` for a torch module, Keras's
    `Identity` layer for a Keras class, else None (no sub-module is filled)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(cls, type) and issubclass(cls, torch.nn.Module):
        return torch.nn.Identity  # type: ignore[no-any-return]
    keras = sys.modules.get("keras")
    if keras is not None:
        return getattr(keras.layers, "Identity", None)
    return None


def _fill(parameter: inspect.Parameter, shape: tuple[int, ...], identity: Callable[[], Any] | None) -> tuple[bool, Any]:
    annotation = _annotation(parameter).rsplit(".", 1)[-1]
    name = parameter.name.lower()
    if annotation in ("int",) or (not annotation and SIZE_NAME.match(name)):
        return True, SIZE
    if annotation in ("tuple", "Tuple") or SHAPE_NAME.match(name):
        return True, shape
    if identity is not None and (annotation in ("Module", "Layer", "Model") or (not annotation and MODULE_NAME.match(name))):
        return True, identity()
    return False, None


def _required(fn: Callable[..., Any]) -> list[inspect.Parameter] | str:
    try:
        parameters = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError) as exc:
        return f"no signature to read ({type(exc).__name__})"
    return [p for p in parameters if p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def calls(fn: Callable[..., Any], identity: Callable[[], Any] | None = None, given: dict[str, Any] | None = None) -> list[tuple[dict[str, Any], str]] | str:
    """The keyword arguments to try `fn` (a function or a class) with, in order, each with how to write them; or
    why it cannot be called. `identity` makes an identity sub-module; `given` (from `lint_eps_inputs()`) are
    passed as they are."""
    required = _required(fn)
    if isinstance(required, str):
        return required
    given = {n: v for n, v in (given or {}).items() if any(p.name == n for p in required)}
    required = [p for p in required if p.name not in given]
    attempts: list[tuple[dict[str, Any], str]] = []
    shapes = SHAPES if any(SHAPE_NAME.match(p.name.lower()) or _annotation(p) in ("tuple", "Tuple") for p in required) else SHAPES[:1]
    for shape in shapes:
        kwargs: dict[str, Any] = dict(given)
        for parameter in required:
            ok, value = _fill(parameter, shape, identity)
            if not ok:
                return f"cannot fill parameter `{parameter.name}` of `{getattr(fn, '__qualname__', fn)}`: no default, and not a size, a shape or a sub-module"
            kwargs[parameter.name] = value
        attempts.append((kwargs, ", ".join(f"{k}={_show(v)}" for k, v in kwargs.items())))
    return attempts


def fill(fn: Callable[..., Any], identity: Callable[[], Any] | None = None) -> dict[str, Any]:
    """The required parameters of `fn` that `calls` can fill (the first shape), leaving out the others: for a
    constructor whose call then says itself what is missing."""
    required = _required(fn)
    if isinstance(required, str):
        return {}
    filled = {p.name: _fill(p, SHAPES[0], identity) for p in required}
    return {name: value for name, (ok, value) in filled.items() if ok}


def _show(value: Any) -> str:
    if isinstance(value, (int, tuple)):
        return repr(value)
    return f"{type(value).__name__}()"


@dataclass
class Failure:
    message: str
    raised: bool  # the call raised (an error), rather than not being possible (a skip)


def build(fn: Callable[..., Any], identity: Callable[[], Any] | None = None, given: dict[str, Any] | None = None) -> tuple[Any, str] | Failure:
    """Call `fn` (a builder or a class) with the first arguments of `calls` that work: (what it returned, the call
    as written), or why it cannot be called / what it raised. Torch's and Keras's generators are seeded first, so
    that randomly initialised weights, and the counterexamples found with them, are the same on every run."""
    name = getattr(fn, "__name__", "the function")
    attempts = calls(fn, identity, given)
    if isinstance(attempts, str):
        return Failure(attempts, False)
    error: BaseException | None = None
    for kwargs, text in attempts:
        if "torch" in sys.modules:
            sys.modules["torch"].manual_seed(SEED)
        if "keras" in sys.modules:  # Keras draws its initial weights from its own seed generator
            sys.modules["keras"].utils.set_random_seed(SEED)
        try:
            return fn(**kwargs), f"{name}({text})"
        except Exception as exc:  # noqa: BLE001 - the next shape, else reported
            error = exc
    message = str(error).strip().splitlines()[0] if error is not None and str(error).strip() else ""
    return Failure(f"{name}({attempts[-1][1]}) raised {type(error).__name__}" + (f": {message[:200]}" if message else ""), True)
