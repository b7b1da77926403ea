"""The README's sections and fenced code blocks, so that tests run what a reader copies rather than a copy of it."""

from __future__ import annotations

from conftest import ROOT


def readme_section(heading: str) -> list[str]:
    """The lines of the README section `heading` (e.g. "## pre-commit", "### Neovim"), up to the next heading of
    the same or a higher level. Lines inside code blocks are never headings."""
    level = len(heading.split(" ", 1)[0])
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines(keepends=True)
    start = [line.rstrip("\n") for line in lines].index(heading) + 1
    in_code = False
    for end in range(start, len(lines)):
        line = lines[end]
        marks = len(line) - len(line.lstrip("#"))
        if not in_code and 0 < marks <= level and line[marks : marks + 1] == " ":
            return lines[start:end]
        in_code ^= line.startswith("```")
    return lines[start:]


def readme_blocks(heading: str, language: str) -> list[str]:
    """The bodies of the ```language blocks in the README section `heading`."""
    blocks: list[str] = []
    current: list[str] | None = None
    in_code = False
    for line in readme_section(heading):
        if line.startswith("```"):
            if in_code and current is not None:
                blocks.append("".join(current))
            in_code = not in_code
            current = [] if in_code and line[3:].strip() == language else None
        elif current is not None:
            current.append(line)
    assert blocks, f"README section {heading!r} has no ```{language} block"
    return blocks
