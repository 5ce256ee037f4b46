"""Reading YAML with positions, and refusing what PyYAML would silently accept."""

from __future__ import annotations

from datetime import date

import pytest

from worker.policies.yamlpos import MAX_NODES, Pos, YamlRefused, parse_yaml


def refused(text: str | bytes) -> list[str]:
    data = text.encode() if isinstance(text, str) else text
    with pytest.raises(YamlRefused) as info:
        parse_yaml(data, "f.yaml")
    return [str(p) for p in info.value.problems]


def test_values_keep_the_line_and_column_of_their_value_and_key() -> None:
    doc = parse_yaml(b"policies:\n  weekly:\n    days: [mon, tue]\n    start: 2027-01-11\n", "f.yaml")
    assert doc.value == {"policies": {"weekly": {"days": ["mon", "tue"], "start": date(2027, 1, 11)}}}
    assert doc.positions[("policies", "weekly", "days")] == Pos(3, 11, 3, 5)
    assert doc.positions[("policies", "weekly", "days", 1)] == Pos(3, 17)


def test_a_missing_path_is_reported_at_its_nearest_written_parent() -> None:
    doc = parse_yaml(b"program:\n  name: x\n", "f.yaml")
    problem = doc.problem(("program", "lead"), "missing", at_key=True)
    assert (problem.line, problem.col) == (1, 1)


def test_duplicate_keys_are_refused_where_the_second_one_is() -> None:
    assert refused("a: 1\nb: 2\na: 3\n") == [
        "f.yaml:3:1: a: duplicate key (first written at line 1); YAML would silently keep only one"
    ]


def test_syntax_errors_carry_their_mark_at_the_line_that_opened_the_mistake() -> None:
    (problem,) = refused("a: [1, 2\nb: 3\n")
    assert problem.startswith("f.yaml:1:4:") and "YAML syntax error" in problem


def test_a_tab_that_indents_a_line_is_named_as_a_tab_and_the_rest_is_still_read() -> None:
    text = "pairs:\n  - mentor: a@x.com\n\tmentee: b@x.com\n  - mentor: c@x.com\n    mentee: d@x.com\n"
    with pytest.raises(YamlRefused) as info:
        parse_yaml(text.encode(), "f.yaml")
    (problem,) = map(str, info.value.problems)
    assert problem.startswith("f.yaml:3:1: ") and "a tab character indents this line" in problem
    assert "cannot start any token" not in problem
    assert info.value.doc is not None and len(info.value.doc.value["pairs"]) == 2


def test_every_syntax_error_of_a_file_is_reported_and_the_rest_is_read() -> None:
    text = (
        "pairs:\n  - mentor: a@x.com\n    mentee b@x.com\n  - mentor: c@x.com: d\n    mentee: d@x.com\n"
        '  - mentor: "e@x.com\n    mentee: f@x.com\n  - mentor: g@x.com\n    mentee: h@x.com\n'
    )
    with pytest.raises(YamlRefused) as info:
        parse_yaml(text.encode(), "f.yaml")
    assert [str(p).split(": YAML")[0] for p in info.value.problems] == [
        "f.yaml:3:5",
        "f.yaml:4:20",
        "f.yaml:6:13",
    ]
    doc = info.value.doc
    assert doc is not None and doc.damaged == {3, 4, 6}
    assert doc.value["pairs"][3] == {"mentor": "g@x.com", "mentee": "h@x.com"}


def test_a_clock_time_is_kept_as_written_not_read_as_base_60() -> None:
    assert parse_yaml(b"duration: 1:30\nsessions: 10\n", "f.yaml").value == {
        "duration": "1:30",
        "sessions": 10,
    }


def test_a_file_that_is_not_utf8_is_refused_at_the_first_bad_byte() -> None:
    assert refused("name: ok\nreason: Pâques\n".encode("latin-1")) == [
        "f.yaml:2:10: not UTF-8: byte 0xe2 cannot be decoded; save the file as UTF-8"
    ]


def test_a_utf8_byte_order_mark_is_accepted() -> None:
    assert parse_yaml("\ufeffa: é\n".encode(), "f.yaml").value == {"a": "é"}


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_an_empty_file_is_refused_clearly(text: str) -> None:
    assert refused(text) == ["f.yaml:1:1: file is empty (it holds no YAML value)"]


@pytest.mark.parametrize(
    "text",
    [
        "a: !!python/object/apply:os.system ['true']\n",
        "a: !!python/name:os.system\n",
        "a: !custom 1\n",
        "a: !!binary aGVsbG8=\n",
        "a: !!set {x}\n",
    ],
)
def test_tags_beyond_the_standard_ones_are_refused(text: str) -> None:
    (problem,) = refused(text)
    assert "is not allowed" in problem


def test_non_text_keys_and_merge_keys_are_refused() -> None:
    assert "must be text" in refused("1: a\n")[0]
    assert "must be text" in refused("? [a, b]\n: c\n")[0]
    assert "merge keys" in refused("base: &b {x: 1}\nother:\n  <<: *b\n")[0]


def test_a_small_alias_is_expanded() -> None:
    doc = parse_yaml(b"hours: &h '09:00-17:00'\nagain: *h\n", "f.yaml")
    assert doc.value == {"hours": "09:00-17:00", "again": "09:00-17:00"}


def test_a_recursive_alias_is_refused() -> None:
    assert "refers to itself" in refused("a: &a [1, *a]\n")[0]


def test_a_billion_laughs_file_is_refused_within_a_node_budget_without_expanding() -> None:
    lines = ["a: &a [" + ", ".join(["lol"] * 9) + "]"]
    lines += [
        f"{k}: &{k} [" + ", ".join([f"*{p}"] * 9) + "]" for p, k in zip("abcdefgh", "bcdefghi", strict=True)
    ]
    (problem,) = refused("\n".join(lines) + "\n")
    assert f"more than {MAX_NODES} values" in problem
    assert problem.startswith("f.yaml:5:1: e:")  # the top-level key whose expansion crossed the budget


def test_a_large_honest_file_is_within_the_budget() -> None:
    pairs = "".join(f"  - mentor: m{i}@contoso.com\n    mentee: s{i}@contoso.com\n" for i in range(2000))
    doc = parse_yaml(("pairs:\n" + pairs).encode(), "f.yaml")
    assert len(doc.value["pairs"]) == 2000
