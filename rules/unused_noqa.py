"""EPS004: `# noqa: EPSxxx` codes that suppress nothing (ruff's RUF100 for lint-eps codes). Off by default.

Computed by the engine, which alone sees the findings before suppression; the class carries docs and examples.
"""

from __future__ import annotations

from lint_eps.rule import Invalid, Rule, Valid


class UnusedNoqa(Rule):
    code = "EPS004"
    name = "unused-noqa"
    summary = "`# noqa` code that suppresses nothing"
    engine_only = True
    default_enabled = False
    fixable = "always"
    docs = """
    ## What it does
    Finds lint-eps codes in `# noqa: ...` comments that suppress no finding on their line: codes of rules that
    are selected but did not fire there, and `EPS` codes that do not exist. Codes of other linters (`F401`,
    `E501`) and bare `# noqa` comments are left alone, since lint-eps cannot know what they are for. Off by
    default: enable it with `--extend-select EPS004`.

    ## Why is this bad?
    A stale suppression hides the next real finding on that line: after the division was guarded, a new
    unguarded one added to the same line would go unreported. An unknown code is usually a typo that
    suppresses nothing at all.

    ## Example
    ```python
    ratio = hits / (total + 1e-7)  # noqa: EPS101
    ```

    ## Use instead
    ```python
    ratio = hits / (total + 1e-7)
    ```

    ## Fix safety
    The fix is safe: it removes the unused codes from the comment, or the whole `# noqa` directive when no code
    is left, and changes no finding.
    """
    INVALID = [
        Invalid(
            "import torch\nv = torch.log_softmax(x, 1)  # noqa: EPS202\n",
            "import torch\nv = torch.log_softmax(x, 1)\n",
            settings={"select": ("EPS202", "EPS004")},
        ),
        Invalid(
            "import torch\nv = torch.log(torch.sigmoid(z))  # noqa: EPS202, EPS101\n",
            "import torch\nv = torch.log(torch.sigmoid(z))  # noqa: EPS202\n",
            settings={"select": ("EPS101", "EPS202", "EPS004")},
        ),
        Invalid("x = 1  # noqa: EPS999\n", "x = 1\n"),
        Invalid("x = 1  # noqa: F401, EPS202\n", "x = 1  # noqa: F401\n", settings={"select": ("EPS202", "EPS004")}),
        Invalid("x = 1  # noqa:EPS202,EPS203\n", "x = 1\n", settings={"select": ("EPS202", "EPS203", "EPS004")}),
        Invalid("def f():\n    return 1  # NOQA: EPS401 trailing words\n", "def f():\n    return 1  # trailing words\n", settings={"select": ("EPS401", "EPS004")}),
    ]
    VALID = [
        Valid("import torch\nv = torch.log(torch.sigmoid(z))  # noqa: EPS202\n", settings={"select": ("EPS202", "EPS004")}),
        "x = 1  # noqa\n",
        "x = 1  # noqa: F401\n",
        "import os  # noqa: F401, E501\n",
        "text = '# noqa: EPS202'\n",
        # A code of a rule that is not selected is not "unused": another configuration may need it.
        "x = 1  # noqa: EPS303\n",
    ]
