"""The pool file: the contract's example loads against both example programmes; mistakes are FILE:LINE:COL."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.matching.pool import load_pool
from worker.policies.errors import ConfigError
from worker.policies.load import load_programme

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
SPEC_POOL = HERE / "spec_pool.yaml"  # a copy of ../shared/spec/config/pool.yaml, the contract's example


def test_the_example_pool_is_the_contract_s_and_loads_against_both_example_programmes() -> None:
    assert (ROOT / "config" / "pool.yaml").read_text(encoding="utf-8") == SPEC_POOL.read_text(
        encoding="utf-8"
    )
    for config in (ROOT / "config", ROOT / "tests" / "policies" / "spec_config"):
        pool = load_pool(SPEC_POOL, load_programme(config))
        assert [m.capacity for m in pool.mentors] == [1, 2, 1]
        assert {m.policy for m in pool.mentees} == {"fortnightly"}
        assert pool.not_same_department and pool.keep_existing and pool.min_sessions is None
        assert frozenset({"hugo.bernard@contoso.com", "claire.petit@contoso.com"}) in pool.never


def test_a_new_programme_needs_no_pairs_file(tmp_path: Path) -> None:
    for name in ("program.yaml", "policies.yaml"):
        (tmp_path / name).write_text((ROOT / "config" / name).read_text(encoding="utf-8"), encoding="utf-8")
    assert load_programme(tmp_path, pairs_optional=True).pairs == ()
    with pytest.raises(ConfigError):
        load_programme(tmp_path)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "mentors:\n  - address: a@contoso.com\n  - address: a@contoso.com\n",
            "pool.yaml:3:14: mentors[2].address: a@contoso.com is already listed at mentors[1].address",
        ),
        (
            "mentors:\n  - address: a@contoso.com\nmentees:\n  - address: a@contoso.com\n",
            "pool.yaml:4:14: mentees[1].address: a@contoso.com is already listed",
        ),
        (
            "rules:\n  never:\n    - [a@contoso.com, a@contoso.com]\n",
            "pool.yaml:3:7: rules.never[1]: names a@contoso.com twice",
        ),
        (
            "mentors:\n  - address: a@contoso.com\n    capacity: 0\n",
            "pool.yaml:3:15: mentors[1].capacity: must be at least 1",
        ),
        (
            "mentees:\n  - adress: a@contoso.com\n",
            "pool.yaml:2:5: mentees[1].adress: unknown key (did you mean 'address'?)",
        ),
    ],
)
def test_pool_mistakes_point_at_the_line_and_column(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "pool.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_pool(path, load_programme(ROOT / "config"))
    assert any(expected in str(p) for p in caught.value.problems), [str(p) for p in caught.value.problems]
