"""What participants find in their Inbox, read from the sandbox (which keeps every message Exchange would
deliver): people named as the directory names them, a welcome only for a pair's first series, a goodbye
when a pair leaves, the new rhythm when a policy changes, and cancellations that say which day and why."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from tests.e2e.world import World, inbox, pair_id, play
from tests.render.htmlread import flat, read
from worker.core.actions import Book, Cancel, CancelScope, Move, SendFeedback
from worker.core.render import format_local

PRIYA_ENTRY = (
    "  - mentor: priya.sharma@contoso.com      # Kolkata (UTC+5:30) with Paris: Paris mornings\n"
    "    mentee: robert.lefevre@contoso.com\n"
    "    topics: [generative AI, data]\n"
)
DAY_AND_TIME = re.compile(
    r"(Monday|Tuesday|Wednesday|Thursday|Friday) \d{1,2} [A-Z][a-z]+ 2027, \d\d:\d\d \([A-Za-z]+/[A-Za-z_]+\)"
)


def _text(message: dict[str, Any]) -> str:
    return flat(read(message["body"]["content"]).text)


def _of(messages: list[dict[str, Any]], who: str, kind: str) -> list[dict[str, Any]]:
    return [m for m in messages if who in m["subject"] and m.get("meetingMessageType") == kind]


def test_invitations_name_people_as_the_directory_does_and_pairs_yaml_may_override(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        w.edit(
            "pairs.yaml",
            "pairs:\n",
            'people:\n  jean.dubois@contoso.com: {name: "Jean-Hervé Dubois"}\npairs:\n',
        )
        result = await w.run()
        names = {(p.mentor.name, p.mentee.name) for p in result.desired.pairs}
        assert ("Priya Sharma", "Robert Lefèvre") in names and ("Léa Martin", "Jean-Hervé Dubois") in names
        (invite,) = _of(await inbox(w, "robert.lefevre@contoso.com"), "Priya Sharma", "meetingRequest")
        assert invite["subject"] == "Priya Sharma & Robert Lefèvre · Contoso Reverse Mentoring 2027"
        text = _text(invite)
        assert "Hello Priya and Robert," in text and "Robert Lefèvre" in text
        assert "Welcome to Contoso Reverse Mentoring 2027" in text
        assert DAY_AND_TIME.search(text.split("Your sessions:")[1]), "dates carry day, time and zone"
        (lea,) = _of(await inbox(w, "lea.martin@contoso.com"), "Léa Martin", "meetingRequest")
        assert lea["subject"].startswith("Léa Martin & Jean-Hervé Dubois ·")
        assert "Hello Léa and Jean-Hervé Dubois," in _text(lea), "pairs.yaml's name is used whole"

    play(tmp_path, scenario)


def test_a_pair_leaving_after_sessions_gets_a_goodbye_not_a_welcome(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        priya = pair_id(w, "priya.sharma")
        w.advance(days=30)  # two sessions have taken place
        w.edit("pairs.yaml", PRIYA_ENTRY, "")
        before = len(await inbox(w, "robert.lefevre@contoso.com"))
        result = await w.run()
        (cancel,) = [c for c in result.plan.of_kind(Cancel) if c.pair == priya]
        assert cancel.scope is CancelScope.END_AFTER
        news = (await inbox(w, "robert.lefevre@contoso.com"))[before:]
        (update,) = [m for m in news if "Priya Sharma" in m["subject"]]
        text = _text(update)
        assert "Welcome" not in text
        assert "Your pairing in Contoso Reverse Mentoring 2027 has ended." in text
        assert "What happens next" in text and "No more invitations or feedback emails" in text
        assert DAY_AND_TIME.search(text.split("Your last session together was on")[1])
        assert "people.lead@contoso.com" in text
        assert (await w.run()).summary()["writes"] == 0

    play(tmp_path, scenario)


def test_a_policy_change_tells_of_the_new_rhythm_and_welcomes_no_one_again(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        lea = pair_id(w, "lea.martin")
        w.advance(days=30)
        w.edit("policies.yaml", "days: [tue, wed, thu]", "days: [wed, thu]")
        before = len(await inbox(w, "lea.martin@contoso.com"))
        result = await w.run()
        kinds = [
            type(a).__name__ for a in result.plan.actions if a.pair == lea and a.kind.value != "feedback"
        ]
        assert kinds == ["Cancel", "Book"], "the old series ends before the new one is booked"
        news = _of((await inbox(w, "lea.martin@contoso.com"))[before:], "Léa Martin", "meetingRequest")
        assert len(news) == 2, "the old series' update, then the new series' invitation"
        ended, invite = (_text(m) for m in news)
        for text in (ended, invite):
            assert "Welcome" not in text
            assert re.search(
                r"move to a new rhythm: every 2 weeks on (Wednesday|Thursday)s at \d\d:\d\d "
                r"\(Europe/Paris\)",
                text,
            ), text
        assert "the sessions you held stay in your calendars" in ended
        assert DAY_AND_TIME.search(invite.split("Your next sessions:")[1])

    play(tmp_path, scenario)


def test_a_blacked_out_date_is_cancelled_with_its_date_and_reason_and_listed_in_the_invite(
    tmp_path: Path,
) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        messages = await inbox(w, "lea.martin@contoso.com")
        (invite,) = _of(messages, "Léa Martin", "meetingRequest")[:1]
        text = _text(invite)
        assert "Dates without a session" in text
        assert re.search(r"\w+day 2\d February 2027: Winter school holidays \(Paris\)", text), text
        cancelled = _of(messages, "Léa Martin", "meetingCancelled")
        assert cancelled, "the blacked-out occurrence is cancelled, and Exchange tells the attendees"
        comments = [_text(m) for m in cancelled]
        assert any(
            re.search(
                r"No session on \w+day 2\d February 2027, \d\d:\d\d \(Europe/Paris\): "
                r"Winter school holidays \(Paris\)\. Your next session: ",
                c,
            )
            for c in comments
        ), comments

    play(tmp_path, scenario)


def test_feedback_names_the_next_session_where_the_calendar_holds_it(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        lea = pair_id(w, "lea.martin")
        (series,) = await w.series(lea)
        first, second = [o for o in await w.occurrences(series) if not o.is_cancelled][:2]
        await w.person.respond("jean.dubois@contoso.com", second.id, "decline", comment="Board meeting")
        w.at(first.end + timedelta(hours=1))
        result = await w.run()
        (move,) = [m for m in result.plan.of_kind(Move) if m.pair == lea]
        mails = [f for f in result.plan.of_kind(SendFeedback) if f.pair == lea and f.session == 1]
        assert len(mails) == 2
        for mail in mails:
            assert mail.upcoming is not None and mail.upcoming.start == move.new.start
        from zoneinfo import ZoneInfo

        paris = ZoneInfo("Europe/Paris")
        moved = format_local(move.new.start, paris, "Europe/Paris")
        assert f"Next session: {moved}" in mails[0].mail.text
        assert "Hello Léa," in next(m.mail.text for m in mails if m.role.value == "mentor")

    play(tmp_path, scenario)


def test_names_are_read_once_with_the_people_and_cached_even_without_reporting_line_checks(
    tmp_path: Path,
) -> None:
    async def scenario(w: World) -> None:
        w.edit("program.yaml", "reject_reporting_lines: true", "reject_reporting_lines: false")
        reads: list[tuple[int, bool]] = []
        real = w.gateway.manager_chains

        async def counted(addresses: Any, **kwargs: Any) -> Any:
            people = list(addresses)
            reads.append((len(people), kwargs.get("chains", True)))
            return await real(people, **kwargs)

        w.gateway.manager_chains = counted  # type: ignore[method-assign]
        first = await w.run()
        assert reads and all(chains is False for _, chains in reads), "names alone: no manager chains"
        people = {a for p in first.desired.pairs for a in (p.mentor.address, p.mentee.address)}
        assert sum(n for n, _ in reads) == len(people) == 13, "everyone in the pairs, once"
        assert ("Léa Martin", "Jean Dubois") in {(p.mentor.name, p.mentee.name) for p in first.desired.pairs}
        state = json.loads((w.state / "state.json").read_text(encoding="utf-8"))
        names = state["programmes"][first.desired.key]["names"]
        assert names["robert.lefevre@contoso.com"] == ["Robert Lefèvre", "Robert"]
        reads.clear()
        w.advance(days=1)
        again = await w.run()
        assert reads == [], "a steady run reads no one again within the week"
        assert "Robert Lefèvre" in {p.mentee.name for p in again.desired.pairs}

    play(tmp_path, scenario)


def test_a_moved_session_update_says_where_it_went_and_why_with_its_agenda(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        lea = pair_id(w, "lea.martin")
        (series,) = await w.series(lea)
        target = next(o for o in await w.occurrences(series) if o.start > w.now + timedelta(days=10))
        await w.person.respond("jean.dubois@contoso.com", target.id, "decline", comment="Board meeting")
        w.advance(days=1)
        before = len(await inbox(w, "lea.martin@contoso.com"))
        result = await w.run()
        (move,) = [m for m in result.plan.of_kind(Move) if m.pair == lea]
        news = _of((await inbox(w, "lea.martin@contoso.com"))[before:], "Léa Martin", "meetingRequest")
        (update,) = news
        assert update["subject"].startswith(f"Session {move.session}: ")
        text = _text(update)
        assert "Welcome" not in text
        assert re.search(
            rf"Session {move.session} has moved: now \w+day \d+ \w+ 2027, \d\d:\d\d \(Europe/Paris\), "
            rf"instead of \w+day \d+ \w+ 2027, \d\d:\d\d \(Europe/Paris\): Jean Dubois could not make it\.",
            text,
        ), text
        assert "Here is its agenda." in text
        # The agenda is in the moved session already: no second update for it later.
        w.at(move.new.start - timedelta(days=1))
        assert not [
            a
            for a in (await w.run()).plan.actions
            if a.pair == lea and a.kind.value == "agenda" and a.session == move.session
        ]

    play(tmp_path, scenario)


def test_a_policy_change_before_any_session_cancels_with_the_new_rhythm_in_the_note(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        await w.run()
        lea = pair_id(w, "lea.martin")
        w.advance(hours=2)
        w.edit("policies.yaml", "days: [tue, wed, thu]", "days: [wed, thu]")
        before = len(await inbox(w, "jean.dubois@contoso.com"))
        result = await w.run()
        (cancel,) = [c for c in result.plan.of_kind(Cancel) if c.pair == lea]
        assert cancel.scope is CancelScope.SERIES
        news = (await inbox(w, "jean.dubois@contoso.com"))[before:]
        # Exchange puts the comment above the cancelled meeting's body.
        cancelled = _of(news, "Léa Martin", "meetingCancelled")
        (gone,) = [m for m in cancelled if _text(m).startswith("Your sessions in")]
        assert re.search(
            r"^Your sessions in Contoso Reverse Mentoring 2027 move to a new rhythm: every 2 weeks on "
            r"(Wednesday|Thursday)s at \d\d:\d\d \(Europe/Paris\), from \w+day \d+ January 2027, \d\d:\d\d "
            r"\(Europe/Paris\)\. These are cancelled",
            _text(gone),
        ), _text(gone)
        (invite,) = [m for m in _of(news, "Léa Martin", "meetingRequest")]
        assert "Welcome" not in _text(invite) and "move to a new rhythm" in _text(invite)

    play(tmp_path, scenario)


def test_a_date_skipped_for_a_clock_change_says_so_not_a_blackout(tmp_path: Path) -> None:
    # Emily's day in New York and Nadia's in London overlap by one hour, 14:30-15:30 UTC, except from 14
    # to 27 March 2027, when New York is on summer time and London not yet: those weeks have no session.
    # The slot engine says why for each skipped date (Skip.reason); the cancellation and the invitation
    # must say it too, not put a clock change down to a blackout.
    pairs = (
        "pairs:\n"
        "  - mentor: emily.davis@contoso.com\n"
        "    mentee: nadia.benali@contoso.com\n"
    )

    async def scenario(w: World) -> None:
        for who, start, end in (("emily.davis", "09:30", "10:30"), ("nadia.benali", "14:30", "15:30")):
            await w.person.call(
                "PATCH",
                f"/users/{who}@contoso.com/mailboxSettings",
                json={"workingHours": {"startTime": f"{start}:00.0000000", "endTime": f"{end}:00.0000000"}},
            )
        result = await w.run()
        (book,) = result.plan.of_kind(Book)
        because = dict(zip(book.skipped, book.skip_reasons, strict=True))
        march = [day for day in book.skipped if date(2027, 3, 14) <= day <= date(2027, 3, 27)]
        assert len(march) == 1, book.skipped
        assert because[march[0]] == "their working hours do not meet that week"
        note = book.note_for(march[0])
        assert "clocks change" in note and "holidays" not in note and "takes a break" not in note, note
        blackout = [day for day in book.skipped if day not in march]
        assert blackout and all(
            "holidays" in book.note_for(day) or "Ascension" in book.note_for(day) for day in blackout
        ), [book.note_for(day) for day in blackout]

        messages = await inbox(w, "nadia.benali@contoso.com")
        invite = _of(messages, "Emily Davis", "meetingRequest")[0]
        listed = _text(invite).split("Dates without a session")[1]
        assert re.search(r"\w+day 1\d March 2027: the clocks change in one of your zones", listed), listed
        cancelled = [_text(m) for m in _of(messages, "Emily Davis", "meetingCancelled")]
        assert any(re.search(r"No session on \w+day 1\d March 2027, .*clocks change", c) for c in cancelled)

    play(tmp_path, scenario, pairs=pairs)
