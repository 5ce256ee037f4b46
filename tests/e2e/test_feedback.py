"""After each session: the feedback form exactly once per participant; and the lead's report."""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.e2e.world import LEAD, START, World, pair_id, play
from worker.core.actions import Escalate
from worker.graph.pacing import PacingLimits
from worker.reconcile.state import State

FORM = re.compile(r'href="(https://forms\.office\.com/[^"]+)"')


async def feedback_mails(w: World) -> list[dict]:
    found = await w.person.call(
        "GET",
        "/users/mentoring@contoso.com/mailFolders/sentitems/messages",
        params={"$select": "subject,body,toRecipients", "$top": "500"},
    )
    return [m for m in found["value"] if "feedback" in m["subject"].lower()]


def test_each_held_session_yields_one_email_per_participant_with_their_own_link(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        w.advance(weeks=5)
        result = await w.run()
        held = [(a.pair, a.session) for a in result.plan.actions if a.kind.value == "feedback"]
        mails = await feedback_mails(w)
        assert len(mails) == len(held) > 10
        per_recipient = Counter(
            (m["toRecipients"][0]["emailAddress"]["address"], m["subject"]) for m in mails
        )
        assert max(per_recipient.values()) == 1, "one email per participant per session"
        for mail in mails:
            to = mail["toRecipients"][0]["emailAddress"]["address"]
            (link,) = set(FORM.findall(mail["body"]["content"]))
            query = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
            pair = next(
                p
                for p in result.desired.pairs
                if to in (p.mentor.address, p.mentee.address) and p.id == query["pair"][0]
            )
            assert query["role"] == ["mentor" if to == pair.mentor.address else "mentee"]
            assert query["session"][0].isdigit()
        again = await w.run()
        assert again.summary()["feedback_sent"] == 0
        assert len(await feedback_mails(w)) == len(mails)

    play(tmp_path, scenario)


def test_cancelled_and_doubly_declined_sessions_yield_no_feedback(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        lea, amina = pair_id(w, "lea.martin"), pair_id(w, "amina.diallo")
        (lea_series,) = await w.series(lea)
        (amina_series,) = await w.series(amina)
        declined = (await w.occurrences(lea_series))[1]
        cancelled = (await w.occurrences(amina_series))[1]
        # Inside the freeze window, so the worker does not move them:
        # both decline one session, and the other is called off.
        w.at(declined.start - timedelta(hours=12))
        for who in ("lea.martin@contoso.com", "jean.dubois@contoso.com"):
            await w.person.respond(who, declined.id, "decline")
        await w.person.call(
            "POST",
            f"/users/mentoring@contoso.com/events/{cancelled.id}/cancel",
            json={"comment": "Offsite day"},
        )
        w.advance(weeks=3)
        result = await w.run()
        sessions = {(a.pair, a.session) for a in result.plan.actions if a.kind.value == "feedback"}
        assert (lea, 1) in sessions and (amina, 1) in sessions
        assert (lea, 2) not in sessions and (amina, 2) not in sessions
        assert (lea, 3) in sessions

    play(tmp_path, scenario)


def test_a_crash_between_sending_and_recording_never_sends_twice(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        w.advance(weeks=3)

        def crash(self: State, keys: object) -> None:
            raise RuntimeError("killed after the send, before the record")

        with monkeypatch.context() as m:
            m.setattr(State, "mark_sent", crash)
            with pytest.raises(RuntimeError, match="before the record"):
                await w.run()
        sent_before = len(await feedback_mails(w))
        assert sent_before >= 1
        result = await w.run()
        mails = await feedback_mails(w)
        counts = Counter((m["toRecipients"][0]["emailAddress"]["address"], m["subject"]) for m in mails)
        assert max(counts.values()) == 1
        assert result.outcome is not None and result.outcome.already_done >= 1

    play(tmp_path, scenario)


def test_forty_owed_emails_go_out_over_two_runs_within_the_sending_budget(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        w.advance(weeks=11)
        w.app.sandbox.limits.reset_counters()
        first = await w.run()
        summary = first.summary()
        total = summary["feedback_sent"] + summary["escalations_sent"] + summary["deferred"]
        assert total >= 40
        assert summary["feedback_sent"] + summary["escalations_sent"] <= 30
        assert summary["deferred"] >= 10
        w.advance(minutes=1)
        second = await w.run()
        assert second.summary()["deferred"] == 0
        sent = summary["feedback_sent"] + second.summary()["feedback_sent"]
        assert sent == len(await feedback_mails(w))
        counters = w.app.sandbox.limits.counters.as_json()
        assert counters["status_counts"].get("429", 0) == 0, "the budget kept us under the sending limit"

    play(tmp_path, scenario, limits=PacingLimits(messages=30, message_period=60.0))


def test_the_report_numbers_match_the_calendars(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        from worker.reconcile.run import programme_report

        await w.run()
        w.advance(weeks=6)
        await w.run()
        report = await programme_report(w.config, gateway=w.gateway, now=w.now, state_path=w.state)
        held = 0
        for s in await w.series():
            held += len([o for o in await w.occurrences(s) if o.end <= w.now and not o.is_cancelled])
        assert report.totals.held == held
        assert report.totals.feedback_sent == len(await feedback_mails(w)) == 2 * held
        assert sum(row.held for row in report.pairs) == held
        assert report.start == START.date() + timedelta(days=7)

    play(tmp_path, scenario)


def test_two_sessions_missed_in_a_row_tell_the_lead_once(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        lea = pair_id(w, "lea.martin")
        (series,) = await w.series(lea)
        first, second = (await w.occurrences(series))[:2]
        for occ in (first, second):  # declined at the last minute, too late to move
            w.at(occ.start - timedelta(hours=12))
            await w.person.respond("jean.dubois@contoso.com", occ.id, "decline")
        w.at(second.end + timedelta(days=1))
        result = await w.run()
        reasons = [e.reason.value for e in result.plan.of_kind(Escalate) if e.pair == lea]
        assert reasons == ["disengaged"]

        def disengaged(mails: list[dict]) -> int:
            return len(
                [
                    m
                    for m in mails
                    if m["toRecipients"][0]["emailAddress"]["address"] == LEAD
                    and "may have stalled" in m["subject"]
                ]
            )

        sent = await w.sent()
        assert disengaged(sent) == 1, [m["subject"] for m in sent]
        w.advance(days=1)
        again = await w.run()
        assert not [e for e in again.plan.of_kind(Escalate) if e.pair == lea]
        assert disengaged(await w.sent()) == 1

    play(tmp_path, scenario)
