"""Feedback form links and email subjects with ``{placeholders}``, checked when loaded, filled when sent.

The worker sends one feedback email per session and role; the form link carries who and which session
so one form serves the whole programme. The grammar (``PLACEHOLDERS``, ``{{``/``}}`` for literal braces)
and the filling are ``worker.core.templates``: the same code checks here and fills when the email is
sent. This module turns its errors into validation messages and checks what only a link or a subject
needs.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from pydantic_core import PydanticCustomError

from worker.core import templates
from worker.core.render import RenderError, https_url
from worker.core.templates import PLACEHOLDERS, TemplateError, fill
from worker.policies.values import did_you_mean

__all__ = ["PLACEHOLDERS", "check_form", "check_subject", "fill", "placeholders"]


def _fail(message: str) -> PydanticCustomError:
    return PydanticCustomError("template", message)


def placeholders(template: str) -> tuple[str, ...]:
    """The placeholder names used in ``template``; raises a validation error on unknown names and
    unbalanced braces (the grammar is ``worker.core.templates``', which also fills them at send time)."""
    try:
        return templates.placeholders(template)
    except TemplateError as exc:
        if exc.unknown is None:
            raise _fail(str(exc)) from None
        name = exc.unknown
        raise _fail(
            f"unknown placeholder {{{name}}}{did_you_mean(name, PLACEHOLDERS)}; "
            f"allowed: {', '.join('{' + p + '}' for p in PLACEHOLDERS)}"
        ) from None


def check_form(value: Any) -> str:
    """A feedback form link: https, a host, and only known placeholders."""
    if not isinstance(value, str):
        raise _fail("expected a link like https://forms.office.com/r/...")
    text = value.strip()
    placeholders(text)
    filled = fill(text, dict.fromkeys(PLACEHOLDERS, "x"), url=True)
    parts = urlsplit(filled)
    if parts.scheme.lower() != "https":
        raise _fail(f"{text!r} must be an https:// link (participants open it from an email)")
    if not parts.hostname:
        raise _fail(f"{text!r} has no host name")
    try:  # the check the email renderer makes when it sends: what passes here passes there
        https_url(filled)
    except RenderError as exc:
        raise _fail(f"{text!r}: {exc}") from None
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
