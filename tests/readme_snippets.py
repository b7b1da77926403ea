"""The README's fenced code blocks, by section, so that tests run what a reader copies rather than a copy of it."""

from __future__ import annotations

from conftest import ROOT


def readme_blocks(heading: str, language: str) -> list[str]:
    """The bodies of the ```language blocks in the README section `heading` (e.g. "## pre-commit", "### Neovim"),
    which ends at the next heading of the same or a higher level. Lines inside code blocks are never headings."""
    level = len(heading.split(" ", 1)[0])
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines(keepends=True)
    start = [line.rstrip("\n") for line in lines].index(heading) + 1
    blocks: list[str] = []
    current: list[str] | None = None
    fence_language = None
    for line in lines[start:]:
        if current is None and fence_language is None:
            marks = len(line) - len(line.lstrip("#"))
            if 0 < marks <= level and line[marks : marks + 1] == " ":
                break
            if line.startswith("```"):
                fence_language = line[3:].strip()
                current = [] if fence_language == language else None
            continue
        if line.startswith("```"):
            if current is not None:
                blocks.append("".join(current))
            current, fence_language = None, None
        elif current is not None:
            current.append(line)
    assert blocks, f"README section {heading!r} has no ```{language} block"
    return blocks
