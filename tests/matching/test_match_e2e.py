"""``crossgen match`` against the sandbox's demo tenant: rules kept, as many pairs as they allow, a valid
pairs.yaml that the next run books as the comments say, and reasons for whoever is left out."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

import pytest
from click.testing import CliRunner

from tests.e2e.world import START, World, play
from worker.core.actions import Book
from worker.core.matching import assign
from worker.inprocess import SimulatedTime, connect
from worker.matching import propose as propose_module
from worker.matching.output import render_pairs
from worker.matching.pool import Pool, load_pool
from worker.matching.propose import Proposal, propose
from worker.policies.load import load_programme
from worker.sandbox.app import create_app

POOL = """\
mentors:
  - address: lea.martin@contoso.com
    offers: [generative AI, LinkedIn, TikTok]
  - address: amina.diallo@contoso.com
    offers: [dashboards, generative AI]
    capacity: 2
  - address: hugo.bernard@contoso.com
    offers: [mobile payments]
mentees:
  - address: jean.dubois@contoso.com
    wants: [generative AI, LinkedIn]
  - address: robert.lefevre@contoso.com
    wants: [dashboards]
    policy: fortnightly
  - address: claire.petit@contoso.com
    wants: [mobile payments, TikTok]
rules:
  not_in_reporting_line: true
  not_same_department: true
  never:
    - [hugo.bernard@contoso.com, claire.petit@contoso.com]
  keep_existing: true
"""


async def _propose(w: World, pool: str = POOL) -> Proposal:
    w.write("pool.yaml", pool)
    programme = load_programme(w.config, pairs_optional=True)
    return await propose(
        programme, load_pool(w.config / "pool.yaml", programme), gateway=w.gateway, now=w.now
    )


def _fresh(w: World) -> None:
    (w.config / "pairs.yaml").unlink()


class _Eager(NamedTuple):
    """The matcher over w's pool.yaml, with every mentor-mentee edge to check eagerly."""

    matcher: propose_module._Matcher
    pool: Pool
    mentors: list[str]
    mentees: list[str]
    edges: list[tuple[int, int]]


async def _eager(w: World) -> _Eager:
    programme = load_programme(w.config, pairs_optional=True)
    loaded = load_pool(w.config / "pool.yaml", programme)
    profiles, schedules, problems = await propose_module.read_people(
        w.gateway, loaded.people(), now=w.now, organizers=programme.program.organizers
    )
    matcher = propose_module._Matcher(programme, loaded, profiles, schedules, problems, now=w.now)
    mentors = [m.address for m in loaded.mentors]
    mentees = [m.address for m in loaded.mentees]
    edges = [(i, j) for i in range(len(mentors)) for j in range(len(mentees))]
    return _Eager(matcher, loaded, mentors, mentees, edges)


def _open_pool(w: World, mentors: list[str], mentees: list[str]) -> None:
    """pool.yaml with these contoso people, no topics, and no reporting-line rule (in the pool or the
    programme)."""
    pool = "mentors:\n" + "".join(f"  - address: {p}@contoso.com\n" for p in mentors)
    pool += "mentees:\n" + "".join(f"  - address: {p}@contoso.com\n" for p in mentees)
    pool += "rules:\n  not_in_reporting_line: false\n"
    w.edit("program.yaml", "reject_reporting_lines: true", "reject_reporting_lines: false")
    w.write("pool.yaml", pool)


def _pairs(proposal: Proposal) -> set[tuple[str, str]]:
    return {(p.mentor.address, p.mentee.address) for p in proposal.pairs}


def test_a_new_programme_gets_every_pair_the_rules_allow_and_reasons_for_the_rest(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        _fresh(w)
        proposal = await _propose(w)
        # Léa reports to Nadia, who reports to Claire; Amina to Priya, to Claire; Hugo to Robert, to Jean:
        # so Claire and Hugo can be paired with nobody the pool allows.
        assert _pairs(proposal) == {
            ("lea.martin@contoso.com", "jean.dubois@contoso.com"),
            ("amina.diallo@contoso.com", "robert.lefevre@contoso.com"),
        }
        left = {u.person.address: u.why for u in proposal.unmatched}
        assert set(left) == {"hugo.bernard@contoso.com", "claire.petit@contoso.com"}
        assert "never list" in left["claire.petit@contoso.com"]
        assert "one reporting line" in left["hugo.bernard@contoso.com"]
        assert "both in Sales" in left["hugo.bernard@contoso.com"]
        text = render_pairs(proposal, pool_file="pool.yaml", now=w.now)
        assert "Robert Lefèvre" in text, "people are named as the directory names them"
        w.write("pairs.yaml", text)
        programme = load_programme(w.config)  # crossgen validate accepts it
        assert {(p.mentor, p.mentee) for p in programme.pairs} == _pairs(proposal)

    play(tmp_path, scenario)


def test_the_next_run_books_the_first_session_the_comment_announces(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        _fresh(w)
        proposal = await _propose(w)
        w.write("pairs.yaml", render_pairs(proposal, pool_file="pool.yaml", now=w.now))
        run = await w.run()
        booked = {b.pair: b.sessions[0].start for b in run.plan.of_kind(Book)}
        programme = load_programme(w.config)
        ids = {(p.mentor, p.mentee): p.id for p in programme.pairs}
        for pair in proposal.pairs:
            assert booked[ids[(pair.mentor.address, pair.mentee.address)]] == pair.sessions[0].start

    play(tmp_path, scenario)


def test_without_the_never_rule_hugo_teaches_claire(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        _fresh(w)
        proposal = await _propose(
            w, POOL.replace("  never:\n    - [hugo.bernard@contoso.com, claire.petit@contoso.com]\n", "")
        )
        assert ("hugo.bernard@contoso.com", "claire.petit@contoso.com") in _pairs(proposal)
        assert len(proposal.pairs) == 3 and proposal.unmatched == []

    play(tmp_path, scenario)


def test_the_assignment_is_the_largest_and_best_over_every_candidate_checked_eagerly(tmp_path: Path) -> None:
    """The lazy search (engine only on the pairs an assignment wants) agrees with checking every pair."""
    pool = POOL.replace("  not_same_department: true\n", "  not_same_department: false\n").replace(
        "  not_in_reporting_line: true\n", "  not_in_reporting_line: false\n"
    )

    async def scenario(w: World) -> None:
        _fresh(w)
        w.edit("program.yaml", "reject_reporting_lines: true", "reject_reporting_lines: false")
        proposal = await _propose(w, pool)
        matcher, loaded, mentors, mentees, edges = await _eager(w)
        allowed = {
            e: wgt
            for e, wgt in matcher.evaluate(edges, mentors, mentees).items()
            if wgt is not None and not matcher.rule_breach(mentors[e[0]], mentees[e[1]])
        }
        best = assign([m.capacity for m in loaded.mentors], len(mentees), allowed)
        chosen = {(mentors[i], mentees[j]) for i, j in best}
        weight = {(mentors[i], mentees[j]): wgt for (i, j), wgt in allowed.items()}
        assert len(proposal.pairs) == len(chosen) == 3
        assert sum(weight[p] for p in _pairs(proposal)) == sum(weight[p] for p in chosen)

    play(tmp_path, scenario)


def test_keep_existing_keeps_the_lead_s_pairs_and_drops_those_the_rules_forbid(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        before = load_programme(w.config)
        proposal = await _propose(w)
        kept = {(p.mentor.address, p.mentee.address) for p in proposal.pairs if p.kept}
        assert ("hugo.bernard@contoso.com", "robert.lefevre@contoso.com") not in kept
        assert len(kept) == len(before.pairs) - 1
        assert [d.mentor for d, _ in proposal.dropped] == ["hugo.bernard@contoso.com"]
        w.write("pairs.yaml", render_pairs(proposal, pool_file="pool.yaml", now=w.now))
        after = load_programme(w.config)
        old = {p.id: p for p in before.pairs}
        for pair in after.pairs:  # the kept pairs are written exactly as they were: same series in Outlook
            assert before.fingerprint(old[pair.id]) == after.fingerprint(pair)

    play(tmp_path, scenario)


@pytest.mark.parametrize(
    ("edit", "expected"),
    [
        (
            ("    capacity: 2", "    capacity: two"),
            r"pool\.yaml:6:15: mentors\[2\]\.capacity: expected a whole number",
        ),
        (
            ("    policy: fortnightly", "    policy: weekly"),
            r"pool\.yaml:14:13: mentees\[2\]\.policy: no policy 'weekly'",
        ),
        (
            ("claire.petit@contoso.com\n    wants", "claire@fabrikam.com\n    wants"),
            r"pool\.yaml:15:\d+: .*outside the programme's mailbox_domains",
        ),
        (
            ("  keep_existing: true", "  keep_existng: true"),
            r"pool\.yaml:22:3: rules\.keep_existng: unknown key \(did you mean 'keep_existing'\?\)",
        ),
    ],
)
def test_a_bad_pool_is_refused_with_file_line_col_before_any_graph_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: tuple[str, str], expected: str
) -> None:
    from worker.cli import cli

    config = tmp_path / "config"
    import shutil

    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    assert edit[0] in POOL
    (config / "pool.yaml").write_text(POOL.replace(*edit), encoding="utf-8")
    monkeypatch.delenv("CROSSGEN_GRAPH_URL", raising=False)
    result = CliRunner().invoke(cli, ["match", "--config", str(config), "--pool", str(config / "pool.yaml")])
    assert result.exit_code == 2, result.output
    assert re.search(expected, result.output), result.output


def test_the_command_writes_the_file_and_exits_1_when_someone_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from worker.cli import cli
    from worker.graph.ops import Gateway

    config = tmp_path / "config"
    shutil.copytree(Path(__file__).resolve().parents[2] / "config", config)
    (config / "pairs.yaml").unlink()
    (config / "pool.yaml").write_text(POOL, encoding="utf-8")
    app = create_app(seed=0)
    gateway = connect(app, time=SimulatedTime(app, START))  # built before from_env is replaced: it calls it
    monkeypatch.setattr(Gateway, "from_env", classmethod(lambda cls, *a, **k: gateway))
    out = tmp_path / "proposed.yaml"
    result = CliRunner().invoke(
        cli,
        [
            "match",
            "--config",
            str(config),
            "--pool",
            str(config / "pool.yaml"),
            "--out",
            str(out),
            "--as-of",
            START.isoformat(),
        ],
    )
    assert result.exit_code == 1, result.output
    assert "2 pairs proposed" in result.output and "2 people unmatched" in result.output
    writes = [e for e in app.sandbox.counters.log if e[2] != "GET" and not e[3].endswith("/getSchedule")]
    assert writes == [], "nothing is written to Microsoft 365"
    (config / "pairs.yaml").write_text(out.read_text(encoding="utf-8"), encoding="utf-8")
    assert CliRunner().invoke(cli, ["validate", "--config", str(config)]).exit_code == 0


@pytest.mark.slow
def test_the_working_hours_check_never_drops_a_pair_the_planner_would_book(tmp_path: Path) -> None:
    """The cheap check must be a necessary condition: over every mentor x mentee of the demo tenant
    (Paris, London, New York, Kolkata, Kathmandu, Singapore, Sydney...), each pair the planner books
    passes it."""
    async def scenario(w: World) -> None:
        _fresh(w)
        people = [
            "lea.martin",
            "amina.diallo",
            "hugo.bernard",
            "tom.nguyen",
            "priya.sharma",
            "emily.davis",
            "olivia.wilson",
            "sanjay.thapa",
            "carlos.garcia",
            "yuki.tanaka",
        ]
        seniors = ["jean.dubois", "claire.petit", "robert.lefevre", "sophie.moreau", "nadia.benali", "li.wei"]
        _open_pool(w, people, seniors)
        matcher, _, mentors, mentees, edges = await _eager(w)
        booked = [e for e, wgt in matcher.evaluate(edges, mentors, mentees).items() if wgt is not None]
        meet = [e for e in edges if matcher.hours_meet(mentors[e[0]], mentees[e[1]], "fortnightly")]
        assert set(booked) <= set(meet)
        assert len(meet) < len(edges), "some pairs' hours never meet (Sydney with Paris)"
        assert booked, "and many pairs can be booked"

    play(tmp_path, scenario)


@pytest.mark.slow
@pytest.mark.parametrize("weeks_in", [0, 14])
def test_the_bound_the_lazy_search_relies_on_is_never_below_what_the_planner_books(
    tmp_path: Path, weeks_in: int
) -> None:
    """Every pair of the demo tenant's zones, at the start and 14 weeks in (the spring blackout ahead):
    the sessions the planner books never exceed ``most_sessions``, or the assignment would not be optimal."""
    from datetime import timedelta

    async def scenario(w: World) -> None:
        _fresh(w)
        w.at(START + timedelta(weeks=weeks_in))
        people = ["lea.martin", "amina.diallo", "tom.nguyen", "priya.sharma", "emily.davis", "sanjay.thapa"]
        seniors = ["jean.dubois", "claire.petit", "robert.lefevre", "sophie.moreau", "nadia.benali", "li.wei"]
        _open_pool(w, people, seniors)
        matcher, _, mentors, mentees, edges = await _eager(w)
        matcher.evaluate(edges, mentors, mentees)
        assert matcher.results, "some pairs are booked"
        for (i, j), sessions in matcher.results.items():
            bound = matcher.most_sessions("fortnightly", matcher.hours(mentees[j]).zone)
            assert len(sessions) <= bound, (mentors[i], mentees[j], len(sessions), bound)
        if weeks_in:
            assert any(
                len(s) == matcher.most_sessions("fortnightly", matcher.hours(mentees[j]).zone)
                for (_, j), s in matcher.results.items()
            ), "and the bound is tight for some"

    play(tmp_path, scenario)
