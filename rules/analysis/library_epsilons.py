"""EPS403 for epsilons handed to framework functions, layers and optimizers (`torch.optim.Adam(eps=1e-8)`,
`F.normalize(x, eps=1e-12)`, Keras optimizers' `epsilon=`), explicit or their documented defaults, when the
code runs them in half precision and the value rounds to 0 or its reciprocal overflows there.

"Runs in half precision" is decided from the code, never guessed: an optimizer's parameters come from
`model.parameters()` of a model converted with `.half()` / `.to(torch.float16)` (assigned, or converted in place
in the same function or at module level) or built with `dtype=torch.float16`; a function's tensor has a dtype the
code fixes (`static_dtype`); a Keras optimizer runs in float16 when the module sets `floatx` or a non-mixed
policy to float16. Mixed precision (`torch.autocast` on a float32 model, Keras `mixed_float16`) keeps float32
parameters and optimizer state: nothing here fires for it.
"""

from __future__ import annotations

from dataclasses import dataclass

from lint_eps.lazy import libcst as cst

from lint_eps.context import FileContext
from lint_eps.nodes import arg, keyword_arg, strip_parens
from lint_eps.walk import iter_nodes

from ..tables.dtypes import FLOAT16, FloatFormat, epsilon_literal, short
from ..tables.library_epsilons import FLOAT16_SUGGESTED, KERAS_OPTIMIZERS, TORCH_FUNCTIONS, TORCH_LAYERS, TORCH_OPTIMIZERS, LibraryEpsilon

LIBRARY_EPSILON_NAMES: tuple[str, ...] = tuple(
    sorted({name.rsplit(".", 1)[-1] for table in (TORCH_OPTIMIZERS, KERAS_OPTIMIZERS, TORCH_FUNCTIONS, TORCH_LAYERS) for name in table})
)


@dataclass(frozen=True)
class LibraryEpsilonFinding:
    message: str
    details: str
    fix_message: str | None
    replacement: cst.Call | None


def check_library_epsilon(call: cst.Call, callee: str | None, context: FileContext) -> LibraryEpsilonFinding | None:
    """The finding for a framework call whose epsilon vanishes in the dtype it runs in, or None."""
    # EPS403's module holds the dtype and constant analyses and calls this one: import it when first needed.
    from ..epsilon_resolution import dtype_format, fold, module_facts, static_dtype

    if callee is None:
        return None
    row: LibraryEpsilon | None = None
    fmt: FloatFormat | None = None
    if callee in TORCH_OPTIMIZERS:
        row = TORCH_OPTIMIZERS[callee]
        params = arg(call, 0, "params")
        fmt = _parameters_format(params, context) if params is not None else None
    elif callee in KERAS_OPTIMIZERS:
        row = KERAS_OPTIMIZERS[callee]
        facts = module_facts(context)
        if facts.policy_name is not None and facts.policy_name.startswith("mixed_"):
            return None  # float32 variables and optimizer state
        fmt = facts.policy or facts.floatx
    elif callee in TORCH_FUNCTIONS:
        row = TORCH_FUNCTIONS[callee]
        tensor = arg(call, 0, "input") or arg(call, 0, "x1")
        fmt = static_dtype(tensor, context) if tensor is not None else None
    elif callee in TORCH_LAYERS:
        row = TORCH_LAYERS[callee]
        dtype = keyword_arg(call, "dtype")
        fmt = dtype_format(dtype.value, context) if dtype is not None else None
    if row is None or fmt is not FLOAT16:
        return None
    keyword, position, default, failure = row
    given = arg(call, position, keyword)
    if given is None:
        value, where = default, "(the default)"
    else:
        folded = fold(given, context)
        if folded is None:
            return None
        value, where = folded.value, ""
    stored = fmt.round(value)
    name = callee.rsplit(".", 1)[-1]
    shown = f"{keyword}={short(value)}" + (" (default)" if given is None else "")
    becomes = f"`{name}` {shown} is {short(stored) if stored else 0} in float16"
    runs = "its parameters are float16" if callee in TORCH_OPTIMIZERS else "the module sets float16" if callee in KERAS_OPTIMIZERS else "its input is float16"
    if failure == "zero":
        if stored != 0.0:
            return None
        suggestion = _smallest_surviving(fmt)
        consequence = "a zero vector gives NaN" if callee in TORCH_FUNCTIONS else "a constant batch gives NaN"
        message = f"{becomes}: {consequence}; use {keyword}>={suggestion}"
        details = (
            f"`{name}` runs in float16 here ({runs}), where {short(value)} is stored as 0 (every value below "
            f"{short(fmt.rounds_to_zero)} is), so its floor or addend vanishes and an input it was meant to guard gives "
            f"0/0 = NaN (measured with torch 2.13: `F.normalize` and `F.cosine_similarity` of a zero vector, "
            f"`BatchNorm1d(eps=1e-12)` on a constant batch). {suggestion} is the smallest power of ten float16 keeps."
        )
    else:
        if value >= fmt.reciprocal_overflow:
            return None
        suggestion = FLOAT16_SUGGESTED
        consequence = "updates are NaN" if stored == 0.0 else "updates explode"
        message = f"{becomes}: {consequence}; use {keyword}={suggestion}"
        details = (
            f"`{name}` runs in float16 here ({runs}). Its update is m / (sqrt(v) + {keyword}); v underflows to 0 for "
            f"any gradient below about 2.4e-4 (g**2 < 6e-8), and then the update is m / {keyword}, with {keyword} = "
            f"{short(stored)} in float16. Measured on the CPU: torch Adam with the default 1e-8 (stored as 0) gives NaN "
            f"weights after one step with a zero gradient; with 1e-6 a gradient of 1e-3 moves a weight by 1.7 per step at "
            f"lr=1e-3; Keras Adam with 1e-7 by 0.5; with {suggestion} (the smallest power of ten whose reciprocal is "
            f"finite in float16, below 65504) the steps are 0.017 and 0.0006. Mixed precision (autocast, "
            f"`mixed_float16`) keeps float32 optimizer state and is not reported."
        )
    return LibraryEpsilonFinding(message, details, f"Use {keyword}={suggestion}", _with_epsilon(call, keyword, given, suggestion))


def _parameters_format(params: cst.BaseExpression, context: FileContext) -> FloatFormat | None:
    """The dtype of `model.parameters()` (anywhere in the optimizer's first argument) when the code fixes it."""
    from ..epsilon_resolution import static_dtype

    for node in iter_nodes(params):
        if type(node) is cst.Call and isinstance(node.func, cst.Attribute) and node.func.attr.value == "parameters":
            model = strip_parens(node.func.value)
            fmt = static_dtype(model, context) or _converted_in_place(model, context)
            if fmt is not None:
                return fmt
    return None


def _converted_in_place(model: cst.BaseExpression, context: FileContext) -> FloatFormat | None:
    """`model.half()` / `model.to(torch.float16)` as a statement: `nn.Module.half` and `.to` convert in place."""
    from ..epsilon_resolution import static_dtype

    if not isinstance(model, cst.Name):
        return None
    scope = context.function
    body = scope.node.body if scope is not None and isinstance(scope.node, cst.FunctionDef) else context.module
    for node in iter_nodes(body):
        if type(node) is cst.Expr and type(node.value) is cst.Call:
            func = node.value.func
            if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == model.value:
                fmt = static_dtype(node.value, context)
                if fmt is not None:
                    return fmt
    return None


def _smallest_surviving(fmt: FloatFormat) -> str:
    value = 1e-12
    while fmt.round(value) == 0.0:
        value *= 10
    return epsilon_literal(value)


def _with_epsilon(call: cst.Call, keyword: str, given: cst.BaseExpression | None, suggestion: str) -> cst.Call | None:
    """The call with its epsilon replaced, or added as a keyword when it was left at the default."""
    new_value = cst.Float(suggestion)
    if given is not None:
        args = [a.with_changes(value=new_value) if a.value is given else a for a in call.args]
        return call.with_changes(args=args)
    if any(a.star for a in call.args):
        return None
    args = list(call.args)
    if args and args[-1].comma is cst.MaybeSentinel.DEFAULT:
        args[-1] = args[-1].with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    args.append(cst.Arg(value=new_value, keyword=cst.Name(keyword), equal=cst.AssignEqual(cst.SimpleWhitespace(""), cst.SimpleWhitespace(""))))
    return call.with_changes(args=args)
