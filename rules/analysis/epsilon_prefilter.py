"""Prefilter of EPS403 (epsilon below the resolution of its dtype), derived from the rule's report paths.

EPS403 reports (see rules/epsilon_resolution.py):
  A. a clip (`CLIP_FUNCTIONS`, `CLIP_METHODS`) or B. a floor (`MAXIMUM_FUNCTIONS`): the callee's qualified name,
     or the method, ends with one of a few identifiers, which then occur in the file (at the call, or in the
     import of an alias);
  C1. `(eps + C) - X` with `C` a numeric literal (`number_value`): CPython's ast has the same shape;
  C2/C3. `h + eps` / `x / (h + eps)` where `h` has a dtype the code fixes (`static_dtype`) or the module sets a
     mixed policy, and eps rounds to 0 (or its reciprocal overflows) in that format. In float16 and bfloat16
     that needs the format named in the file ("float16", "half"; "bfloat16" and "mixed_float16" contain
     "float16"); in float32 and float64 it needs a value below 3e-39, which only an exponent literal of 38 or
     more, a power, a product or quotient involving an exponent literal, or finfo's subnormal/tiny can produce.
Answers True whenever one of these is possible, so it never drops a finding.
"""

from __future__ import annotations

import ast
import re
from typing import TYPE_CHECKING

from lint_eps.prefilter import at_module_level, has_word, expressions, holding, identifiers_reaching, line_starts, mentions, module_assignments, module_names_bound_at, positions, statement_span, statements_covering, within, word_positions

from .library_epsilons import LIBRARY_EPSILON_NAMES
from ..tables.epsilon import CLIP_FUNCTIONS, CLIP_METHODS, GLOBAL_SETTERS, MAXIMUM_FUNCTIONS, POLICY_SETTERS, SET_EPSILON_FUNCTIONS, SET_FLOATX_FUNCTIONS

if TYPE_CHECKING:
    from lint_eps.prefilter import FileText, FunctionFacts

_HALF_PRECISION = re.compile(r"float16|half")
_TINY = re.compile(
    r"[eE]-0*(?:3[89]|[4-9]\d|\d{3,})"  # an exponent literal below 1e-37
    r"|[eE]-\d[\d_]*\s*[*/]|[*/]\s*\(?\s*[\d.][\d_.]*[eE]-"  # a product or quotient with an exponent literal
    r"|0\.0000|\.0000"  # a long decimal fraction in a product
    r"|finfo|subnormal|tiny"
)
# ... or a power `fold` can compute (`_foldable_powers`): most powers in ML code are of tensors (`diff ** 2`), and
# keeping every function that has one and an addition kept half of the function bodies of a loss library.
_POWER = re.compile(r"\*\*")


def _is_number(node: ast.AST) -> bool:
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def eps403_may_report(text: "FileText") -> bool:
    source = text.source
    if has_word(source, _CLIP_NAMES) or "float16" in source or "half" in source:
        return True  # A, B; C2/C3 in float16/bfloat16
    tree = text.tree
    if tree is None:
        return True
    c1_sites = _c1_sites(text)
    if c1_sites is None or c1_sites:
        return True  # C1
    return (_TINY.search(source) is not None or bool(_foldable_powers(text))) and bool(_additions(text))  # C2/C3 in float32/64


# -- per function (Rule.needs_function) -------------------------------------------------------------------
# A report sits in the function that holds the clip, floor or arithmetic, and reads only that function's code,
# the module-level code (bindings, imports) and the module's global settings (`module_facts`: setter calls
# anywhere). Values in C2/C3 come from `fold`: literals and names bound in the function or at module level.
# C3 in float16 needs an epsilon whose reciprocal overflows (below 1.53e-5): an exponent literal of 5 or more,
# a long decimal fraction, Keras's `epsilon()`, finfo, a power or a quotient; everywhere else C2/C3 need the
# float32-tiny values of `_TINY`.
_SETTER_NAMES = tuple(sorted({n.rsplit(".", 1)[-1] for n in (*SET_EPSILON_FUNCTIONS, *SET_FLOATX_FUNCTIONS, *POLICY_SETTERS)}))
_CLIP_NAMES = tuple(sorted({n.rsplit(".", 1)[-1] for n in (*CLIP_FUNCTIONS, *MAXIMUM_FUNCTIONS)} | set(CLIP_METHODS)))
_SMALL_FOR_HALF = re.compile(
    r"[eE]-0*(?:[5-9]|\d\d+)"  # an exponent literal of 1e-5 or below
    r"|\*\*|/"  # a power or a quotient
    r"|[eE]-\d[\d_]*\s*[*/]|[*/]\s*\(?\s*[\d.][\d_.]*[eE]-"  # a product with an exponent literal
    r"|0\.0000|\.0000"
    r"|finfo|subnormal|tiny"
)


def sets_keras_globals(text: "FileText", function: "FunctionFacts") -> bool:
    """Whether the function may call a global setter (`set_epsilon`, `set_floatx`, a policy setter) through
    its name or a module-level alias: `module_facts` reads every such call in the file, and EPS401/EPS402
    report on them (their other reads are the call's own function and the module-level code)."""
    return mentions(text, function, *_SETTER_NAMES)


GLOBAL_SETTER_NAMES = tuple(sorted({n.rsplit(".", 1)[-1] for n in GLOBAL_SETTERS}))


def mentions_global_setter(text: "FileText", function: "FunctionFacts") -> bool:
    """EPS404's gate: the function writes the name of a global setter (or a module-level alias of one); an
    assignment to `...set_epsilon` can only sit where the identifier is written."""
    return mentions(text, function, *GLOBAL_SETTER_NAMES)


def eps403_needs_function(text: "FileText", function: "FunctionFacts") -> bool:
    start, end = function.start, function.end
    if mentions(text, function, *_CLIP_NAMES, *_SETTER_NAMES):
        return True  # A, B; the global settings every report reads
    c1_sites = _c1_sites(text)
    if c1_sites is None or within(c1_sites, start, end):
        return True  # C1

    def here_or_module(key: str, found: list[int]) -> bool:
        # Whether a site is at module level is one answer per file (asking it per function was quadratic).
        return within(found, start, end) or text.memo("eps403.module_level:" + key, lambda: at_module_level(text, found))

    def half_precision() -> bool:
        # Written here or at module level (a `.half()`, a `torch.float16`), or a setter's policy (in a function of
        # its own, kept above), which reaches layer code anywhere.
        return here_or_module("half", positions(text, _HALF_PRECISION)) or text.memo(
            "eps403.setters_and_half", lambda: bool(word_positions(text, identifiers_reaching(text, *_SETTER_NAMES))) and _HALF_PRECISION.search(text.source) is not None
        )

    # C2/C3: first the values (rare), then whether the function adds or divides at all. A float32-tiny value is
    # written in the function, or bound at module level to a name the function writes, or written elsewhere
    # outside every function (`set_epsilon(1e-40)` at import time, a class body), from where it may reach any
    # function; in half precision a value small for it is written here, at module level, or is an `epsilon`.
    tiny = text.memo("eps403.tiny", lambda: sorted(positions(text, _TINY) + _foldable_powers(text)))
    small = (
        within(tiny, start, end)
        or mentions(text, function, *module_names_bound_at(text, tiny, "eps403.tiny"))
        or text.memo("eps403.loose_tiny", lambda: _loose(text, tiny))
        or (
            half_precision()
            and (
                here_or_module("small_for_half", positions(text, _SMALL_FOR_HALF))
                or here_or_module("epsilon", text.memo("eps403.epsilon_words", lambda: word_positions(text, identifiers_reaching(text, "epsilon"))))
            )
        )
    )
    if small and within(_additions(text), start, end):
        return True
    # D: an epsilon handed to an optimizer, layer or function (analysis/library_epsilons.py) in float16: the call
    # sits in this function, and the half precision is written here or at module level or set for Keras by a
    # global setter anywhere in the file.
    return mentions(text, function, *LIBRARY_EPSILON_NAMES) and half_precision()


def _c1_sites(text: "FileText") -> "list[int] | None":
    """Offsets of the starts of the lines holding a C1 shape `(C + x) - y` (None without an ast)."""

    def compute() -> "list[int] | None":
        if text.tree is None:
            return None
        starts = line_starts(text)
        found: set[int] = set()
        for node in _binary_operations(text, _PLUS_NEXT_TO_NUMBER):
            if isinstance(node.op, ast.Sub):
                left = node.left
                if isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add) and (_is_number(left.left) or _is_number(left.right)):
                    found.add(starts[node.lineno - 1])
        return sorted(found)

    return text.memo("eps403.c1", compute)


def _additions(text: "FileText") -> list[int]:
    """Offsets of the starts of the lines holding an addition or a division."""

    def compute() -> list[int]:
        starts = line_starts(text)
        return sorted({starts[n.lineno - 1] for n in _binary_operations(text, _PLUS_OR_SLASH) if isinstance(n.op, (ast.Add, ast.Div))})

    return text.memo("eps403.additions", compute)


def _binary_operations(text: "FileText", operator: "re.Pattern[str]") -> "list[ast.BinOp]":
    """The binary operations of the statements whose lines write `operator` (every such operation does). Each
    statement's are collected once per file: C1 asks for `+` and C2/C3 for `+` or `/`, mostly the same statements."""
    by_statement: dict[int, list[ast.BinOp]] = text.memo("eps403.binary_operations", dict)  # type: ignore[assignment]
    out: list[ast.BinOp] = []
    for statement in statements_covering(text, positions(text, operator)):
        found = by_statement.get(id(statement))
        if found is None:
            found = by_statement[id(statement)] = [node for node in expressions(statement) if isinstance(node, ast.BinOp)]
        out.extend(found)
    return out


# C1's addition has a number literal for an operand: the literal is written next to the `+` (possibly signed, or
# in parentheses of its own). Only the statements holding such a `+` are walked, not every statement that adds.
_PLUS_NEXT_TO_NUMBER = re.compile(r"[\d.][\s\\]*\+|\(\s*[-+]?\s*[\d.][\w.]*(?:[-+][\d_]+)?\s*\)[\s\\]*\+|\+[\s\\(]*[-+]?\s*[\d.]")
_PLUS_OR_SLASH = re.compile(r"[+/]")


# -- powers that fold ----------------------------------------------------------------------------------------
# `fold` (rules/epsilon_resolution.py) computes a power only when both operands fold: numeric literals, unary
# signs and arithmetic on foldable operands, names assigned a foldable value (or parameters whose default folds),
# `float(...)`, Keras's `epsilon()`, finfo's attributes, inf and nan. The names are collected over the whole file
# (every scope at once): a superset of what `fold` finds in any one scope, so the gate never drops a finding.
_FOLDABLE_OPERATORS = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_FOLDABLE_ATTRIBUTES = frozenset({"eps", "epsneg", "tiny", "smallest_normal", "smallest_subnormal", "max", "inf", "nan"})


def _foldable_powers(text: "FileText") -> list[int]:
    """Offsets of the starts of the lines holding a power both of whose operands may fold (every `**` without an
    ast)."""

    def compute() -> list[int]:
        if text.tree is None:
            return positions(text, _POWER)
        powers = [node for node in _binary_operations(text, _POWER) if isinstance(node.op, ast.Pow)]
        if not powers:
            return []
        getters = identifiers_reaching(text, "epsilon")
        # First with every name taken as foldable, collecting the names; then only those names' bindings.
        asked: set[str] = set()
        candidates = [n for n in powers if _may_fold(n.left, None, getters, asked) and _may_fold(n.right, None, getters, asked)]
        names = _constant_names(text, asked, getters) if asked else frozenset()
        starts = line_starts(text)
        return sorted({starts[n.lineno - 1] for n in candidates if _may_fold(n.left, names, getters) and _may_fold(n.right, names, getters)})

    return text.memo("eps403.foldable_powers", compute)


def _may_fold(node: ast.AST, names: "frozenset[str] | set[str] | None", getters: frozenset[str], asked: "set[str] | None" = None) -> bool:
    """Whether `fold` may compute `node`, given the names that may fold (`None`: any name, each added to
    `asked`)."""
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    if isinstance(node, ast.Constant):
        return type(node.value) in (int, float)
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, _FOLDABLE_OPERATORS) and _may_fold(node.left, names, getters, asked) and _may_fold(node.right, names, getters, asked)
    if isinstance(node, ast.Name):
        if names is None:
            if asked is not None:
                asked.add(node.id)
            return True
        return node.id in names
    if isinstance(node, ast.Attribute):
        return node.attr in _FOLDABLE_ATTRIBUTES
    if isinstance(node, ast.Call):
        func = node.func
        called = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        return called == "float" or (called in getters and not node.args and not node.keywords)
    return False


def _constant_names(text: "FileText", wanted: set[str], getters: frozenset[str]) -> frozenset[str]:
    """Which of `wanted` the file binds, in some scope, to a value that may fold (or gives a parameter default
    that may), following the names those values use. Only the statements that write the names are read: a walk of
    the whole tree cost more than the gate saved."""
    values: dict[str, list[ast.AST]] = {}
    seen: set[str] = set()
    pending = set(wanted)
    # A walrus or a lambda's default sits inside an expression: only then are the statements' expressions read.
    nested = ":=" in text.source or "lambda" in text.source
    while pending:
        seen |= pending
        for statement in statements_covering(text, word_positions(text, pending)):
            _collect_binding(statement.args if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) else statement, values)
            if nested:
                for node in expressions(statement):
                    _collect_binding(node, values)
        used = {n.id for name in pending for value in values.get(name, ()) for n in ast.walk(value) if isinstance(n, ast.Name)}
        pending = used - seen
    names: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, candidates in values.items():
            if name in seen and name not in names and any(_may_fold(value, names, getters) for value in candidates):
                names.add(name)
                grew = True
    return frozenset(names)


def _collect_binding(node: ast.AST, values: dict[str, list[ast.AST]]) -> None:
    """The value each name gets from `node`: an assignment, a walrus, a parameter's default."""
    if isinstance(node, ast.Assign):
        for target in node.targets:
            if isinstance(target, ast.Name):
                values.setdefault(target.id, []).append(node.value)
    elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)):
        if node.value is not None and isinstance(node.target, ast.Name):
            values.setdefault(node.target.id, []).append(node.value)
    elif isinstance(node, ast.arguments):
        positional = [*node.posonlyargs, *node.args]
        for param, default in zip(positional[len(positional) - len(node.defaults) :], node.defaults):
            values.setdefault(param.arg, []).append(default)
        for param, default in zip(node.kwonlyargs, node.kw_defaults):
            if default is not None:
                values.setdefault(param.arg, []).append(default)


def _loose(text: "FileText", offsets: list[int]) -> bool:
    """Whether one of `offsets` lies outside every function, every module-level assignment (whose names
    `module_names_bound_at` follows) and every bare string at module level (docstrings: model names such as
    `coat_tiny` and long decimals in tables of expected values were most of what kept functions here)."""
    tree = text.tree
    if tree is None:
        return bool(offsets)
    spans = [statement_span(text, s) for s in [*module_assignments(text), *(s for s in tree.body if isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))]]
    return any(holding(text, offset) is None and not any(low <= offset < high for low, high in spans) for offset in offsets)
