"""Generate the rule documentation pages (`docs/rules/CODE.md`) and the README's rule table from the rule classes.

The classes are the single source: `python -m lint_eps.docs` rewrites the pages and the table, and the test
suite fails when they are out of date.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from .registry import all_rules

TABLE_START = "<!-- rules-table:start -->"
TABLE_END = "<!-- rules-table:end -->"


def rule_pages() -> dict[str, str]:
    return {f"{code}.md": rule.documentation() for code, rule in all_rules().items()}


def rules_table() -> str:
    lines = ["| Code | Name | Default | Fix | What it catches |", "|---|---|---|---|---|"]
    for code, rule in all_rules().items():
        fix = {"never": "", "sometimes": "sometimes", "always": "yes"}[rule.fixable]
        lines.append(f"| [{code}](docs/rules/{code}.md) | {rule.name} | {'on' if rule.default_enabled else 'off'} | {fix} | {rule.summary} |")
    return "\n".join(lines)


def render_readme(readme: str) -> str:
    block = f"{TABLE_START}\n{rules_table()}\n{TABLE_END}"
    pattern = re.compile(re.escape(TABLE_START) + r".*?" + re.escape(TABLE_END), re.DOTALL)
    if not pattern.search(readme):
        raise ValueError("README.md has no rules-table markers")
    return pattern.sub(lambda _: block, readme)


def main(root: str = ".") -> int:
    base = Path(root)
    pages = base / "docs" / "rules"
    pages.mkdir(parents=True, exist_ok=True)
    wanted = rule_pages()
    for stale in pages.glob("EPS*.md"):
        if stale.name not in wanted:
            stale.unlink()
    for name, text in wanted.items():
        (pages / name).write_text(text, encoding="utf-8")
    readme = base / "README.md"
    readme.write_text(render_readme(readme.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote {len(wanted)} rule pages and the README rule table")
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
