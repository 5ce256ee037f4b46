"""Feedback form links and email subjects with ``{placeholders}``, checked when loaded, filled when sent.

The worker sends one feedback email per session and role; the form link carries who and which session
so one form serves the whole programme. Only the names in ``PLACEHOLDERS`` may appear; ``{{`` and
``}}`` write literal braces. Filling is our own small substitution, not ``str.format``: a template
comes from a YAML file and must not reach attributes or format specs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlsplit

from pydantic_core import PydanticCustomError

from worker.policies.values import did_you_mean

PLACEHOLDERS = ("pair", "session", "role", "mentor", "mentee", "partner", "date")
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("template", message)


def placeholders(template: str) -> tuple[str, ...]:
    """The placeholder names used in ``template``; raises on unknown names and unbalanced braces."""
    names: list[str] = []
    for match in _TOKEN.finditer(template):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        name = match.group(1)
        if name is None:
            raise _fail(f"unbalanced {token!r} in {template!r} (write {token}{token} for a literal brace)")
        if name not in PLACEHOLDERS:
            raise _fail(
                f"unknown placeholder {{{name}}}{did_you_mean(name, PLACEHOLDERS)}; "
                f"allowed: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
            )
        names.append(name)
    return tuple(names)


def fill(template: str, values: Mapping[str, Any], *, url: bool = False) -> str:
    """Replace each placeholder by its value (URL-encoded when ``url``); every used name must be given."""

    def replace(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(1)
        if name not in values:
            raise KeyError(f"no value for placeholder {{{name}}}")
        text = str(values[name])
        return quote(text, safe="") if url else text

    return _TOKEN.sub(replace, template)


def check_form(value: Any) -> str:
    """A feedback form link: https, a host, and only known placeholders."""
    if not isinstance(value, str):
        raise _fail("expected a link like https://forms.office.com/r/...")
    text = value.strip()
    placeholders(text)
    parts = urlsplit(fill(text, dict.fromkeys(PLACEHOLDERS, "x"), url=True))
    if parts.scheme.lower() != "https":
        raise _fail(f"{text!r} must be an https:// link (participants open it from an email)")
    if not parts.hostname:
        raise _fail(f"{text!r} has no host name")
    return text


def check_subject(value: Any) -> str:
    """An email subject: one line, at most 255 characters (Exchange's limit), known placeholders only."""
    if not isinstance(value, str):
        raise _fail("expected a subject line (text)")
    if any(ch in value for ch in "\r\n\v\f\x85\u2028\u2029"):
        raise _fail("a subject must be a single line (it has a line break)")
    text = value.strip()
    if not text:
        raise _fail("a subject cannot be empty")
    if len(text) > 255:
        raise _fail("a subject is at most 255 characters")
    placeholders(text)
    return text
