"""Read the tables out of our Markdown docs, so tests can hold the docs to what the code and manifests do.

Only GitHub's pipe tables are understood: a header row, a ``|---|`` separator, then rows. Cells are
stripped, and a cell that is entirely one code span (`` `x` ``) yields its content.
"""

from __future__ import annotations

import re
from pathlib import Path

_SEPARATOR = re.compile(r"^\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?$")


def _cells(line: str) -> list[str]:
    inner = line.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") else inner
    cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", inner)]
    return [
        c[1:-1] if len(c) >= 2 and c.startswith("`") and c.endswith("`") and c.count("`") == 2 else c
        for c in cells
    ]


def section(text: str, heading: str) -> str:
    """The text under a ``## heading`` (or deeper), up to the next heading of the same or a higher level."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        match = re.match(r"^(#+)\s+(.*)$", line)
        if match and match.group(2).strip() == heading:
            level = len(match.group(1))
            body: list[str] = []
            fenced = False
            for following in lines[number + 1 :]:
                if following.lstrip().startswith("```"):
                    fenced = not fenced
                nested = None if fenced else re.match(r"^(#+)\s", following)
                if nested and len(nested.group(1)) <= level:
                    break
                body.append(following)
            return "\n".join(body)
    raise LookupError(f"no heading {heading!r}")


def tables(text: str) -> list[list[dict[str, str]]]:
    """Every pipe table in ``text``, each as a list of rows keyed by the header cells."""
    found: list[list[dict[str, str]]] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines) - 1:
        if lines[i].lstrip().startswith("|") and _SEPARATOR.match(lines[i + 1].strip()):
            header = _cells(lines[i])
            rows: list[dict[str, str]] = []
            i += 2
            while i < len(lines) and lines[i].lstrip().startswith("|"):
                cells = _cells(lines[i])
                if len(cells) != len(header):
                    raise ValueError(
                        f"table row has {len(cells)} cells, header has {len(header)}: {lines[i]}"
                    )
                rows.append(dict(zip(header, cells, strict=True)))
                i += 1
            found.append(rows)
        else:
            i += 1
    return found


def table_under(path: Path, heading: str, *, index: int = 0) -> list[dict[str, str]]:
    return tables(section(path.read_text(encoding="utf-8"), heading))[index]


def code_blocks(text: str, language: str) -> list[str]:
    """The bodies of the fenced code blocks of one language, in order."""
    pattern = re.compile(r"^([ \t]*)```" + re.escape(language) + r"[ \t]*\n(.*?)^\1```[ \t]*$", re.M | re.S)
    blocks = []
    for match in pattern.finditer(text):
        indent = match.group(1)
        body = match.group(2)
        blocks.append("\n".join(line.removeprefix(indent) for line in body.splitlines()) + "\n")
    return blocks


def relative_links(text: str) -> list[str]:
    """Targets of Markdown links that point inside the repository (no scheme, no pure #anchor)."""
    targets = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t for t in targets if not re.match(r"^[a-z]+:", t) and not t.startswith("#")]


def anchors(text: str) -> set[str]:
    """GitHub's heading anchors: lower-cased, punctuation dropped, spaces to hyphens."""
    result = set()
    prose = re.sub(r"^([ \t]*)```.*?^\1```[ \t]*$", "", text, flags=re.M | re.S)
    for heading in re.findall(r"^#+\s+(.*)$", prose, re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        result.add(slug)
    return result
