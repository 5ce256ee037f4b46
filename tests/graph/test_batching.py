"""Cancels as JSON $batch items: gathered per mailbox, four a batch, each item retried as its own call."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from urllib.parse import unquote

import httpx
import pytest

from tests.graph.conftest import GRAPH, VirtualClock, VirtualSleep, Wire, assert_bodies_valid, make_gateway
from worker.core.types import Interval
from worker.graph.batching import Batcher, Item, Reply
from worker.graph.errors import InvalidRequest, NotFound
from worker.graph.ops import Gateway
from worker.graph.pacing import Pacer, PacingLimits

pytestmark = pytest.mark.anyio

ORG = "mentoring@contoso.com"
OTHER = "mentoring-2@contoso.com"


def cancel_route(wire: Wire, organizer: str = ORG, **mock: object) -> object:
    url = rf".*/users/{organizer.replace('@', '(@|%40)')}/events/(?P<event>[^/]+)/cancel$"
    return wire.router.post(url__regex=url).mock(**(mock or {"return_value": httpx.Response(202)}))


def items_of(batch: httpx.Request) -> list[dict[str, object]]:
    return list(json.loads(batch.content)["requests"])


async def holding_a_slot(pacer: Pacer, until: asyncio.Event, mailbox: str = ORG) -> None:
    """A single request to ``mailbox`` in flight until ``until`` is set."""
    async with pacer.slot(mailbox):
        await until.wait()


def sized_batcher() -> tuple[Pacer, Batcher, list[int]]:
    """A pacer on a virtual clock, and a batcher over it whose batches are all answered 202: the list
    gets each batch's size as it is sent."""
    clock = VirtualClock()
    pacer = Pacer(PacingLimits(), clock=clock, sleep=VirtualSleep(clock))
    sent: list[int] = []

    async def send(items: list[dict[str, object]]) -> list[dict[str, object]]:
        sent.append(len(items))
        await asyncio.sleep(0)
        return [{"id": i["id"], "status": 202, "headers": {}} for i in items]

    return pacer, Batcher(send, pacer=pacer), sent


async def test_cancels_started_together_travel_twenty_to_a_batch(wire: Wire, gateway: Gateway) -> None:
    route = cancel_route(wire)
    await asyncio.gather(*(gateway.cancel(ORG, f"occ-{i}", "No session this week") for i in range(25)))
    batches = wire.batches()
    # Graph's limit is 20 a batch; then whole rounds of four (Graph runs four at a time), then the rest
    assert [len(items_of(b)) for b in batches] == [20, 4, 1]
    assert route.call_count == 25
    first = items_of(batches[0])[0]
    assert first["method"] == "POST" and first["url"] == "/users/mentoring%40contoso.com/events/occ-0/cancel"
    # Graph requires a Content-Type with a body, and a batch's own headers do not reach its items
    assert first["headers"] == {"Content-Type": "application/json", "Prefer": 'IdType="ImmutableId"'}
    assert first["body"] == {"Comment": "No session this week"}
    assert assert_bodies_valid(batches) == 25  # every item's body against the CSDL
    assert gateway.batched == (3, 25)


async def test_each_mailbox_gets_its_own_batches(wire: Wire, gateway: Gateway) -> None:
    cancel_route(wire)
    cancel_route(wire, OTHER)
    await asyncio.gather(
        *(gateway.cancel(ORG, f"a-{i}", "x") for i in range(3)),
        *(gateway.cancel(OTHER, f"b-{i}", "x") for i in range(2)),
    )
    urls = [{str(i["url"]).split("/")[2] for i in items_of(b)} for b in wire.batches()]
    assert sorted(map(sorted, urls)) == [["mentoring%40contoso.com"], ["mentoring-2%40contoso.com"]]


async def test_a_throttled_item_waits_its_own_retry_after_and_goes_again_in_a_later_batch(
    wire: Wire, gateway: Gateway
) -> None:
    throttled = httpx.Response(
        429,
        headers={"Retry-After": "2.5"},
        json={"error": {"code": "ApplicationThrottled", "message": "MailboxConcurrency"}},
    )
    route = wire.router.post(f"{GRAPH}/users/{ORG}/events/occ-1/cancel").mock(
        side_effect=[throttled, httpx.Response(202)]
    )
    other = wire.router.post(f"{GRAPH}/users/{ORG}/events/occ-2/cancel").mock(
        return_value=httpx.Response(202)
    )
    await asyncio.gather(gateway.cancel(ORG, "occ-1", "x"), gateway.cancel(ORG, "occ-2", "x"))
    assert route.call_count == 2 and other.call_count == 1, "only the throttled item is sent again"
    assert wire.sleep.waits == [2.5]
    assert [len(items_of(b)) for b in wire.batches()] == [2, 1]


async def test_an_item_that_fails_is_that_cancel_s_error_and_the_others_are_done(
    wire: Wire, gateway: Gateway
) -> None:
    missing = httpx.Response(404, json={"error": {"code": "ErrorItemNotFound", "message": "not found"}})
    wire.router.post(f"{GRAPH}/users/{ORG}/events/gone/cancel").mock(return_value=missing)
    kept = wire.router.post(f"{GRAPH}/users/{ORG}/events/here/cancel").mock(return_value=httpx.Response(202))
    results = await asyncio.gather(
        gateway.cancel(ORG, "gone", "x"), gateway.cancel(ORG, "here", "x"), return_exceptions=True
    )
    assert isinstance(results[0], NotFound) and "ErrorItemNotFound" in str(results[0])
    assert results[1] is None and kept.call_count == 1
    assert len(wire.batches()) == 1


async def test_a_batch_that_fails_as_a_whole_fails_each_item_which_is_retried(wire: Wire) -> None:
    gateway = make_gateway(wire)
    route = cancel_route(wire)
    envelope = wire.router.routes[-2]  # mount_batch's route, before cancel_route's
    assert envelope.pattern is not None and "$batch" in repr(envelope.pattern)
    busy = {"error": {"code": "ServiceUnavailable", "message": "busy"}}
    answers = iter([httpx.Response(503, headers={"Retry-After": "1"}, json=busy)])

    real = envelope.side_effect

    def flaky(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or real(request)  # type: ignore[operator,misc]

    envelope.side_effect = flaky
    lookup = wire.router.get(url__regex=r".*/events/occ-\d$").mock(
        return_value=httpx.Response(200, json={"id": "occ", "isCancelled": False})
    )
    await asyncio.gather(gateway.cancel(ORG, "occ-1", "x"), gateway.cancel(ORG, "occ-2", "x"))
    # 503 on the envelope: each item may have been done, so each is looked up, then sent again.
    assert lookup.call_count == 2 and route.call_count == 2
    assert wire.sleep.waits == [1.0, 1.0]


async def test_a_malformed_batch_answer_is_an_invalid_request_for_its_items(
    wire: Wire, gateway: Gateway
) -> None:
    wire.router.post(f"{GRAPH}/$batch").mock(return_value=httpx.Response(200, json={"value": []}))
    with pytest.raises(InvalidRequest, match="no responses"):
        await gateway.cancel(ORG, "occ-1", "x")


async def test_without_batching_a_cancel_is_its_own_request(wire: Wire) -> None:
    gateway = make_gateway(wire, batch_writes=False)
    route = cancel_route(wire)
    await asyncio.gather(*(gateway.cancel(ORG, f"occ-{i}", "x") for i in range(3)))
    assert route.call_count == 3 and wire.batches() == []


async def test_a_batch_holds_one_slot_per_item_and_counts_each_against_the_mailbox() -> None:
    clock = VirtualClock()
    pacer = Pacer(PacingLimits(), clock=clock, sleep=VirtualSleep(clock))
    release = asyncio.Event()

    async def batch(n: int) -> None:
        async with pacer.free_slots(ORG, n) as held:
            await held.spend(n)
            clock.now += 0.1
            await release.wait()

    tasks = [
        asyncio.create_task(batch(4)),
        asyncio.create_task(holding_a_slot(pacer, release)),
        asyncio.create_task(batch(3)),
    ]
    for _ in range(10):
        await asyncio.sleep(0)
    assert pacer.max_in_flight[ORG] == 4, "the first batch has all four slots; the rest wait"
    release.set()
    await asyncio.gather(*tasks)
    assert pacer.max_in_flight[ORG] == 4
    assert pacer.requests_made[ORG] == 8
    assert pacer.held[ORG] == pytest.approx(0.1 * 4 + 0.1 * 3), "slot time: each item's slot for the batch"


async def test_batches_gathering_slots_never_deadlock() -> None:
    pacer = Pacer(PacingLimits(concurrency=4), clock=VirtualClock(), sleep=VirtualSleep())

    async def batch(mailbox: str, n: int) -> None:
        async with pacer.free_slots(mailbox, n):
            await asyncio.sleep(0)

    async def single(mailbox: str) -> None:
        async with pacer.slot(mailbox):
            await asyncio.sleep(0)

    jobs = [batch(ORG, 3), batch(OTHER, 2), single(ORG), batch(OTHER, 4), batch(ORG, 2), batch(ORG, 4)] * 5
    await asyncio.wait_for(asyncio.gather(*jobs), timeout=5)
    assert pacer.max_in_flight[ORG] <= 4 and pacer.max_in_flight[OTHER] <= 4
    assert pacer._in_flight[ORG] == 0 and pacer._in_flight[OTHER] == 0


async def test_an_item_whose_caller_gave_up_before_it_was_sent_is_not_sent() -> None:
    sent: list[list[dict[str, object]]] = []

    async def send(items: list[dict[str, object]]) -> list[dict[str, object]]:
        sent.append(items)
        return [{"id": i["id"], "status": 202, "headers": {}} for i in items]

    batcher = Batcher(send, pacer=Pacer(PacingLimits(), clock=VirtualClock(), sleep=VirtualSleep()))
    kept = asyncio.ensure_future(batcher.submit(ORG, Item("POST", "/users/a/events/1/cancel", {})))
    dropped = asyncio.ensure_future(batcher.submit(ORG, Item("POST", "/users/a/events/2/cancel", {})))
    await asyncio.sleep(0)
    dropped.cancel()
    assert await kept == Reply(202, {})
    assert [[i["url"] for i in b] for b in sent] == [["/users/a/events/1/cancel"]]
    await batcher.aclose()


async def test_a_batch_waits_for_the_slots_its_items_need_and_never_carries_more_than_it_holds() -> None:
    pacer, batcher, sent = sized_batcher()
    busy = [asyncio.Event() for _ in range(4)]

    singles = [asyncio.create_task(holding_a_slot(pacer, e)) for e in busy]  # all four slots taken
    await asyncio.sleep(0)
    first = asyncio.ensure_future(batcher.submit(ORG, Item("POST", "/a/0", {})))
    for _ in range(3):
        await asyncio.sleep(0)
    rest = [asyncio.ensure_future(batcher.submit(ORG, Item("POST", f"/a/{i}", {}))) for i in range(1, 11)]
    for _ in range(3):
        await asyncio.sleep(0)
    busy[0].set()  # one slot frees: the batch that wanted one goes, with one item, though ten more came
    for _ in range(10):
        await asyncio.sleep(0)
    assert sent == [1]
    for event in busy[1:]:
        event.set()
    await asyncio.gather(first, *rest, *singles)
    assert sent == [1, 8, 2], "then whole rounds of four, then the rest"
    assert pacer.max_in_flight[ORG] == 4 and pacer.requests_made[ORG] == 4 + 11
    await batcher.aclose()


async def test_a_batch_that_waited_for_one_slot_takes_those_freed_meanwhile_for_the_items_that_came() -> None:
    pacer, batcher, sent = sized_batcher()
    busy = asyncio.Event()

    singles = [asyncio.create_task(holding_a_slot(pacer, busy)) for _ in range(4)]
    await asyncio.sleep(0)
    first = asyncio.ensure_future(batcher.submit(ORG, Item("POST", "/a/0", {})))  # it asks for one slot
    for _ in range(3):
        await asyncio.sleep(0)
    rest = [asyncio.ensure_future(batcher.submit(ORG, Item("POST", f"/a/{i}", {}))) for i in range(1, 11)]
    busy.set()  # all four free at once: the batch gets its one, and the three others as well
    await asyncio.gather(first, *rest, *singles)
    assert sent == [8, 3], "two whole rounds of four in the four slots, then the rest"
    assert pacer.max_in_flight[ORG] == 4
    await batcher.aclose()


async def test_widening_takes_only_free_slots_and_counts_each_from_when_it_was_taken() -> None:
    clock = VirtualClock()
    pacer = Pacer(PacingLimits(), clock=clock, sleep=VirtualSleep(clock))
    done = asyncio.Event()

    singles = [asyncio.create_task(holding_a_slot(pacer, done)) for _ in range(2)]
    await asyncio.sleep(0)
    async with pacer.free_slots(ORG, 1) as held:
        clock.now += 1.0
        assert await held.widen(4) == 2, "two slots are another request's: one more is free"
        assert pacer._in_flight[ORG] == 4
        clock.now += 1.0
    assert pacer._in_flight[ORG] == 2
    assert pacer.held[ORG] == pytest.approx(2.0 + 1.0), "the first slot two seconds, the other one"
    done.set()
    await asyncio.gather(*singles)
    async with pacer.free_slots(ORG, 4) as held:
        assert held.width == 4 and await held.widen(4) == 4


async def test_a_programme_mailbox_s_reads_during_the_writes_travel_in_its_batches(
    wire: Wire, gateway: Gateway
) -> None:
    # A read sent alone would hold one of the mailbox's four slots while the next batch waits for all
    # four: the Sent Items lookup of an email and the fix-up's calendarView pages go as items instead.
    cancel_route(wire)
    sent = wire.router.get(f"{GRAPH}/users/{ORG}/mailFolders/sentitems/messages").mock(
        return_value=httpx.Response(200, json={"value": [{"id": "m1"}]})
    )
    second_page = f"{GRAPH}/users/{ORG}/calendarView?$skiptoken=page-2"
    view = wire.router.get(url__regex=r".*/calendarView\?.*").mock(
        side_effect=[
            httpx.Response(200, json={"value": [], "@odata.nextLink": second_page}),
            httpx.Response(200, json={"value": []}),
        ]
    )
    window = Interval(datetime(2027, 2, 22, tzinfo=UTC), datetime(2027, 2, 27, tzinfo=UTC))
    found, *_ = await asyncio.gather(
        gateway.mail_already_sent(ORG, "escalation:pair-1"),
        gateway.calendar_view(ORG, window, amid_writes=True),
        *(gateway.cancel(ORG, f"occ-{i}", "x") for i in range(6)),
    )
    assert found is True and sent.call_count == 1 and view.call_count == 2
    items = [i for b in wire.batches() for i in items_of(b)]
    reads = [i for i in items if i["method"] == "GET"]
    assert len(reads) == 3 and len(items) == 9, "each call above went once, as a batch item"
    lookup = next(i for i in reads if "sentitems" in str(i["url"]))
    first, then = sorted(
        (i for i in reads if "calendarView" in str(i["url"])), key=lambda i: "skip" in str(i["url"])
    )
    assert str(lookup["url"]).startswith("/users/mentoring%40contoso.com/mailFolders/sentitems/messages?")
    assert "internetMessageId" in unquote(str(lookup["url"]))
    assert "startDateTime=2027-02-22" in unquote(str(first["url"])) and "body" not in first
    assert then["url"] == "/users/mentoring@contoso.com/calendarView?$skiptoken=page-2", (
        "the next link, relative"
    )
    for item in reads:
        assert item["headers"]["Prefer"] == 'IdType="ImmutableId"'  # type: ignore[index]


async def test_a_listing_outside_the_writes_or_a_next_link_elsewhere_is_read_directly(
    wire: Wire, gateway: Gateway
) -> None:
    elsewhere = "https://graph.microsoft.us/v1.0/users/mentoring@contoso.com/calendarView?$skiptoken=2"
    view = wire.router.get(url__regex=r".*/calendarView\?.*").mock(
        side_effect=[
            httpx.Response(200, json={"value": []}),  # the read phase's listing: not amid writes
            httpx.Response(200, json={"value": [], "@odata.nextLink": elsewhere}),
            httpx.Response(200, json={"value": []}),
        ]
    )
    window = Interval(datetime(2027, 2, 22, tzinfo=UTC), datetime(2027, 2, 27, tzinfo=UTC))
    await gateway.calendar_view(ORG, window)
    await gateway.calendar_view(ORG, window, amid_writes=True)
    assert view.call_count == 3
    batched = [i for b in wire.batches() for i in items_of(b)]
    assert len(batched) == 1 and "startDateTime" in unquote(str(batched[0]["url"])), "only the fix-up's page"
    assert view.calls.last.request.url.host == "graph.microsoft.us", "the next link, followed as given"


async def test_a_throttled_batched_read_waits_its_retry_after_and_is_read_again(
    wire: Wire, gateway: Gateway
) -> None:
    throttled = httpx.Response(429, headers={"Retry-After": "3"}, json={"error": {"code": "TooManyRequests"}})
    sent = wire.router.get(f"{GRAPH}/users/{ORG}/mailFolders/sentitems/messages").mock(
        side_effect=[throttled, httpx.Response(200, json={"value": []})]
    )
    assert await gateway.mail_already_sent(ORG, "escalation:pair-1") is False
    assert sent.call_count == 2 and wire.sleep.waits == [3.0] and len(wire.batches()) == 2


def test_an_item_asks_for_immutable_ids_alongside_its_own_preferences() -> None:
    from worker.graph.client import prefer_immutable_ids

    assert prefer_immutable_ids("") == 'IdType="ImmutableId"'
    assert prefer_immutable_ids('outlook.timezone="UTC"') == 'outlook.timezone="UTC", IdType="ImmutableId"'
    assert prefer_immutable_ids('idtype="RestId"') == 'idtype="RestId"', "one that names its id type keeps it"


async def test_without_batching_a_read_is_its_own_request(wire: Wire) -> None:
    gateway = make_gateway(wire, batch_writes=False)
    sent = wire.router.get(f"{GRAPH}/users/{ORG}/mailFolders/sentitems/messages").mock(
        return_value=httpx.Response(200, json={"value": []})
    )
    assert await gateway.mail_already_sent(ORG, "escalation:pair-1") is False
    assert sent.call_count == 1 and wire.batches() == []


async def test_crossgen_graph_batch_off_sends_each_write_alone_and_a_typo_is_refused(wire: Wire) -> None:
    from tests.graph.conftest import base_env
    from worker.graph.errors import AuthError

    gateway = make_gateway(wire, env=base_env(CROSSGEN_GRAPH_BATCH="off"))
    route = cancel_route(wire)
    await asyncio.gather(*(gateway.cancel(ORG, f"occ-{i}", "x") for i in range(2)))
    assert route.call_count == 2 and wire.batches() == []
    with pytest.raises(AuthError, match="CROSSGEN_GRAPH_BATCH"):
        make_gateway(wire, env=base_env(CROSSGEN_GRAPH_BATCH="maybe"))


async def test_a_throttled_batch_answered_424_as_a_whole_is_tried_again_item_by_item(
    wire: Wire, gateway: Gateway
) -> None:
    # The throttling page says a throttled batch fails with 424 (the batching page: 200 and items).
    route = cancel_route(wire)
    envelope = next(r for r in wire.router.routes if "$batch" in repr(r.pattern))
    real = envelope.side_effect
    answers = iter(
        [httpx.Response(424, headers={"Retry-After": "3"}, json={"error": {"code": "x", "message": "y"}})]
    )
    envelope.side_effect = lambda request: next(answers, None) or real(request)  # type: ignore[operator,misc]
    wire.router.get(url__regex=r".*/events/occ-1$").mock(
        return_value=httpx.Response(200, json={"id": "occ-1", "isCancelled": False})
    )
    await gateway.cancel(ORG, "occ-1", "x")
    assert route.call_count == 1 and wire.sleep.waits == [3.0]


async def test_an_unreadable_item_answer_is_a_maybe_done_failure_not_a_hang(wire: Wire) -> None:
    gateway = make_gateway(wire)
    route = cancel_route(wire)
    envelope = next(r for r in wire.router.routes if "$batch" in repr(r.pattern))
    real = envelope.side_effect
    bad = iter([httpx.Response(200, json={"responses": [{"id": "1", "status": "202", "headers": []}]})])
    envelope.side_effect = lambda request: next(bad, None) or real(request)  # type: ignore[operator,misc]
    lookup = wire.router.get(url__regex=r".*/events/occ-1$").mock(
        return_value=httpx.Response(200, json={"id": "occ-1", "isCancelled": False})
    )
    await asyncio.wait_for(gateway.cancel(ORG, "occ-1", "x"), timeout=5)
    assert lookup.call_count == 1 and route.call_count == 1, "502 for the item: looked up, then sent"


async def test_an_item_whose_caller_gave_up_while_its_batch_waited_for_budget_is_not_sent() -> None:
    clock = VirtualClock()
    release = asyncio.Event()

    async def sleep(seconds: float) -> None:  # the budget's wait: until the test says so
        await release.wait()
        clock.now += seconds

    pacer = Pacer(PacingLimits(requests=1, request_period=600.0), clock=clock, sleep=sleep)
    sent: list[str] = []

    async def send(items: list[dict[str, object]]) -> list[dict[str, object]]:
        sent.extend(str(i["url"]) for i in items)
        return [{"id": i["id"], "status": 202, "headers": {}} for i in items]

    batcher = Batcher(send, pacer=pacer)
    assert await batcher.submit(ORG, Item("POST", "/a/0", {})) == Reply(202, {})  # the budget is spent
    waiting = asyncio.ensure_future(batcher.submit(ORG, Item("POST", "/a/1", {})))
    for _ in range(10):
        await asyncio.sleep(0)
    waiting.cancel()  # taken by a batch that waits for budget, not sent yet
    release.set()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    for _ in range(10):
        await asyncio.sleep(0)
    assert sent == ["/a/0"]
    hung = asyncio.ensure_future(batcher.submit(ORG, Item("POST", "/a/2", {})))
    release.clear()
    for _ in range(10):
        await asyncio.sleep(0)
    await batcher.aclose()  # a batch waiting for budget when the gateway closes: its caller is told
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(hung, timeout=5)
