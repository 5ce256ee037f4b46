"""A first run's new series get their blacked-out and out-of-office sessions fixed by a few calendarView
listings per mailbox, not one ``instances`` read per series; a listing that misses or fails leaves the
rest to the next run's repair."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import unquote
from zoneinfo import ZoneInfo

import pytest

from tests.e2e.world import World, pair_id, play
from worker.core.actions import Book, Cancel, Escalate, EscalationReason, Move
from worker.core.types import Interval, OccurrenceInfo
from worker.graph.errors import Transient
from worker.inprocess import connect
from worker.reconcile import apply as apply_module
from worker.reconcile.run import RunResult, reconcile
from worker.reconcile.state import State

# Pairs beyond the example's, so that more series than listings meet the winter and spring blackouts.
MORE_PAIRS = """  - mentor: lea.martin@contoso.com
    mentee: robert.lefevre@contoso.com
  - mentor: amina.diallo@contoso.com
    mentee: sophie.moreau@contoso.com
  - mentor: hugo.bernard@contoso.com
    mentee: claire.petit@contoso.com
  - mentor: nadia.benali@contoso.com
    mentee: michael.brown@contoso.com
  - mentor: emily.davis@contoso.com
    mentee: sophie.moreau@contoso.com
  - mentor: lea.martin@contoso.com
    mentee: michael.brown@contoso.com
"""


class Recording:
    """The sandbox app, noting each HTTP request's method and path, and those of a ``$batch``'s items
    (after the batch itself: ``POST $batch``)."""

    def __init__(self, app: Any) -> None:
        self._inner = app
        self.calls: list[tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.calls.append((scope["method"], scope["path"]))
            if scope["path"].endswith("/$batch"):
                body = b""
                while True:
                    message = await receive()
                    body += message.get("body", b"")
                    if not message.get("more_body"):
                        break
                for item in json.loads(body)["requests"]:
                    self.calls.append((item["method"], "/v1.0" + unquote(item["url"].split("?")[0])))

                async def replay() -> dict[str, Any]:
                    return {"type": "http.request", "body": body, "more_body": False}

                receive = replay
        await self._inner(scope, receive, send)


def _kind(method: str, path: str) -> str:
    last = path.rstrip("/").rsplit("/", 1)[-1]
    if last in ("calendarView", "instances", "cancel"):
        return f"{method} {last}"
    return f"{method} {'events/{id}' if '/events/' in path else last}"


async def _recorded(w: World) -> Recording:
    await w.gateway.aclose()
    recording = Recording(w.app)
    w.gateway = connect(recording, time=w.time)
    return recording


async def _first_run(w: World, recording: Recording) -> tuple[RunResult, Counter[str]]:
    """A run, and the requests it made, by kind (its writes start while it is still reading, so the
    reads are counted too: on a first run none of them is of a kind the fix-up makes, but the run
    lease's marker is a POST of an event)."""
    mark = len(recording.calls)
    result = await reconcile(w.config, gateway=w.gateway, now=w.now, state_path=w.state)
    return result, Counter(_kind(m, p) for m, p in recording.calls[mark:])


async def _away_on_second_monthly_session(w: World) -> datetime:
    """Claire out of office all day on the second session of her monthly pair with Emily, so the slot
    engine books that series with one session moved within its week."""
    dry = await w.run(dry_run=True)
    emily = pair_id(w, "emily.davis")
    (book,) = [b for b in dry.plan.of_kind(Book) if b.pair == emily]
    day = book.sessions[1].start.date()
    start = datetime.combine(day, time(0), tzinfo=UTC)
    await w.person.add_meeting("claire.petit@contoso.com", "Away", start, start + timedelta(days=1), "oof")
    return book.sessions[1].start


def _pattern_start(occ: OccurrenceInfo) -> datetime:
    return occ.original_start or occ.start


def test_new_series_are_fixed_up_by_a_few_listings_per_mailbox_not_one_per_series(
    tmp_path: Path,
) -> None:
    play(tmp_path, _fixed_up_by_a_few_listings(listings=4))


def test_a_mailbox_with_many_creates_is_fixed_up_in_two_waves(tmp_path: Path, monkeypatch: Any) -> None:
    # At scale (apply.FIXUP_WAVE_MIN creates in one mailbox) the first half's series are fixed while the
    # second half is created, so the listings never leave the mailbox idle. Here with 11 series.
    waves: list[int] = []
    fix_mailbox = apply_module._fix_mailbox

    async def counted(gw: Any, organizer: str, fixups: list[Any], *args: Any) -> None:
        waves.append(len(fixups))
        await fix_mailbox(gw, organizer, fixups, *args)

    monkeypatch.setattr(apply_module, "FIXUP_WAVE_MIN", 4)
    monkeypatch.setattr(apply_module, "_fix_mailbox", counted)
    play(tmp_path, _fixed_up_by_a_few_listings(listings=None))
    assert len(waves) == 2 and sum(waves) >= 8, waves


def _fixed_up_by_a_few_listings(*, listings: int | None) -> Any:
    async def scenario(w: World) -> None:
        w.write("pairs.yaml", (w.config / "pairs.yaml").read_text(encoding="utf-8") + MORE_PAIRS)
        await _away_on_second_monthly_session(w)
        recording = await _recorded(w)
        result, made = await _first_run(w, recording)
        assert result.summary()["errors"] == 0
        books = list(result.plan.of_kind(Book))
        fixed = [b for b in books if b.skipped or any(s.moved for s in b.sessions)]
        moves = [s for b in fixed for s in b.sessions if s.moved]
        assert len(fixed) >= 8 and moves, "several series meet the blackouts, one has a moved session"

        assert made["GET instances"] == 0, "no instances read per series"
        # 11 series, 4 listings: the moved session's week, the winter blackout's, and the spring
        # blackout's two weeks (its sessions on Tuesday the 20th and on the 27th-29th are 4 days apart);
        # in two waves, at most twice that.
        if listings is not None:
            assert made["GET calendarView"] == listings < len(fixed)
        else:
            assert 4 <= made["GET calendarView"] <= 8
        assert made["POST cancel"] == sum(len(b.skipped) for b in fixed)
        assert 0 < made["POST $batch"] < made["POST cancel"], "the cancels travel together in $batch requests"
        assert made["PATCH events/{id}"] == len(moves)
        assert made["POST events"] == len(books) + 1  # the creates, and the run lease's marker

        # The right occurrences: none left on a skipped date, each moved session where the engine put it.
        for book in books:
            (series,) = await w.series(book.pair)
            zone = ZoneInfo(book.spec.zone_name)
            live = [o for o in await w.occurrences(series, days=365) if not o.is_cancelled]
            assert not [o for o in live if _pattern_start(o).astimezone(zone).date() in book.skipped]
            assert sorted(o.start for o in live) == sorted(s.start for s in book.sessions), book.pair
            for session in book.sessions:
                (occ,) = [o for o in live if o.start == session.start]
                assert occ.is_exception == session.moved, (book.pair, session)

        again = await w.run()
        assert again.summary()["writes"] == 0, "nothing was left for the next run"

    return scenario


class _Lagging:
    """The gateway's calendarView finds none of our series (Graph has not indexed the new ones yet),
    as a run that dies before its fix-up would leave them, until ``catch_up``."""

    def __init__(self, w: World) -> None:
        self.lagging = True
        original = w.gateway.calendar_view

        async def calendar_view(
            organizer: str, window: Interval, **kw: Any
        ) -> dict[str, list[OccurrenceInfo]]:
            found = await original(organizer, window, **kw)
            return {} if self.lagging else found

        w.gateway.calendar_view = calendar_view

    def catch_up(self) -> None:
        self.lagging = False


def test_a_series_missing_from_the_listing_is_left_to_the_next_runs_repair(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        listings = _Lagging(w)
        first = await w.run()
        s = first.summary()
        assert s["errors"] == 0 and s["booked"] == 6 and s["writes"] == 6 + s["escalations_sent"]
        listings.catch_up()
        lea = pair_id(w, "lea.martin")
        (book,) = [b for b in first.plan.of_kind(Book) if b.pair == lea]
        winter = min(book.skipped)
        (series,) = await w.series(lea)
        zone = ZoneInfo(book.spec.zone_name)
        on_winter = [o for o in await w.occurrences(series) if o.start.astimezone(zone).date() == winter]
        assert on_winter and not on_winter[0].is_cancelled, "the lagging run did not cancel it"

        # Once the free/busy horizon reaches the winter holidays, the repair cancels that session, once.
        w.at(datetime.combine(winter, time(8), tzinfo=zone) - timedelta(days=20))
        later = await w.run()
        assert later.summary()["errors"] == 0
        cancels = [a for a in later.plan.of_kind(Cancel) if a.pair == lea]
        assert [c.event_id for c in cancels] == [on_winter[0].id]
        assert not [o for o in await w.occurrences(series) if o.id == on_winter[0].id and not o.is_cancelled]
        assert not [a for a in (await w.run()).plan.of_kind(Cancel) if a.pair == lea], "never twice"

    play(tmp_path, scenario)


def test_a_failed_listing_is_the_error_of_the_pairs_it_holds_and_the_others_are_fixed(tmp_path: Path) -> None:
    async def scenario(w: World) -> None:
        original = w.gateway.calendar_view
        winter = datetime(2027, 2, 22, tzinfo=UTC)

        async def calendar_view(
            organizer: str, window: Interval, **kw: Any
        ) -> dict[str, list[OccurrenceInfo]]:
            if window.start <= winter < window.end:
                raise Transient("calendarView: 503 after every retry", method="GET", path="/calendarView")
            return await original(organizer, window, **kw)

        w.gateway.calendar_view = calendar_view
        result = await w.run()
        books = [b for b in result.plan.of_kind(Book) if b.skipped]
        in_winter = {b.pair for b in books if any(d.month == 2 for d in b.skipped)}
        assert in_winter and set(result.pair_errors) == in_winter
        assert all(e.startswith("book: ") for e in result.pair_errors.values())
        for book in books:  # the spring blackout was listed: those sessions are cancelled all the same
            (series,) = await w.series(book.pair)
            zone = ZoneInfo(book.spec.zone_name)
            live = [o for o in await w.occurrences(series, days=365) if not o.is_cancelled]
            dates = {o.start.astimezone(zone).date() for o in live}
            assert not {d for d in book.skipped if d.month != 2} & dates
            assert {d for d in book.skipped if d.month == 2} <= dates, "left for the next run"

    play(tmp_path, scenario)


def test_a_bug_in_one_pair_stops_every_write_before_apply_returns(tmp_path: Path) -> None:
    # Not a Graph error (which stays the pair's own) but a bug: apply re-raises it, and no other pair's
    # write may still be running afterwards, when the run gives its lease back.
    class Stub:
        def __init__(self) -> None:
            self.started: list[str] = []
            self.cancelled: list[str] = []

        async def create_series(self, spec: Any) -> Any:
            self.started.append(spec.key)
            if len(self.started) == 3:
                raise RuntimeError("a bug")
            try:
                await asyncio.Event().wait()  # a slow write, still in flight
            except asyncio.CancelledError:
                self.cancelled.append(spec.key)
                raise

    async def scenario(w: World) -> None:
        dry = await w.run(dry_run=True)
        stub = Stub()
        state = State.load(tmp_path / "stub-state", "p")
        with pytest.raises(RuntimeError, match="a bug"):
            await apply_module.apply(stub, dry.plan, state, now=w.now, exclusive=True)  # type: ignore[arg-type]
        assert len(stub.started) >= 3
        assert sorted(stub.cancelled) == sorted(k for k in stub.started[:2] + stub.started[3:])

    play(tmp_path, scenario)


def test_a_mailbox_is_fixed_up_as_soon_as_its_own_pairs_are_done(tmp_path: Path, monkeypatch: Any) -> None:
    # With several programme mailboxes, one that finished its creates does not idle until the others have.
    fixed: list[tuple[str, bool]] = []  # (mailbox, were the slow mailbox's creates all done by then)
    slow_done = asyncio.Event()
    fix_mailbox = apply_module._fix_mailbox

    async def noted(gw: Any, organizer: str, fixups: list[Any], *args: Any) -> None:
        fixed.append((organizer.lower(), slow_done.is_set()))
        await fix_mailbox(gw, organizer, fixups, *args)

    monkeypatch.setattr(apply_module, "_fix_mailbox", noted)

    async def scenario(w: World) -> None:
        w.edit(
            "program.yaml",
            "organizer: mentoring@contoso.com",
            "organizer: [mentoring@contoso.com, people.lead@contoso.com]",
        )
        slow, fast = "people.lead@contoso.com", "mentoring@contoso.com"
        create = w.gateway.create_series
        books = [b for b in (await w.run(dry_run=True)).plan.of_kind(Book) if b.spec.organizer == slow]
        assert books, "the slow mailbox has pairs to book"
        left = [len(books)]

        async def counted(spec: Any) -> Any:
            if spec.organizer != slow:
                return await create(spec)
            for _ in range(3_000):  # the slow mailbox's creates take longer than all the fast one's
                await asyncio.sleep(0)
            try:
                return await create(spec)
            finally:
                left[0] -= 1
                if left[0] == 0:
                    slow_done.set()

        w.gateway.create_series = counted
        result = await w.run()
        assert result.summary()["errors"] == 0
        assert any(box == fast and not done for box, done in fixed), fixed

    play(tmp_path, scenario)


def test_a_move_the_booking_meant_is_made_by_the_next_run_even_under_on_conflict_keep(tmp_path: Path) -> None:
    # Emily Davis and Claire Petit are on executive-monthly (on_conflict: keep). Their booking moves
    # session 2 off a standing meeting; when the run dies before that move is made (the listing finds
    # nothing), a later run makes it as the booking meant, rather than keep the clash and tell the lead.
    async def scenario(w: World) -> None:
        listings = _Lagging(w)
        first = await w.run()
        listings.catch_up()
        emily = pair_id(w, "emily.davis")
        (book,) = [b for b in first.plan.of_kind(Book) if b.pair == emily]
        moved = [s for s in book.sessions if s.moved]
        assert moved, "the example's monthly pair has a session moved at booking"
        target = moved[0]
        (series,) = await w.series(emily)
        assert series.properties.get("planned") == ",".join(str(s.number) for s in moved)

        w.at(target.start - timedelta(days=20))
        later = await w.run()
        moves = [a for a in later.plan.of_kind(Move) if a.pair == emily]
        assert [m.session for m in moves] == [target.number]
        kept = EscalationReason.CONFLICT_KEPT
        assert not [a for a in later.plan.of_kind(Escalate) if a.pair == emily and a.reason is kept]
        assert not [a for a in (await w.run()).plan.of_kind(Move) if a.pair == emily], "moved once"

    play(tmp_path, scenario)
