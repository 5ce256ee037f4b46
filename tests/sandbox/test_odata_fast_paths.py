"""The sandbox's fast paths through $filter give the interpreter's answers, only faster."""

from __future__ import annotations

import pytest

from worker.sandbox import odata

GUID = "{66f5a359-4659-4830-9070-00040ec6ac6e}"
KEY, OWNER = f"String {GUID} Name key", f"String {GUID} Name owner"


@pytest.mark.parametrize(
    "clause",
    [
        f"id eq '{KEY}'",
        f"id eq '{KEY}' or id eq '{OWNER}'",
        f"id eq '{KEY.upper().replace('NAME KEY', 'Name key')}' or id eq '{OWNER}'",  # any case but the name
        f"(id eq '{KEY}') or id eq 'String {GUID} Name Other'",
        f"'{KEY}' eq id",
    ],
)
def test_an_id_alternatives_filter_keeps_what_the_interpreter_keeps(clause: str) -> None:
    keys = odata.id_alternatives(clause)
    predicate = odata.compile_filter(clause)
    assert keys is not None and predicate is not None
    candidates = [KEY, OWNER, KEY.lower(), f"String {GUID.upper()} Name key", f"String {GUID} Name KEY", "x"]
    for pid in candidates:
        assert (odata.ext_id_key(pid) in keys) == predicate({"id": pid}), (clause, pid)


@pytest.mark.parametrize(
    "clause", [f"id ne '{KEY}'", f"id eq '{KEY}' and id eq '{OWNER}'", "value eq 'x'", "startswith(id, 'S')"]
)
def test_any_other_filter_goes_to_the_interpreter(clause: str) -> None:
    assert odata.id_alternatives(clause) is None
