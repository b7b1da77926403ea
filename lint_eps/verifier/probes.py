"""Per-finding evidence, in the worker: the flagged expression itself is watched while the function runs.

A function's output going NaN says nothing about which of its findings caused it (`tp / pos + tn / neg` with
all-zero labels breaks `tp / pos`, not `tn / neg`). So the definition holding the findings is compiled again
from its source with every expression a finding needs wrapped in `__lint_eps_probe__(i, expr)`, which hands the
value back unchanged and notes, for the case being run, whether it is NaN/inf and whether it was *born* there
(non-finite while every watched input of that expression was finite). A finding is triggered by a case when:

- a division, log or logits rule (EPS1xx, EPS2xx, EPS3xx): a NaN/inf is born inside the flagged expression;
- EPS403 (a guard that rounds away): the guarded value reaches what the guard was for (a clip whose bound
  rounded to 0 or 1 returns 0 or 1, an `eps + 1 - p` that is 0), or a NaN/inf is born in it or in the
  expressions of the same statement that consume it (`log(...)`, `x / (...)`).

A Python-float division or `np.seterr(all="raise")` raises instead of returning inf: the expression that raised
is read from the traceback's instruction position.
"""

from __future__ import annotations

import ast
import sys
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

PROBE = "__lint_eps_probe__"
CLIP_NAMES = frozenset({"clip", "clamp", "clip_by_value", "clip_", "clamp_", "clamp_min"})
GUARD_CODES = ("EPS403",)
# Rules whose finding is about a value the function computes (EPS504/EPS505: whose derivative; see gradients.py).
VALUE_CODES = ("EPS1", "EPS2", "EPS3", "EPS403", "EPS501", "EPS502", "EPS503", "EPS504", "EPS505", "EPS506")
SEGMENT_LIMIT = 60


@dataclass
class Finding:
    """One finding of the definition: its flagged node and the probes that decide it."""

    code: str
    node: ast.expr | None
    text: str  # the flagged source, shortened
    own: int | None = None  # probe id of the flagged node
    watched: set[int] = field(default_factory=set)  # probe ids where a birth triggers it
    guard: int | None = None  # probe id of the guarded value (EPS403)
    bounds: tuple[int | None, int | None] = (None, None)  # probe ids of a clip's lower and upper bound
    spans: list[tuple[int, int, int, int]] = field(default_factory=list)  # spans of the watched nodes (for exceptions)


@dataclass
class Summary:
    kind: str | None  # "nan", "inf", "-inf" or None (finite)
    zero: bool
    one: bool
    low: float
    high: float


def summarize(array: np.ndarray) -> Summary:
    with np.errstate(all="ignore"):
        kind = None
        if np.isnan(array).any():
            kind = "nan"
        elif np.isposinf(array).any():
            kind = "inf"
        elif np.isneginf(array).any():
            kind = "-inf"
        finite = array[np.isfinite(array)] if array.ndim else (array if np.isfinite(array) else np.array([]))
        low = float(np.min(finite)) if finite.size else float("nan")
        high = float(np.max(finite)) if finite.size else float("nan")
        return Summary(kind, bool((array == 0).any()), bool((array == 1).any()), low, high)


class Recorder:
    """The probe the instrumented code calls; `start()` clears what one case saw."""

    def __init__(self, numeric: Callable[[Any], np.ndarray | None], inputs: dict[int, list[int]], reads: set[int]) -> None:
        self.numeric = numeric
        self.inputs = inputs
        self.reads = reads  # names, attributes, constants: a value read there was made elsewhere
        self.active = False
        self.latest: dict[int, Summary | None] = {}
        self.born: dict[int, str] = {}
        self.values: dict[int, Summary] = {}  # the first summary of each probe in this case
        self.ever: set[int] = set()  # probes that saw a value in any case

    def start(self) -> None:
        self.active = True
        self.latest.clear()
        self.born.clear()
        self.values.clear()

    def stop(self) -> None:
        self.active = False

    def __call__(self, index: int, value: Any) -> Any:
        if not self.active:
            return value
        try:
            array = self.numeric(value)
        except Exception:  # a symbolic tensor (tf.function, jit): nothing to see
            array = None
        if array is None:
            self.latest[index] = None
            return value
        summary = summarize(array)
        self.latest[index] = summary
        self.ever.add(index)
        previous = self.values.get(index)
        if previous is None or (summary.kind and not previous.kind) or (summary.zero and not previous.zero) or (summary.one and not previous.one):
            self.values[index] = summary
        if summary.kind and index not in self.born and index not in self.reads:
            if all(self.latest.get(i) is None or self.latest[i].kind is None for i in self.inputs.get(index, ())):  # type: ignore[union-attr]
                self.born[index] = summary.kind
        return value


# -- locating nodes ------------------------------------------------------------------------------------------
class Lines:
    """Character columns of AST nodes (whose col_offset counts UTF-8 bytes)."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines(keepends=True)
        self.text = text

    def column(self, row: int, byte_offset: int) -> int:
        line = self.lines[row - 1] if 0 < row <= len(self.lines) else ""
        return len(line.encode("utf-8")[:byte_offset].decode("utf-8", errors="replace"))

    def span(self, node: ast.AST) -> tuple[int, int, int, int]:
        return (
            node.lineno,  # type: ignore[attr-defined]
            self.column(node.lineno, node.col_offset) + 1,  # type: ignore[attr-defined]
            node.end_lineno or node.lineno,  # type: ignore[attr-defined]
            self.column(node.end_lineno or node.lineno, node.end_col_offset or 0) + 1,  # type: ignore[attr-defined]
        )


def _contains(outer: tuple[int, int, int, int], inner: tuple[int, int, int, int]) -> bool:
    return (outer[0], outer[1]) <= (inner[0], inner[1]) and (inner[2], inner[3]) <= (outer[2], outer[3])


def find_node(definition: ast.AST, lines: Lines, span: tuple[int, int, int, int]) -> ast.expr | None:
    """The outermost expression with exactly this span, else the smallest one that contains it."""
    exact: list[ast.expr] = []
    covering: list[tuple[int, ast.expr]] = []
    for node in ast.walk(definition):
        if not isinstance(node, ast.expr):
            continue
        own = lines.span(node)
        if own == span:
            exact.append(node)
        elif _contains(own, span):
            covering.append((len(ast.get_source_segment(lines.text, node) or ""), node))
    if exact:
        return exact[0]  # ast.walk is breadth-first: the first is the outermost
    return min(covering, key=lambda c: c[0])[1] if covering else None


def _children(node: ast.AST) -> list[ast.expr]:
    """The sub-expressions of `node` whose values feed it (a call's arguments and receiver, not its callee)."""
    if isinstance(node, ast.Call):
        func = node.func
        receivers = [func.value] if isinstance(func, ast.Attribute) else []
        return receivers + [a.value if isinstance(a, ast.Starred) else a for a in node.args] + [k.value for k in node.keywords]
    if isinstance(node, (ast.JoinedStr, ast.Lambda)):
        return []
    out: list[ast.expr] = []
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.Starred):
            out.append(child.value)
        elif isinstance(child, ast.expr):
            out.append(child)
        elif isinstance(child, ast.comprehension):
            out.extend([child.iter, *child.ifs])
    return out


def _probeable(node: ast.expr) -> bool:
    if isinstance(node, (ast.Slice, ast.Starred, ast.Yield, ast.YieldFrom, ast.Await, ast.FormattedValue, ast.JoinedStr)):
        return False
    if not isinstance(getattr(node, "ctx", ast.Load()), ast.Load):
        return False
    if isinstance(node, ast.Tuple) and any(isinstance(e, ast.Slice) for e in node.elts):
        return False
    return True


def _subtree(node: ast.expr) -> list[ast.expr]:
    out = [node]
    for child in _children(node):
        out.extend(_subtree(child))
    return out


def _parents(root: ast.AST) -> dict[int, ast.AST]:
    return {id(child): parent for parent in ast.walk(root) for child in ast.iter_child_nodes(parent)}


def _callee(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
    return None


def _clip_bounds(node: ast.expr) -> tuple[ast.expr | None, ast.expr | None]:
    if _callee(node) not in CLIP_NAMES or not isinstance(node, ast.Call):
        return None, None
    args = list(node.args[1:3])
    keywords = {k.arg: k.value for k in node.keywords if k.arg}
    low = args[0] if args else next((keywords[k] for k in ("min", "a_min", "clip_value_min", "x_min", "lower") if k in keywords), None)
    high = args[1] if len(args) > 1 else next((keywords[k] for k in ("max", "a_max", "clip_value_max", "x_max", "upper") if k in keywords), None)
    return low, high


def shorten(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= SEGMENT_LIMIT else text[: SEGMENT_LIMIT - 3] + "..."


# -- instrumenting ---------------------------------------------------------------------------------------------
class _Wrap(ast.NodeTransformer):
    def __init__(self, ids: dict[int, int]) -> None:
        self.ids = ids

    def visit(self, node: ast.AST) -> Any:
        new = self.generic_visit(node)
        index = self.ids.get(id(node))
        if index is None:
            return new
        call = ast.Call(func=ast.Name(id=PROBE, ctx=ast.Load()), args=[ast.Constant(index), new], keywords=[])
        return ast.copy_location(call, node)


@dataclass
class Instrumented:
    obj: Any
    recorder: Recorder
    findings: list[Finding]
    lines: Lines
    filename: str


def instrument(module: Any, filename: str, text: str, attr: str, findings: list[dict[str, Any]], numeric: Callable[[Any], Any]) -> Instrumented | str:
    """Compile the module-level definition `attr` again with probes around what `findings` need; returns the
    new object (the module itself is left as it was) or why it cannot be done."""
    tree = ast.parse(text, filename=filename)
    definition = next((n for n in tree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and n.name == attr), None)
    if definition is None:
        return f"`{attr}` is not a module-level definition in the source"
    lines = Lines(text)
    parents = _parents(definition)
    ids: dict[int, int] = {}
    nodes: dict[int, ast.expr] = {}

    def probe_id(node: ast.expr) -> int | None:
        if not _probeable(node):
            return None
        if id(node) not in ids:
            ids[id(node)] = len(ids)
            nodes[ids[id(node)]] = node
        return ids[id(node)]

    located: list[Finding] = []
    for spec in findings:
        code = spec["code"]
        node = find_node(definition, lines, tuple(spec["span"]))  # type: ignore[arg-type]
        finding = Finding(code, node, shorten(ast.get_source_segment(text, node) or "") if node is not None else "")
        located.append(finding)
        if node is None or not code.startswith(VALUE_CODES):
            continue
        watched = _subtree(node)
        finding.own = probe_id(node)
        if code.startswith(GUARD_CODES):
            finding.guard = finding.own
            low, high = _clip_bounds(node)
            finding.bounds = (probe_id(low) if low is not None else None, probe_id(high) if high is not None else None)
            parent = parents.get(id(node))
            while isinstance(parent, ast.expr):
                watched.append(parent)
                for child in _children(parent):
                    probe_id(child)
                parent = parents.get(id(parent))
        for item in watched:
            index = probe_id(item)
            if index is not None:
                finding.watched.add(index)
                finding.spans.append(lines.span(item))
        for item in _subtree(node):
            probe_id(item)
    # The watched inputs of every probe: its nearest probed sub-expressions.
    inputs: dict[int, list[int]] = {}
    for index, node in nodes.items():
        found: list[int] = []
        stack = list(_children(node))
        while stack:
            child = stack.pop()
            if id(child) in ids:
                found.append(ids[id(child)])
            else:
                stack.extend(_children(child))
        inputs[index] = found
    reads = {index for index, node in nodes.items() if isinstance(node, (ast.Name, ast.Attribute, ast.Constant))}
    recorder = Recorder(numeric, inputs, reads)
    new_definition = _Wrap(ids).visit(definition)
    ast.fix_missing_locations(new_definition)
    code = compile(ast.Module(body=[new_definition], type_ignores=[]), filename, "exec")
    namespace: dict[str, Any] = {}
    setattr(module, PROBE, recorder)
    exec(code, module.__dict__, namespace)  # noqa: S102 - the user's own definition, in the worker
    return Instrumented(namespace[attr], recorder, located, lines, filename)


# -- deciding --------------------------------------------------------------------------------------------------
def raised_at(exc: BaseException, filename: str, lines: Lines) -> tuple[int, int, int, int] | None:
    """The source span of the instruction in `filename` that raised `exc` (whole line before Python 3.11)."""
    tb = exc.__traceback__
    last = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            last = tb
        tb = tb.tb_next
    if last is None:
        return None
    code = last.tb_frame.f_code
    if sys.version_info >= (3, 11):
        positions = list(code.co_positions())
        index = last.tb_lasti // 2
        if 0 <= index < len(positions):
            row, end_row, col, end_col = positions[index]
            if row is not None and col is not None and end_col is not None:
                return (row, lines.column(row, col) + 1, end_row or row, lines.column(end_row or row, end_col) + 1)
    return (last.tb_lineno, 1, last.tb_lineno, 10**9)


def triggered(finding: Finding, recorder: Recorder, raised: tuple[int, int, int, int] | None = None) -> str | None:
    """What this case did to the flagged expression (`is nan`, `is 0`), or None when it did not trigger it."""
    if finding.node is None:
        return None
    if raised is not None:
        if any(_contains(span, raised) for span in finding.spans):
            return "raises"
        return None
    born = [recorder.born[i] for i in sorted(finding.watched) if i in recorder.born]
    if finding.guard is not None:
        value = recorder.values.get(finding.guard)
        low = recorder.values.get(finding.bounds[0]) if finding.bounds[0] is not None else None
        high = recorder.values.get(finding.bounds[1]) if finding.bounds[1] is not None else None
        if value is not None and value.kind is None:
            # A bound that rounds in the dtype the clip computes in (float16 under a mixed-precision policy)
            # shows only in the clip's output, which then reaches 0 or 1.
            if high is not None and high.high <= 1 and value.one:
                return "reaches 1"
            if low is not None and low.low >= 0 and value.zero:
                return "reaches 0"
            if finding.bounds == (None, None) and value.zero:
                return "is 0"
    if born:
        own = recorder.values.get(finding.own) if finding.own is not None else None
        return f"is {own.kind}" if own is not None and own.kind else f"makes {born[0]}"
    return None


def evaluated(finding: Finding, recorder: Recorder) -> bool:
    return bool(finding.watched & recorder.ever)
