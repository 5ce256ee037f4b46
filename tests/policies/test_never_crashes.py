"""Whatever a file holds, validation reports problems and never crashes (no traceback for a lead)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.policies.conftest import BASE, FILES
from worker.policies import ConfigError, load_programme

KEYS = [
    "program",
    "policies",
    "pairs",
    "name",
    "organizer",
    "lead",
    "timezone",
    "start",
    "end",
    "cadence",
    "duration",
    "sessions",
    "days",
    "hours",
    "avoid",
    "extends",
    "protect",
    "from",
    "to",
    "form",
    "subject",
    "mentor",
    "mentee",
    "policy",
    "agendas",
    "feedback",
    "blackouts",
    "title",
    "items",
    "fortnightly",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from(
        [
            "45m",
            "every 0 weeks",
            "09:30-16:30",
            "mon",
            "x@contoso.com",
            "Europe/Paris",
            "{pair}",
            "fortnightly",
            "https://a/{x}",
            "",
        ]
    ),
    st.dates(dt.date(2026, 1, 1), dt.date(2028, 1, 1)),
    st.text(max_size=8),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=3)), inner, max_size=5),
    ),
    max_leaves=25,
)


def _check(target: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for name in FILES:
            shutil.copy(BASE / name, folder / name)
        (folder / target).write_bytes(data)
        try:
            load_programme(folder)
        except ConfigError as error:
            assert error.problems
            assert all(p.line >= 1 and p.col >= 1 and "\n" not in str(p) for p in error.problems)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(target=st.sampled_from(FILES), value=values)
def test_any_yaml_structure_is_either_valid_or_reported(target: str, value: object) -> None:
    _check(target, yaml.safe_dump(value, allow_unicode=True).encode())


@settings(max_examples=25, deadline=None)
@given(target=st.sampled_from(FILES), data=st.binary(max_size=200))
def test_any_bytes_are_either_valid_or_reported(target: str, data: bytes) -> None:
    _check(target, data)
