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

from ..tables.epsilon import CLIP_FUNCTIONS, CLIP_METHODS, MAXIMUM_FUNCTIONS

if TYPE_CHECKING:
    from lint_eps.prefilter import FileText

_BEFORE = r"(?<![A-Za-z0-9_\x80-\U0010ffff])"
_AFTER = r"(?![A-Za-z0-9_\x80-\U0010ffff])"
_CLIP_OR_FLOOR = re.compile(
    _BEFORE
    + "(?:"
    + "|".join(sorted({re.escape(n.rsplit(".", 1)[-1]) for n in (*CLIP_FUNCTIONS, *MAXIMUM_FUNCTIONS)} | set(CLIP_METHODS)))
    + ")"
    + _AFTER
)
_HALF_PRECISION = re.compile(r"float16|half")
_TINY = re.compile(
    r"[eE]-0*(?:3[89]|[4-9]\d|\d{3,})"  # an exponent literal below 1e-37
    r"|\*\*"  # a power
    r"|[eE]-\d[\d_]*\s*[*/]|[*/]\s*\(?\s*[\d.][\d_.]*[eE]-"  # a product or quotient with an exponent literal
    r"|0\.0000|\.0000"  # a long decimal fraction in a product
    r"|finfo|subnormal|tiny"
)


def _is_number(node: ast.AST) -> bool:
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        node = node.operand
    return isinstance(node, ast.Constant) and type(node.value) in (int, float)


def eps403_may_report(text: "FileText") -> bool:
    source = text.source
    if _CLIP_OR_FLOOR.search(source) or _HALF_PRECISION.search(source):
        return True  # A, B; C2/C3 in float16/bfloat16
    tree = text.tree
    if tree is None:
        return True
    tiny = _TINY.search(source) is not None
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp):
            if tiny and isinstance(node.op, (ast.Add, ast.Div)):
                return True  # C2/C3 in float32/float64
            left = node.left
            if isinstance(node.op, ast.Sub) and isinstance(left, ast.BinOp) and isinstance(left.op, ast.Add):
                if _is_number(left.left) or _is_number(left.right):
                    return True  # C1
    return False
