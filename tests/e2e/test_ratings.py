"""Ratings in one click, read back from the programme mailbox: the issue's done-when story, end to end.

A participant "clicks" a rating link: the test sends exactly the message a mail client builds from the
``mailto:`` URL in their feedback email, from their own mailbox. Another person forges one with the same
link. The next run counts the genuine rating once and ignores the forged one; a rerun, or a run after
the local state is deleted, counts nothing twice, because the decisions live in the mailbox.
"""

from __future__ import annotations

import asyncio
import csv
import html
import io
import re
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.e2e.world import ORGANIZER, World, pair_id, play
from worker.commands.report import render
from worker.reconcile.run import programme_report

LINK = re.compile(r'<a href="(mailto:[^"]+)"[^>]*title="Rate (\d) of 5">')
LEA, JEAN = "lea.martin@contoso.com", "jean.dubois@contoso.com"


async def rating_links(w: World, address: str, session: int) -> dict[int, str]:
    """The rating links of ``address``'s feedback email for ``session``, as their mail client shows them."""
    for mail in await w.person.inbox(address):
        body = mail["body"]["content"]
        if f"session {session}" in body and "Rate this session" in body:
            return {int(value): html.unescape(url) for url, value in LINK.findall(body)}
    raise AssertionError(f"no feedback email for session {session} in {address}'s inbox")


async def inbox_categories(w: World) -> list[list[str]]:
    found = await w.person.call(
        "GET",
        f"/users/{ORGANIZER}/mailFolders/inbox/messages",
        params={"$select": "subject,categories", "$filter": "categories/any(c:c eq 'crossgen rating')"},
    )
    return [m["categories"] for m in found["value"]]


def test_a_genuine_click_counts_once_and_a_forged_one_never_even_after_the_state_is_lost(
    tmp_path: Path,
) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        w.advance(weeks=3)
        assert (await w.run()).summary()["feedback_sent"] > 0
        lea = pair_id(w, "lea.martin")
        links = await rating_links(w, LEA, 1)
        assert sorted(links) == [1, 2, 3, 4, 5]
        assert all(url.startswith(f"mailto:{ORGANIZER}?subject=") for url in links.values())
        w.advance(hours=2)
        await w.person.send_mailto(LEA, links[4], comment="Great <b>talk</b> on TikTok")
        await w.person.send_mailto(JEAN, links[1])  # the mentee forwards himself Léa's email and clicks 1
        w.advance(minutes=20)

        with capture_logs() as logs:
            first = await w.run()
            await programme_report(w.config, gateway=w.gateway, now=w.now, state_path=w.state)
        assert "TikTok" not in repr(logs), "a comment is confidential: never logged"
        assert any(e["event"] == "ratings.judged" for e in logs)
        assert (first.summary()["ratings"], first.summary()["ratings_ignored"]) == (1, 1)
        (counted,) = first.observed.ratings
        assert (counted.pair, counted.session, counted.role, counted.value, counted.by) == (
            lea,
            1,
            "mentor",
            4,
            LEA,
        )
        assert await inbox_categories(w) == [["crossgen rating"]]

        again = await w.run()
        assert (again.summary()["ratings"], again.summary()["ratings_ignored"]) == (0, 0)
        assert len(again.observed.ratings) == 1

        shutil.rmtree(w.state)  # the local state is lost: the mailbox still says what was decided
        w.advance(minutes=15)
        fresh = await w.run()
        assert (fresh.summary()["ratings"], fresh.summary()["ratings_ignored"]) == (0, 0)
        assert [r.value for r in fresh.observed.ratings] == [4]

        # Léa changes her mind: her latest rating of the session is the one that counts.
        await w.person.send_mailto(LEA, links[5])
        w.advance(minutes=15)
        changed = await w.run()
        assert changed.summary()["ratings"] == 1
        assert [r.value for r in changed.observed.ratings] == [5]

        # The report shows it, in every format; the comment only in the lead's own.
        report = await programme_report(w.config, gateway=w.gateway, now=w.now, state_path=w.state)
        rows = {row["pair"]: row for row in csv.DictReader(io.StringIO(render(report, "csv")))}
        assert (rows[lea]["ratings"], rows[lea]["average_rating"]) == ("1", "5.0")
        assert {row["average_rating"] for p, row in rows.items() if p != lea} == {""}
        assert rows[lea]["mentor_response_rate"] == "1.00"
        markdown, page = render(report, "md"), render(report, "html")
        assert "1 rating received; average 5.0 of 5" in markdown and "1 reply ignored" in markdown
        assert "Great \\<b\\>talk\\</b\\> on TikTok" in markdown
        assert "Great &lt;b&gt;talk&lt;/b&gt; on TikTok" in page and "<b>talk" not in page
        for fmt in ("md", "csv", "html"):
            summary = render(report, fmt, "company")
            assert (
                "TikTok" not in summary and "Léa" not in summary and LEA not in summary and lea not in summary
            )
        company = {
            r["figure"]: r["value"] for r in csv.DictReader(io.StringIO(render(report, "csv", "company")))
        }
        assert company["ratings"] == "1" and company["sessions_held"] == str(report.totals.held)
        assert company["average_rating"] == ""  # one rating: too few to show without pointing at someone

    play(tmp_path, scenario)


def test_a_pair_rating_low_twice_running_tells_the_lead_once(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        from worker.core.actions import Escalate

        await w.run()
        w.advance(weeks=5)  # the fortnightly pair has held sessions 1 and 2; both feedback emails went out
        await w.run()
        lea = pair_id(w, "lea.martin")
        for session, (mentor, mentee) in ((1, (2, 1)), (2, (1, 2))):
            await w.person.send_mailto(LEA, (await rating_links(w, LEA, session))[mentor])
            await w.person.send_mailto(JEAN, (await rating_links(w, JEAN, session))[mentee])
        w.advance(minutes=15)
        result = await w.run()
        assert result.summary()["ratings"] == 4
        alerts = [e for e in result.plan.of_kind(Escalate) if e.pair == lea]
        assert [a.reason.value for a in alerts] == ["disengaged"]
        assert "rated low (1.5 and 1.5 of 5)" in alerts[0].detail
        w.advance(days=1)
        again = await w.run()
        assert not [e for e in again.plan.of_kind(Escalate) if e.pair == lea]

    play(tmp_path, scenario)


def test_crossgen_report_prints_the_ratings_for_the_lead_and_a_company_summary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    import worker.graph.ops as ops_module
    from worker.commands.report import report
    from worker.inprocess import connect

    w = World(tmp_path)

    async def story() -> None:
        await w.run()
        w.advance(weeks=3)
        await w.run()
        await w.person.send_mailto(LEA, (await rating_links(w, LEA, 1))[4], comment="Très utile")
        w.advance(minutes=15)
        await w.run()
        await w.close()

    asyncio.run(story())
    gateways = iter([connect(w.app, time=w.time), connect(w.app, time=w.time)])  # one per command
    monkeypatch.setattr(ops_module.Gateway, "from_env", staticmethod(lambda: next(gateways)))
    monkeypatch.setenv("CROSSGEN_STATE", str(w.state))
    at = ["--config", str(w.config), "--as-of", w.now.isoformat()]
    lead = CliRunner().invoke(report, [*at, "--format", "csv"])
    assert lead.exit_code == 0, lead.output
    rows = {row["pair"]: row for row in csv.DictReader(io.StringIO(lead.stdout.strip()))}
    assert rows[pair_id(w, "lea.martin")]["average_rating"] == "4.0"
    company = CliRunner().invoke(report, [*at, "--audience", "company", "--format", "md"])
    assert company.exit_code == 0, company.output
    assert "| Ratings received | 1 |" in company.stdout and "Très utile" not in company.stdout
    assert "Léa" not in company.stdout and "Lea" not in company.stdout


def test_the_inbox_is_read_page_by_page_with_text_bodies_on_every_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import worker.graph.ops as ops_module

    monkeypatch.setattr(ops_module, "INBOX_PAGE", 2)
    monkeypatch.setattr(ops_module, "INBOX_PAGE_WITH_BODIES", 2)

    async def scenario(w: World) -> None:
        for n in range(5):
            await w.person.send_mailto(LEA, f"mailto:{ORGANIZER}?subject=Note%20{n}", comment=f"<p>n°{n}</p>")
            w.advance(minutes=1)
        since = w.now - timedelta(hours=1)
        listed = await w.gateway.inbox(ORGANIZER, since=since)
        assert sorted(m.subject for m in listed) == [f"Note {n}" for n in range(5)]
        assert {m.sender for m in listed} == {LEA} and all(m.body == "" for m in listed)
        with_bodies = await w.gateway.inbox(ORGANIZER, since=since, bodies=True)
        assert sorted(m.body.strip() for m in with_bodies) == [f"<p>n°{n}</p>" for n in range(5)]
        assert await w.gateway.inbox(ORGANIZER, since=w.now + timedelta(minutes=1)) == []

    play(tmp_path, scenario)
