"""The contract between the engine and a rule: one class per rule, as in Fixit 2.

A rule declares its code, name, docs and VALID/INVALID examples as class attributes and implements libcst
visitor methods (`visit_Call`, `leave_FunctionDef`, ...). The engine instantiates every selected rule once per
file and walks the tree once, calling each rule's methods in turn; rules call `self.report(...)` with the node
to blame and, optionally, a fix expressed as node replacements. Positions are computed only for files that have
reports, so clean files never pay for position metadata.
"""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar, Literal, Sequence

from lint_eps.lazy import libcst as cst

if TYPE_CHECKING:
    from .context import FileContext
    from .prefilter import FileText, FunctionFacts

FixApplicability = Literal["safe", "unsafe"]
Fixable = Literal["never", "sometimes", "always"]

CODE_RE = re.compile(r"^EPS\d{3}$")


@dataclass(frozen=True)
class Replacement:
    """Replace `node` by `new` (a node, or source text) in the file."""

    node: cst.CSTNode
    new: cst.CSTNode | str


@dataclass(frozen=True)
class FixSpec:
    applicability: FixApplicability
    message: str
    replacements: tuple[Replacement, ...]


@dataclass(frozen=True)
class Report:
    code: str
    rule_name: str
    node: cst.CSTNode
    message: str
    fix: FixSpec | None = None
    related: tuple[tuple[str, cst.CSTNode], ...] = ()
    # The full explanation behind the one-line message (why it fails, in the framework the code uses).
    details: str = ""
    # Lower wins when two rules blame overlapping code for the same mistake; see `Rule.specificity`.
    specificity: int = 0


@dataclass(frozen=True)
class Invalid:
    """An INVALID example: `code` must yield one finding of the rule (or `count`), and `fixed` is the text after
    applying its fixes (safe and unsafe), or None when the rule must offer no fix for it."""

    code: str
    fixed: str | None = None
    count: int = 1
    settings: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Valid:
    code: str
    settings: dict[str, object] = field(default_factory=dict)


class Rule:
    """Base class of every rule. Subclasses live in `lint_eps.rules` and are discovered automatically."""

    code: ClassVar[str] = ""
    name: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    # Ruff-shaped documentation, markdown, with the sections "What it does", "Why is this bad?",
    # "Example", "Use instead", "Fix safety".
    docs: ClassVar[str] = ""
    default_enabled: ClassVar[bool] = True
    fixable: ClassVar[Fixable] = "never"
    # Byte-level prefilter: the file is parsed for this rule only if it contains one of these byte
    # strings. An empty tuple means "always" (the rule then costs a parse on every file).
    triggers: ClassVar[tuple[bytes, ...]] = ()
    # Sharper prefilter, consulted only for files where a trigger occurs (or when there are no triggers): a
    # compiled regex that must match the text, or a predicate over a `lint_eps.prefilter.FileText` (the text,
    # CPython's ast and every function's name and parameters, computed once per file and shared by all rules;
    # wrap a plain function in `staticmethod`). It returns False only when the rule provably cannot report on
    # the file. tests/test_scale.py and bench/run.py check identical findings with and without it.
    prefilter: ClassVar["re.Pattern[str] | Callable[[FileText], bool] | None"] = None
    # Which outermost functions (defs not inside another def) the rule needs parsed: a predicate over
    # (FileText, FunctionFacts), or None for every function. The engine parses the bodies of the functions some
    # rule of the file needs and stubs the others out (`lint_eps/skeleton.py`), so it pays libcst only for code
    # that can matter. Sound like `prefilter`: False only when no report of the rule, anywhere in the file, can
    # depend on that function's body (or on the functions nested in it). Module-level code is always parsed.
    needs_function: ClassVar["Callable[[FileText, FunctionFacts], bool] | None"] = None
    # When two rules report on overlapping code, the report with the lower value is kept: the more specific
    # rule names the mistake more precisely (EPS202 over EPS201 on log(sigmoid(x))).
    specificity: ClassVar[int] = 50
    # Codes this rule's findings make redundant when they overlap.
    supersedes: ClassVar[tuple[str, ...]] = ()
    # Codes the engine itself reports (syntax errors, I/O errors); they have no visitor.
    engine_only: ClassVar[bool] = False
    VALID: ClassVar[Sequence[Valid | str]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()

    def __init__(self, context: "FileContext") -> None:
        self.context = context
        self.reports: list[Report] = []

    # -- for subclasses ---------------------------------------------------------------------------------
    def report(
        self,
        node: cst.CSTNode,
        message: str | None = None,
        *,
        fix: FixSpec | None = None,
        related: Sequence[tuple[str, cst.CSTNode]] = (),
        details: str = "",
    ) -> None:
        """Report `node`. `message` is one short line (what is wrong, what to do: ruff's style, about 100
        characters); `details` carries the full explanation, shown by `--show-details`, hover and SARIF."""
        self.reports.append(
            Report(
                code=self.code,
                rule_name=self.name,
                node=node,
                message=message or self.summary,
                fix=fix,
                related=tuple(related),
                details=details,
                specificity=self.specificity,
            )
        )

    def quote(self, code: "cst.CSTNode | str", limit: int = 30) -> str:
        """`code` in backticks for a one-line message: whitespace collapsed, cut to `limit` characters with `…`."""
        text = " ".join((code if isinstance(code, str) else self.context.code(code)).split())
        return f"`{text if len(text) <= limit else text[: limit - 1] + '…'}`"

    @staticmethod
    def fix(applicability: FixApplicability, message: str, *replacements: Replacement) -> FixSpec:
        return FixSpec(applicability, message, tuple(replacements))

    # -- for the catalogue ------------------------------------------------------------------------------
    @classmethod
    def documentation(cls) -> str:
        body = textwrap.dedent(cls.docs).strip()
        header = f"# {cls.name} ({cls.code})\n\n"
        fix_line = {
            "never": "Fix is not available.",
            "sometimes": "Fix is sometimes available.",
            "always": "Fix is always available.",
        }[cls.fixable]
        status = "enabled by default" if cls.default_enabled else "off by default (opt in with --select " + cls.code + ")"
        return f"{header}{fix_line} This rule is {status}.\n\n{body}\n"


def validate_rule_class(rule: type[Rule]) -> list[str]:
    """Problems with a rule's declaration (checked by the test suite for every rule)."""
    problems = []
    if not CODE_RE.match(rule.code):
        problems.append(f"{rule.__name__}: code {rule.code!r} is not EPSnnn")
    if not re.match(r"^[a-z0-9]+(-[a-z0-9]+)*$", rule.name or ""):
        problems.append(f"{rule.__name__}: name {rule.name!r} is not kebab-case")
    if not rule.summary:
        problems.append(f"{rule.__name__}: no summary")
    for section in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Fix safety"):
        if section not in rule.docs:
            problems.append(f"{rule.__name__}: docs lack '{section}'")
    return problems
