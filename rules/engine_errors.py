"""Codes the engine reports itself. They are rules only so that they are documented, selectable and ignorable."""

from __future__ import annotations

from lint_eps.rule import Invalid, Rule


class InvalidSyntax(Rule):
    code = "EPS001"
    name = "invalid-syntax"
    summary = "File cannot be parsed"
    engine_only = True
    docs = """
    ## What it does
    Reports a file that is not valid Python source: a syntax error, a NUL byte, or bytes that do not decode
    in the file's encoding (UTF-8 unless a coding cookie says otherwise).

    ## Why is this bad?
    Nothing in the file can be checked, so every other rule is silent on it. The rest of the run goes on.

    ## Example
    ```python
    def dice(y_true, y_pred:
        ...
    ```

    ## Use instead
    ```python
    def dice(y_true, y_pred):
        ...
    ```

    ## Fix safety
    There is no fix.
    """
    INVALID = [Invalid("def dice(y_true, y_pred:\n    pass\n")]
    VALID = ["def dice(y_true, y_pred):\n    pass\n"]


class InternalError(Rule):
    code = "EPS002"
    name = "internal-error"
    summary = "A rule failed on this file"
    engine_only = True
    docs = """
    ## What it does
    Reports that a rule raised an exception on this file. The rule is skipped for the rest of the file and
    every other rule and file is still checked.

    ## Why is this bad?
    The failing rule may have missed a real problem in this file. Please report it with the file.

    ## Example
    (no source pattern: this is a bug in lint-eps)

    ## Use instead
    Report the message, which names the rule and where it failed.

    ## Fix safety
    There is no fix.
    """


class IOError_(Rule):
    code = "EPS003"
    name = "io-error"
    summary = "File cannot be read, or `--fix` cannot write it"
    engine_only = True
    docs = """
    ## What it does
    Reports a file that was found (or named) but could not be read: permissions, a vanished file. With `--fix`,
    also a file whose fixes could not be written, which is then left exactly as it was: a read-only file (no write
    bit, also when running as root), a file or folder the user may not write, a file with several hard links (the
    atomic rewrite would split them), or a file whose owner and group could not be kept. The rest of the run goes
    on.

    ## Why is this bad?
    An unreadable file is not checked at all; an unwritable one keeps the findings its fixes would have removed.

    ## Example
    A file with mode `000`, or `--fix` on a file with mode `444`.

    ## Use instead
    Make the file readable (or writable, to fix it), or exclude it with `extend-exclude`.

    ## Fix safety
    There is no fix.
    """


class OverBudget(Rule):
    code = "EPS005"
    name = "over-budget"
    summary = "File skipped: over the per-file size or time budget"
    engine_only = True
    docs = """
    ## What it does
    Reports a file that was not checked because it is over the per-file budget: larger than `max-file-size`
    bytes (default 10,000,000; the file is not parsed at all), or taking more than `file-timeout` seconds of
    CPU time to lint or fix (default 60; the work is stopped and nothing is written). The message names the
    budget.

    ## Why is this bad?
    The file is not checked. Real ML source files are well under 1 MB and take seconds; a file over the budget
    is usually generated code or data saved as Python, and the budget keeps it from stalling a whole run, a
    pre-commit hook or the editor.

    ## Example
    A 40 MB generated module of lookup tables.

    ## Use instead
    Exclude the file (`extend-exclude`), or raise the budget for a file you do want checked:
    `max-file-size = 50_000_000` or `file-timeout = 300` in `[tool.lint-eps]` (or `--max-file-size`,
    `--file-timeout`); 0 turns a budget off.

    ## Fix safety
    There is no fix.
    """
