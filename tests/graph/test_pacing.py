"""Pacing: concurrency per mailbox, request budgets on a virtual clock, spreading free/busy reads."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.graph.conftest import GRAPH, VirtualClock, VirtualSleep, Wire, make_gateway
from worker.graph.ops import READ_FAN_OUT, Gateway, fan_out
from worker.graph.pacing import Pacer, PacingLimits, TokenBucket

pytestmark = pytest.mark.anyio


async def test_at_most_four_requests_are_in_flight_per_mailbox() -> None:
    pacer = Pacer(PacingLimits(), clock=VirtualClock(), sleep=VirtualSleep())
    release = asyncio.Event()

    async def request(mailbox: str) -> None:
        async with pacer.slot(mailbox):
            await release.wait()

    tasks = [asyncio.create_task(request("a@contoso.com")) for _ in range(10)]
    tasks += [asyncio.create_task(request("b@contoso.com")) for _ in range(2)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert pacer.max_in_flight["a@contoso.com"] == 4
    assert pacer.max_in_flight["b@contoso.com"] == 2, "one busy mailbox does not hold up another"
    release.set()
    await asyncio.gather(*tasks)
    assert pacer.requests_made == {"a@contoso.com": 10, "b@contoso.com": 2}


async def test_the_time_each_mailbox_holds_its_slots_is_counted_on_the_injected_clock() -> None:
    # The benchmark's "slot hold": how long a request really occupies one of the mailbox's four slots.
    clock = VirtualClock()
    pacer = Pacer(PacingLimits(), clock=clock, sleep=VirtualSleep(clock))
    for seconds in (0.1, 0.25):
        async with pacer.slot("A@contoso.com"):
            clock.now += seconds
    assert pacer.held == {"a@contoso.com": pytest.approx(0.35)}
    assert pacer.requests_made == {"a@contoso.com": 2}


async def test_the_request_budget_waits_on_the_injected_clock() -> None:
    clock = VirtualClock()
    sleep = VirtualSleep(clock)
    bucket = TokenBucket(5, 10.0, clock=clock, sleep=sleep)
    waited = [await bucket.acquire() for _ in range(7)]
    assert waited[:5] == [0.0] * 5
    assert waited[5:] == [pytest.approx(2.0), pytest.approx(2.0)]  # 5 per 10 s refills one every 2 s
    assert sleep.waits == [pytest.approx(2.0), pytest.approx(2.0)]


def test_the_sending_budget_answers_without_waiting() -> None:
    clock = VirtualClock()
    pacer = Pacer(PacingLimits(messages=30, message_period=60.0), clock=clock, sleep=VirtualSleep())
    budget = pacer.send_budget("Mentoring@contoso.com")
    assert all(budget.try_acquire() for _ in range(30))
    assert budget.try_acquire() is False
    assert budget.seconds_until_available() == pytest.approx(2.0)
    clock.now += 2.0
    assert budget.try_acquire() is True
    assert pacer.send_budget("mentoring@contoso.com") is budget


def test_the_mailbox_of_a_request_comes_from_its_path() -> None:
    assert Pacer.mailbox_of("/v1.0/users/Ana%40Contoso.com/events/abc") == "ana@contoso.com"
    assert Pacer.mailbox_of("/v1.0/users/ana@contoso.com/calendar/getSchedule") == "ana@contoso.com"
    assert Pacer.mailbox_of("/v1.0/$batch") == ""


async def test_a_spent_request_budget_slows_the_gateway_instead_of_bouncing_off_429(wire: Wire) -> None:
    gateway = make_gateway(wire, limits=PacingLimits(requests=3, request_period=30.0))
    route = wire.router.get(f"{GRAPH}/users/a@contoso.com/mailboxSettings").mock(
        return_value=httpx.Response(200, json={"timeZone": "UTC"})
    )
    for _ in range(4):
        await gateway.mailbox_zone("a@contoso.com")
    assert route.call_count == 4
    assert wire.sleep.waits == [pytest.approx(10.0)]
    assert gateway.requests_made == {"a@contoso.com": 4}


async def test_free_busy_reads_go_to_the_least_loaded_mailbox_of_the_chunk(wire: Wire) -> None:
    gateway = make_gateway(wire)
    route = wire.router.post(url__regex=r".*/getSchedule").mock(
        return_value=httpx.Response(200, json={"value": []})
    )
    wire.router.get(url__regex=r".*/mailboxSettings").mock(
        return_value=httpx.Response(404, json={"error": {"code": "ErrorItemNotFound", "message": "none"}})
    )
    async with gateway.pacer.slot("organiser@contoso.com"):
        pass  # the organiser has already used some of its budget this run
    from datetime import UTC, datetime

    from worker.core.types import Interval

    window = Interval(datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 1, 8, tzinfo=UTC))
    await gateway.free_busy(["organiser@contoso.com", "ana@contoso.com"], window)
    assert route.calls.last.request.url.raw_path.decode().startswith("/v1.0/users/ana%40contoso.com/")


async def test_fanned_out_reads_share_one_limit_across_concurrent_fan_outs(gateway: Gateway) -> None:
    # observe reads free/busy and manager chains at once: together they stay within READ_FAN_OUT.
    running, most = 0, 0

    async def read() -> None:
        nonlocal running, most
        running += 1
        most = max(most, running)
        await asyncio.sleep(0)
        running -= 1

    gate = gateway._read_gate()
    assert gateway._read_gate() is gate, "one limit per gateway (and event loop)"
    jobs = READ_FAN_OUT + 20
    await asyncio.gather(
        fan_out([read() for _ in range(jobs)], gate=gate), fan_out([read() for _ in range(jobs)], gate=gate)
    )
    assert most == READ_FAN_OUT
