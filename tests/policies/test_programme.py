"""The resolved programme: what the planner reads, meaning exactly what the files' comments say."""

from __future__ import annotations

from datetime import date, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.policies.conftest import HERE
from worker.core.types import Cadence, CadenceKind, Protection
from worker.policies import ConfigError, load_programme, pair_id
from worker.policies.programme import Programme

SPEC = HERE / "spec_config"  # a copy of ../shared/spec/config, the contract's example


@pytest.fixture(scope="module")
def spec() -> Programme:
    return load_programme(SPEC)


def test_the_spec_programme_is_read_as_written(spec: Programme) -> None:
    p = spec.program
    assert p.name == "Digital Reverse Mentoring 2027"
    assert p.organizers == ("mentoring@contoso.com",) and p.organizer == "mentoring@contoso.com"
    assert p.lead == "people.lead@contoso.com"
    assert p.zone == ZoneInfo("Europe/Paris") and p.zone_name == "Europe/Paris"
    assert (p.start, p.end) == (date(2027, 1, 11), date(2027, 6, 30))
    assert p.mailbox_domains == ("contoso.com",)
    assert p.default_policy == "fortnightly" and p.reject_reporting_lines is True


def test_the_spec_fortnightly_policy_is_read_as_written(spec: Programme) -> None:
    f = spec.policies["fortnightly"]
    assert f.cadence == Cadence(CadenceKind.WEEKLY, 2)
    assert f.duration == timedelta(minutes=45) and f.sessions == 10
    assert f.days == frozenset({1, 2, 3})
    assert (f.hours.start, f.hours.end) == (time(9, 30), time(16, 30))
    assert [(w.start, w.end) for w in f.avoid] == [(time(12, 0), time(13, 30))]
    assert f.buffer == timedelta(minutes=15) and f.lookahead == timedelta(weeks=3)
    assert (f.protect.show_as, f.protect.sensitivity) == ("busy", "private")
    assert f.protect.allow_new_time_proposals is False and f.protect.reminder == timedelta(minutes=15)
    assert f.teams_meeting is True and f.on_conflict == "move"
    assert (f.feedback, f.agenda) == ("after-session", "digital-essentials")


def test_extends_takes_everything_from_the_parent_then_the_childs_keys(spec: Programme) -> None:
    m, f = spec.policies["monthly-executive"], spec.policies["fortnightly"]
    assert m.cadence == Cadence(CadenceKind.MONTHLY, 1)
    assert (m.duration, m.sessions, m.days) == (timedelta(hours=1), 6, frozenset(range(5)))
    assert (m.hours, m.avoid, m.buffer, m.protect, m.feedback, m.agenda) == (
        f.hours,
        f.avoid,
        f.buffer,
        f.protect,
        f.feedback,
        f.agenda,
    )
    assert m.lineage == ("monthly-executive", "fortnightly")


def test_unset_extensions_take_their_documented_defaults(spec: Programme) -> None:
    f = spec.policies["fortnightly"]
    assert f.freeze == timedelta(hours=24) and f.max_moves == 2
    assert f.max_exceptions is None  # half the series' sessions, as SlotPolicy.exception_cap reads it
    assert f.agenda_lead == timedelta(days=2) and f.category == "Reverse mentoring"
    assert f.protection() == Protection("busy", "private", False, 15, ("Reverse mentoring",))


def test_pairs_take_the_default_policy_and_keep_their_own_start(spec: Programme) -> None:
    first, second, _, last = spec.pairs
    assert (first.mentor, first.mentee, first.policy) == (
        "lea.martin@contoso.com",
        "jean.dubois@contoso.com",
        "fortnightly",
    )
    assert first.topics == ("generative AI", "LinkedIn")
    assert second.policy == "monthly-executive"
    assert last.start == date(2027, 2, 1) and spec.start_of(last) == date(2027, 2, 1)
    assert spec.start_of(first) == date(2027, 1, 11)


def test_blackouts_cover_their_days_inclusively(spec: Programme) -> None:
    assert [b.reason for b in spec.blackouts] == ["Spring school holidays", "Ascension bridge"]
    assert spec.is_blackout(date(2027, 4, 12)) and spec.is_blackout(date(2027, 4, 23))
    assert not spec.is_blackout(date(2027, 4, 24)) and not spec.is_blackout(date(2027, 4, 11))


def test_session_n_uses_agenda_item_n_and_the_last_repeats(spec: Programme) -> None:
    agenda = spec.agendas["digital-essentials"]
    assert len(agenda) == 8
    assert agenda.agenda_for(1).title.startswith("Kick-off")
    assert agenda.agenda_for(6).title == "Progress review"
    assert agenda.agenda_for(8) == agenda.agenda_for(10) == agenda[-1]
    assert spec.agenda_for(spec.pairs[0], 2) == agenda.agenda_for(2)
    with pytest.raises(ValueError, match="numbered from 1"):
        agenda.agenda_for(0)


def test_feedback_form_values_are_url_encoded_and_subject_is_filled(spec: Programme) -> None:
    template = spec.feedback_for(spec.pairs[0])
    assert template is not None and template.send_after == timedelta(minutes=30)
    url = template.render_form(pair="pair-1&x=2", session=3, role="mentee")
    assert url == "https://forms.office.com/r/Xy12AbCdEf?pair=pair-1%26x%3D2&session=3&role=mentee"
    assert template.render_subject(session=3, partner="Léa Martin") == "How did session 3 with Léa Martin go?"


def test_pair_ids_are_derived_stably_from_the_two_addresses(spec: Programme) -> None:
    pair = spec.pairs[0]
    assert pair.id == pair_id("Lea.Martin@contoso.com", "jean.dubois@CONTOSO.com") == "pair-7aace46091"
    assert pair_id(pair.mentee, pair.mentor) != pair.id  # roles matter


def test_the_fingerprint_is_stable_and_changes_with_the_policy(programme_dir: Path) -> None:
    before = load_programme(programme_dir)
    again = load_programme(programme_dir)
    assert [before.fingerprint(p) for p in before.pairs] == [again.fingerprint(p) for p in again.pairs]
    policies = programme_dir / "policies.yaml"
    policies.write_text(policies.read_text().replace("duration: 45m", "duration: 50m"))
    after = load_programme(programme_dir)
    # the second pair's policy extends the first one's but sets its own duration: only the first changes
    assert before.fingerprint(before.pairs[0]) != after.fingerprint(after.pairs[0])
    assert before.fingerprint(before.pairs[1]) == after.fingerprint(after.pairs[1])


def test_several_organizers_share_the_pairs_and_a_new_one_moves_only_the_pairs_it_wins(
    programme_dir: Path,
) -> None:
    pairs = "pairs:\n" + "".join(
        f"  - mentor: m{i}@contoso.com\n    mentee: s{i}@contoso.com\n" for i in range(40)
    )
    (programme_dir / "pairs.yaml").write_text(pairs)
    program = programme_dir / "program.yaml"
    text = program.read_text()
    program.write_text(
        text.replace("organizer: mentoring@contoso.com", "organizer: [box1@contoso.com, box2@contoso.com]")
    )
    two = load_programme(programme_dir)
    program.write_text(
        text.replace(
            "organizer: mentoring@contoso.com",
            "organizer: [box1@contoso.com, box2@contoso.com, box3@contoso.com]",
        )
    )
    three = load_programme(programme_dir)
    before = {p.id: two.organizer_for(p) for p in two.pairs}
    after = {p.id: three.organizer_for(p) for p in three.pairs}
    assert set(before.values()) == {"box1@contoso.com", "box2@contoso.com"}
    moved = {pid for pid in before if before[pid] != after[pid]}
    assert moved and all(after[pid] == "box3@contoso.com" for pid in moved)


def test_a_windows_zone_name_is_accepted_and_kept_as_iana(programme_dir: Path) -> None:
    program = programme_dir / "program.yaml"
    program.write_text(program.read_text().replace("Europe/Paris", "Romance Standard Time"))
    assert load_programme(programme_dir).program.zone_name == "Europe/Paris"


def test_protect_is_inherited_field_by_field(programme_dir: Path) -> None:
    policies = programme_dir / "policies.yaml"
    policies.write_text(
        policies.read_text().replace(
            "    sessions: 6\n", "    sessions: 6\n    protect:\n      reminder: 30m\n"
        )
    )
    monthly = load_programme(programme_dir).policies["monthly"]
    assert monthly.protect.reminder == timedelta(minutes=30)
    assert monthly.protect.show_as == "busy"  # from fortnightly


def test_problems_in_several_files_are_all_reported_in_one_pass(programme_dir: Path) -> None:
    for name, old, new in [
        ("program.yaml", "lead: people.lead@contoso.com", "lead: nobody"),
        ("policies.yaml", "sessions: 10", "sessions: 0"),
        ("pairs.yaml", "policy: monthly", "policy: yearly"),
    ]:
        path = programme_dir / name
        path.write_text(path.read_text().replace(old, new))
    with pytest.raises(ConfigError) as info:
        load_programme(programme_dir)
    files = sorted({Path(p.file).name for p in info.value.problems})
    assert files == ["pairs.yaml", "policies.yaml", "program.yaml"]


def test_a_missing_folder_is_one_problem(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_programme(tmp_path / "nowhere")
    assert len(info.value.problems) == 1 and "not a folder" in str(info.value)


def test_a_yml_file_is_pointed_out_rather_than_silently_ignored(programme_dir: Path) -> None:
    (programme_dir / "pairs.yaml").rename(programme_dir / "pairs.yml")
    with pytest.raises(ConfigError) as info:
        load_programme(programme_dir)
    assert [str(p) for p in info.value.problems] == [
        f"{programme_dir}/pairs.yaml:1:1: file not found; rename pairs.yml to pairs.yaml"
    ]
