"""What a parameter beyond `(y_true, y_pred)` holds, read from its name, annotation, default and use.

Runs in the worker. A confusion matrix gets square non-negative integer matrices (one with an all-zero row),
a mask gets booleans, a tensor of features or log-space values (`x`, `v`, `embeddings`, `log_weights`) gets
values of any sign and size, a `params` dict gets the keys the code reads from it (`params["w"]`, a matrix when
it is multiplied with `@`), a size (`dim: int`) a small integer and a sub-module (`encoder: nn.Module`) the
identity (a constructor's parameters: arguments.py). What cannot be read this way is given by the user (`given`).
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import textwrap
from dataclasses import dataclass, field
from typing import Any, Callable

SIZE = 4  # every size filled in: the verifier's class axis (inputs.CLASSES)
MASK = re.compile(r"(^|_)mask(s|ed)?($|_)")
CONFUSION = re.compile(r"(^|_)(confusion\w*|cm|conf_?mat\w*)$")
# Tensors whose values may have any sign and size: inputs, features, embeddings and log-space values.
FEATURE = re.compile(
    r"^(x|xs|x_\w+|a|b|u|v|h|q|k|z|inputs?_\w+|feat|feats|features?|\w+_features|emb|embeds?|embeddings?|\w+_emb\w*|"
    r"hidden_states?|latents?|energ\w+|activations?|log_\w+|\w+_log_\w+|\w+_logits?|\w+_scores?)$"
)
NOT_A_TENSOR = re.compile(r"_(shape|shapes|size|sizes|dim|dims|len|length|units|classes)$")
PARAMS = frozenset({"params", "parameters", "variables", "theta", "weights_dict", "state_dict"})

@dataclass(frozen=True)
class Kind:
    """A parameter's kind: "mask", "confusion", "features", "params" (with `keys`: key -> matrix?), or "fixed"
    (`value`, passed as it is)."""

    name: str
    keys: tuple[tuple[str, bool], ...] = ()
    value: Any = None


@dataclass
class Reading:
    """The parameters of one callable whose kind could be read; `fixed` ones are plain Python values."""

    kinds: dict[str, Kind] = field(default_factory=dict)


def _annotation(param: inspect.Parameter) -> str:
    annotation = param.annotation
    if annotation is param.empty:
        return ""
    if isinstance(annotation, str):
        return annotation.rsplit(".", 1)[-1]
    return getattr(annotation, "__name__", str(annotation))


def _is_module_annotation(param: inspect.Parameter) -> bool:
    torch = sys.modules.get("torch")
    annotation = param.annotation
    if torch is None or annotation is param.empty:
        return False
    if isinstance(annotation, str):
        return annotation.rsplit(".", 1)[-1] == "Module"
    return isinstance(annotation, type) and issubclass(annotation, torch.nn.Module)


def by_name(param: inspect.Parameter) -> str | None:
    """"mask" or "confusion": kinds whose name settles them even where a label or prediction could be meant."""
    name = param.name.lower()
    if CONFUSION.search(name):
        return "confusion"
    if MASK.search(name):
        return "mask"
    return None


def is_feature(param: inspect.Parameter) -> bool:
    name = param.name.lower()
    if NOT_A_TENSOR.search(name):  # `input_shape`, `embedding_dim`: sizes, for a model builder
        return False
    return bool(FEATURE.match(name)) or _annotation(param) in ("Tensor", "ndarray", "Array", "ArrayLike")


def params_keys(fn: Callable[..., Any], name: str) -> tuple[tuple[str, bool], ...]:
    """The string keys the function reads from `name` (`params["w"]`), each with whether it is multiplied as a
    matrix (`x @ params["w"]`)."""
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(fn)))
    except (OSError, TypeError, SyntaxError):
        return ()
    keys: dict[str, bool] = {}
    matrices = {id(n.right) for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult)}
    matrices |= {id(n.left) for n in ast.walk(tree) if isinstance(n, ast.BinOp) and isinstance(n.op, ast.MatMult)}
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Subscript)
            and isinstance(node.value, ast.Name)
            and node.value.id == name
            and isinstance(node.slice, ast.Constant)
            and isinstance(node.slice.value, str)
        ):
            keys[node.slice.value] = keys.get(node.slice.value, False) or id(node) in matrices
    return tuple(keys.items())


def read(fn: Callable[..., Any] | None, params: list[inspect.Parameter]) -> Reading:
    """The kinds of the required parameters of `fn` that are neither labels nor predictions by name (the caller
    decides those), as far as names, annotations and the source tell."""
    reading = Reading()
    for param in params:
        if param.default is not param.empty or param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        annotation = _annotation(param)
        special = by_name(param)
        if _is_module_annotation(param):
            reading.kinds[param.name] = Kind("fixed", value=sys.modules["torch"].nn.Identity())
        elif annotation == "int":
            reading.kinds[param.name] = Kind("fixed", value=SIZE)
        elif special:
            reading.kinds[param.name] = Kind(special)
        elif param.name.lower() in PARAMS:
            keys = params_keys(fn, param.name) if fn is not None else ()
            if keys:
                reading.kinds[param.name] = Kind("params", keys=keys)
        elif is_feature(param):
            reading.kinds[param.name] = Kind("features")
    return reading
