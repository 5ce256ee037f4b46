"""The one grammar of a lead's templates: the feedback form link and the feedback email's subject.

``{name}`` is a placeholder, one of ``PLACEHOLDERS``; ``{{`` and ``}}`` write a literal brace; any other
brace is an error. The same code checks a template when the programme is loaded (``worker.policies``
turns a ``TemplateError`` into a ``FILE:LINE:COL`` message) and fills it when the email is sent, so a
template that passed ``crossgen validate`` cannot fail at send time, and one that would fail never
passes.

Our own substitution, not ``str.format``: a template comes from a YAML file and must not reach
attributes (``{session.__class__}``) or format specs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import quote

PLACEHOLDERS = ("pair", "session", "role", "mentor", "mentee", "partner", "date")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


class TemplateError(ValueError):
    """A template that breaks the grammar: an unknown placeholder or a lone brace."""

    def __init__(self, message: str, *, unknown: str | None = None) -> None:
        super().__init__(message)
        self.unknown = unknown  # the unknown placeholder's name, for a "did you mean"


def placeholders(template: str) -> tuple[str, ...]:
    """The placeholder names ``template`` uses, in order; ``TemplateError`` if it breaks the grammar."""
    names: list[str] = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(
                f"unbalanced {token!r} in {template!r} (write {token}{token} for a literal brace)"
            )
        if name not in PLACEHOLDERS:
            raise TemplateError(f"unknown placeholder {{{name}}}", unknown=name)
        names.append(name)
    return tuple(names)


def fill(template: str, values: Mapping[str, str], *, url: bool = False) -> str:
    """``template`` with each placeholder replaced by its value (URL-encoded when ``url``).

    Raises ``TemplateError`` for a template that breaks the grammar or a placeholder without a value.
    """
    placeholders(template)

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name not in values:
            raise TemplateError(f"no value for placeholder {{{name}}} in {template!r}")
        text = str(values[name])
        return quote(text, safe="") if url else text

    return _TOKEN.sub(replace, template)
