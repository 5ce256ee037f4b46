from worker.core.words import noun, plural


def test_one_is_singular_and_every_other_count_plural() -> None:
    assert [plural(n, "pair") for n in (0, 1, 2)] == ["0 pairs", "1 pair", "2 pairs"]
    assert plural(1, "later session") == "1 later session"
    assert plural(3, "blackout") == "3 blackouts"


def test_irregular_and_sibilant_nouns() -> None:
    assert plural(2, "person", "people") == "2 people"
    assert plural(2, "match") == "2 matches"
    assert plural(2, "reply") == "2 replies"
    assert plural(2, "day") == "2 days"
    assert noun(1, "hour") == "hour" and noun(2, "hour") == "hours"
