"""Per-mailbox limits and injected faults, as the worker will meet them, and the counters tests read."""

from __future__ import annotations

import asyncio

import pytest

from tests.sandbox.sandbox_client import FakeClock, Graph, example, run, shape_mismatches, with_graph
from worker.sandbox.app import create_app
from worker.sandbox.faults import FaultConfig, Lane, Limits, format_retry_after

ORG = "mentoring@contoso.com"
EVENT = {
    "subject": "x",
    "start": {"dateTime": "2027-01-04T09:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2027-01-04T10:00:00", "timeZone": "UTC"},
}


class Gate:
    """A sleeper that holds every request until the test opens it: concurrency without real waiting."""

    def __init__(self) -> None:
        self.waiting = 0
        self.event: asyncio.Event | None = None

    async def __call__(self, seconds: float) -> None:
        if self.event is None:
            self.event = asyncio.Event()
        self.waiting += 1
        await self.event.wait()


def test_a_fifth_concurrent_request_on_one_mailbox_is_throttled() -> None:
    gate = Gate()
    app = create_app(
        empty=True,
        clock=FakeClock(),
        sleeper=gate,
        faults=FaultConfig(latency_seconds=(0.5, 0.5), retry_after_seconds=(2.0, 2.0)),
    )

    async def scenario() -> None:
        async with Graph(app) as graph:
            app.faults.update({"latency_seconds": [0, 0]})
            await graph.add_user("mentoring")
            await graph.add_user("lea")
            app.faults.update({"latency_seconds": [0.5, 0.5]})
            held = [asyncio.ensure_future(graph.get(f"/users/{ORG}/events")) for _ in range(4)]
            while gate.waiting < 4:
                await asyncio.sleep(0)
            fifth = await graph.get(f"/users/{ORG}/events")
            assert fifth.status_code == 429
            assert shape_mismatches(example("mailbox_concurrency_429_response.json"), fifth.json()) == []
            assert fifth.json()["error"]["message"] == "Application is over its MailboxConcurrency limit."
            assert fifth.headers["Retry-After"] == "2"
            other = asyncio.ensure_future(
                graph.get("/users/lea@contoso.com/events")
            )  # another mailbox is fine
            while gate.waiting < 5:
                await asyncio.sleep(0)
            assert gate.event is not None
            gate.event.set()
            assert [r.status_code for r in await asyncio.gather(*held, other)] == [200] * 5

    run(scenario())
    assert app.max_in_flight_for(ORG) == 4 and app.requests_to(ORG) == 5
    assert app.counters.throttled == 1
    assert app.counters.throttled_at[0][2] == 2.0


def test_request_window_per_mailbox_resets_with_the_clock() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        await graph.add_user("lea")
        graph.app.faults.update({"mailbox_requests_per_window": 3, "mailbox_window_seconds": 600})
        statuses = [(await graph.get(f"/users/{ORG}/events")).status_code for _ in range(3)]
        refused = await graph.get(f"/users/{ORG}/events")
        assert statuses == [200, 200, 200] and refused.status_code == 429
        assert shape_mismatches(example("throttling_429_response.json"), refused.json()) == [
            "$.error.innerError.code: missing",
            "$.error.innerError.message: missing",
            "$.error.innerError.status: missing",
        ]
        assert (await graph.get("/users/lea@contoso.com/events")).status_code == 200
        graph.app.clock.advance(600)
        assert (await graph.get(f"/users/{ORG}/events")).status_code == 200

    with_graph(scenario)


def test_transient_faults_are_seeded_and_carry_retry_after() -> None:
    def statuses(seed: int) -> list[int]:
        config = FaultConfig(transient_error_rate=0.5, retry_after_seconds=(1.0, 3.0))

        async def scenario(graph: Graph) -> list[int]:
            graph.app.faults.update({"transient_error_rate": 0})
            await graph.add_user("mentoring")
            graph.app.faults.update({"transient_error_rate": 0.5})
            out = []
            for _ in range(20):
                r = await graph.get(f"/users/{ORG}/events")
                if r.status_code != 200:
                    assert 1.0 <= float(r.headers["Retry-After"]) <= 3.0
                out.append(r.status_code)
            return out

        return with_graph(scenario, faults=config, seed=seed)

    first = statuses(7)
    assert first == statuses(7)
    assert set(first) > {200} and set(first) <= {200, 429, 503, 504}


def test_a_request_meets_the_same_fault_whatever_order_requests_arrive_in() -> None:
    """Concurrent requests reach the sandbox in an order the event loop picks; the seed alone decides."""
    paths = [f"/users/{ORG}/events?$top={n}" for n in range(1, 13)]

    def fates(order: list[str]) -> dict[str, list[int]]:
        async def scenario(graph: Graph) -> dict[str, list[int]]:
            graph.app.faults.update({"transient_error_rate": 0})
            await graph.add_user("mentoring")
            graph.app.faults.update({"transient_error_rate": 0.5})
            out: dict[str, list[int]] = {p: [] for p in order}
            for _ in range(3):  # the same request again rolls afresh: a retry is not doomed
                for path in order:
                    out[path].append((await graph.get(path)).status_code)
            return out

        return with_graph(scenario, faults=FaultConfig(transient_error_rate=0.5), seed=11)

    forward = fates(paths)
    assert forward == fates(list(reversed(paths)))
    assert any(len(set(codes)) > 1 for codes in forward.values())
    assert {c for codes in forward.values() for c in codes} > {200}


def test_commit_then_fail_writes_but_answers_504() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        graph.app.faults.update({"commit_then_fail_rate": 1.0})
        failed = await graph.post(f"/users/{ORG}/events", {**EVENT, "transactionId": "t-1"})
        assert failed.status_code == 504 and "Retry-After" in failed.headers
        assert (await graph.get(f"/users/{ORG}/events")).status_code == 200  # reads are not affected
        graph.app.faults.update({"commit_then_fail_rate": 0})
        assert len((await graph.get(f"/users/{ORG}/events")).json()["value"]) == 1
        retried = await graph.post(f"/users/{ORG}/events", {**EVENT, "transactionId": "t-1"})
        assert retried.status_code == 201
        assert len((await graph.get(f"/users/{ORG}/events")).json()["value"]) == 1

    with_graph(scenario)


def test_mailboxes_outside_the_rbac_scope_get_access_denied() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        await graph.add_user("ceo")
        graph.app.faults.update({"denied_mailboxes": ["CEO@contoso.com"]})
        denied = await graph.get(
            "/users/ceo@contoso.com/calendarView",
            params={"startDateTime": "2027-01-01", "endDateTime": "2027-01-02"},
        )
        assert denied.status_code == 403
        assert shape_mismatches(example("application_access_policy_denied_error.json"), denied.json()) == []
        assert (await graph.post("/users/ceo@contoso.com/sendMail", {"message": {}})).status_code == 403
        assert (await graph.get("/users/ceo@contoso.com")).status_code == 200  # the directory is not scoped
        assert (await graph.get(f"/users/{ORG}/events")).status_code == 200

    with_graph(scenario)


def test_counters_record_each_request_and_reset() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        for _ in range(3):
            await graph.get(f"/users/{ORG}/events")
        counters = graph.app.counters
        uid = graph.app.tenant.find_user(ORG).id  # type: ignore[union-attr]
        assert counters.requests[uid] == 3
        assert counters.log[-1][0] == graph.app.clock() and counters.log[-1][2:] == (
            "GET",
            f"/users/{ORG}/events",
            200,
            None,
        )
        control = await graph.http.get("/_sandbox/counters")
        assert control.json()["requests"][uid] == counters.requests[uid]
        await graph.http.post("/_sandbox/counters/reset")
        assert graph.app.counters.requests == {}

    with_graph(scenario)


def test_retry_after_formats_fractions_or_integers() -> None:
    assert format_retry_after(2.128) == "2.128"
    assert format_retry_after(10.0) == "10"
    assert format_retry_after(2.1, integer=True) == "3"


def test_requests_sooner_than_retry_after_are_reported() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        graph.app.faults.update(
            {"transient_error_rate": 1.0, "transient_statuses": [429], "retry_after_seconds": [2, 2]}
        )
        assert (await graph.get(f"/users/{ORG}/events")).status_code == 429
        graph.app.faults.update({"transient_error_rate": 0.0})
        graph.app.clock.advance(1)
        await graph.get(f"/users/{ORG}/events")  # one second early
        graph.app.clock.advance(1.5)
        await graph.get(f"/users/{ORG}/events")  # after the wait: fine
        violations = graph.app.counters.retry_after_violations()
        assert [v["early_by"] for v in violations] == [1.0]
        assert (await graph.http.get("/_sandbox/counters")).json()["retry_after_violations"] == violations

    with_graph(scenario)


def test_requests_sent_together_overlap_even_without_added_latency() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        responses = await asyncio.gather(*[graph.get(f"/users/{ORG}/events") for _ in range(6)])
        assert sorted(r.status_code for r in responses) == [200, 200, 200, 200, 429, 429]
        assert graph.app.max_in_flight_for(ORG) == 4

    with_graph(scenario)


def test_latency_counts_from_arrival_so_the_sandboxs_own_work_is_inside_it() -> None:
    """A benchmark's throttle-bound minimum assumes each request takes the latency: the sandbox's CPU
    (schema checks, recurrence expansion) is spent inside it, as Graph's is, not added on top."""
    slept: list[float] = []
    now = [10.0]

    async def sleeper(seconds: float) -> None:
        slept.append(seconds)

    timed = Limits(FaultConfig(latency_seconds=(0.1, 0.1)), seed=0, sleeper=sleeper, monotonic=lambda: now[0])
    virtual = Limits(FaultConfig(latency_seconds=(0.1, 0.1)), seed=0, sleeper=sleeper)

    async def serve(limits: Limits, work: float) -> None:
        arrived = limits.arrived()
        now[0] += work  # the handler's own time
        await limits.latency(arrived)

    async def scenario() -> None:
        await serve(timed, 0.03)
        await serve(timed, 0.25)  # slower than the latency: answered at once, never early
        await serve(virtual, 0.03)  # virtual time: processing takes none, the whole latency is slept

    asyncio.run(scenario())
    assert [round(s, 6) for s in slept] == [0.07, 0.0, 0.1]


def test_a_batch_lane_keeps_its_own_schedule_so_late_wakeups_do_not_pile_up() -> None:
    """A batch's items run four at a time, each after the one before in its lane. On Graph each round
    takes the latency; the sandbox's one event loop wakes a sleeper a little late when it is busy, and
    that lateness must not be added to every later round of the batch."""
    slept: list[float] = []
    now = [0.0]

    async def late_sleeper(seconds: float) -> None:
        slept.append(round(seconds, 6))
        now[0] += seconds + 0.01  # the loop was busy: woken 10 ms late

    limits = Limits(
        FaultConfig(latency_seconds=(0.1, 0.1)), seed=0, sleeper=late_sleeper, monotonic=lambda: now[0]
    )
    lane = Lane()

    async def item(ready: float, work: float) -> None:
        lane.begin(ready)
        arrived = limits.arrived(lane)
        now[0] += work
        await limits.latency(arrived, lane=lane)
        lane.end(now[0])

    async def scenario() -> None:
        await item(0.0, 0.02)  # due at 0.1, answered at 0.11
        await item(0.0, 0.02)  # it waited for the lane: its turn began at 0.1, so it is due at 0.2
        lane.begin(0.0)  # an item refused before its latency (a 429) frees the lane when it is refused
        lane.end(now[0])
        await item(0.0, 0.0)

    asyncio.run(scenario())
    assert slept == [0.08, 0.07, 0.1]  # the third starts when the refused one freed the lane, at 0.21
    assert lane.due == pytest.approx(0.31)


def test_a_batchs_rounds_through_the_sandbox_take_the_latency_each_not_the_latency_plus_late_wakeups() -> (
    None
):
    """The same through ``$batch``: eight items in four lanes are two rounds, and the second round's
    items wait out what is left of theirs after the first round's late wake-up."""
    now = [0.0]
    slept: list[float] = []

    async def late_sleeper(seconds: float) -> None:
        slept.append(round(seconds, 6))
        due = now[0] + seconds + 0.01  # the loop was busy: woken 10 ms late
        await asyncio.sleep(0)  # the other lanes' items sleep meanwhile
        now[0] = max(now[0], due)

    app = create_app(empty=True, clock=FakeClock(), sleeper=late_sleeper)

    async def scenario() -> None:
        async with Graph(app) as graph:
            await graph.add_user("mentoring")
            app.faults.update({"latency_seconds": [0.1, 0.1]})
            app.sandbox.limits._monotonic = lambda: now[0]  # real-time semantics, on a clock we move
            requests = [{"id": str(i), "method": "GET", "url": f"/users/{ORG}/events"} for i in range(8)]
            response = await graph.post("/$batch", {"requests": requests})
            assert [r["status"] for r in response.json()["responses"]] == [200] * 8

    asyncio.run(scenario())
    assert slept == [0.1] * 4 + [0.09] * 4
    assert now[0] == pytest.approx(0.21), "two rounds of 100 ms and the last wake-up's 10 ms"
