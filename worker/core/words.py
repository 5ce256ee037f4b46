"""Counting words in English: the one place that puts a number before a noun.

``plural(1, "session")`` is "1 session", ``plural(3, "session")`` "3 sessions"; irregular nouns name
their plural (``plural(2, "person", "people")``). Every message, report and demo line that counts
something goes through here, so none says "1 pairs" or "2 blackout".
"""

from __future__ import annotations


def noun(count: int, singular: str, plural_form: str | None = None) -> str:
    """The noun alone, in the number ``count`` asks for."""
    if count == 1:
        return singular
    if plural_form is not None:
        return plural_form
    if singular.endswith(("s", "x", "z", "ch", "sh")):
        return singular + "es"
    if singular.endswith("y") and singular[-2:-1] not in ("a", "e", "i", "o", "u"):
        return singular[:-1] + "ies"
    return singular + "s"


def plural(count: int, singular: str, plural_form: str | None = None) -> str:
    """``count`` and its noun: "1 pair", "2 pairs", "0 lead escalations"."""
    return f"{count} {noun(count, singular, plural_form)}"
