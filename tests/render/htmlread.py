"""Reading our HTML back the way a mail client would: visible text, tags, links, styles."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser


@dataclass
class Page:
    text: str = ""
    tags: list[str] = field(default_factory=list)
    hrefs: list[str] = field(default_factory=list)
    elements: list[tuple[str, dict[str, str]]] = field(default_factory=list)


class _Reader(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.page = Page()
        self._chunks: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.page.tags.append(tag)
        self.page.elements.append((tag, values))
        if tag == "a":
            self.page.hrefs.append(values.get("href", ""))
        if tag in ("title", "style"):
            self._skip += 1
        if tag in ("p", "li", "br", "h1", "h2", "h3", "tr", "div", "td", "th"):
            self._chunks.append(" ")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("title", "style"):
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self._chunks.append(data)


def read(html: str) -> Page:
    reader = _Reader()
    reader.feed(html)
    reader.close()
    reader.page.text = re.sub(r"\s+", " ", "".join(reader._chunks)).strip()
    return reader.page


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()
