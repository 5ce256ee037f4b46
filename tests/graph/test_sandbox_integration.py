"""The gateway against the Graph sandbox, in-process: every operation end to end, with faults on.

MSAL reaches the sandbox's token endpoint through a sync Starlette test client (an httpx.Client), Graph
calls go through ``httpx.ASGITransport``: the real gateway, no sockets.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.graph.conftest import VirtualClock, VirtualSleep
from tests.graph.test_series import spec
from worker.core.types import Attendee, Cadence, CadenceKind, Interval, MailSpec, Recurrence
from worker.graph.ops import Gateway

sandbox_app = pytest.importorskip("worker.sandbox.app")
pytestmark = pytest.mark.anyio

BASE = "http://127.0.0.1:8765"
ORG = "mentoring@contoso.com"


@pytest.fixture
def app() -> Any:
    return sandbox_app.create_app(seed=0)


class AsgiSyncTransport(httpx.BaseTransport):
    """MSAL is synchronous: each of its requests is served by the ASGI app on a short-lived event loop in
    a helper thread (MSAL may be called from inside the test's running loop, at construction)."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        async def serve() -> httpx.Response:
            response = await self._inner.handle_async_request(request)
            content = await response.aread()
            return httpx.Response(response.status_code, headers=response.headers, content=content)

        with ThreadPoolExecutor(max_workers=1) as pool:
            return pool.submit(asyncio.run, serve()).result()


@pytest.fixture
def gateway(app: Any) -> Iterator[Gateway]:
    clock = VirtualClock()
    with httpx.Client(transport=AsgiSyncTransport(app), base_url=BASE) as token_client:
        yield Gateway.from_env(
            dict(app.info(BASE)["env"]),
            http_client=httpx.AsyncClient(transport=httpx.ASGITransport(app=app)),
            token_http_client=token_client,
            sleep=VirtualSleep(clock),
            clock=clock,
        )


def booking(start: datetime, key: str = "pair-lea-jean") -> Any:
    rec = Recurrence(Cadence(CadenceKind.WEEKLY), start.weekday(), start.date(), 4, "Europe/Paris")
    return spec(
        organizer=ORG,
        key=key,
        start_local=start,
        end_local=start + timedelta(minutes=45),
        zone_name="Europe/Paris",
        recurrence=rec,
        attendees=(Attendee("lea.martin@contoso.com", name="Léa"), Attendee("jean.dubois@contoso.com")),
    )


def next_monday(hour: int) -> datetime:
    today = datetime.now(UTC).date()
    monday = today + timedelta(days=7 - today.weekday())
    return datetime(monday.year, monday.month, monday.day, hour)


async def test_people_and_free_busy_read_from_the_sandbox(gateway: Gateway) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    window = Interval(now, now + timedelta(days=60))
    people = [ORG, "lea.martin@contoso.com", "jean.dubois@contoso.com", "nobody@contoso.com"]
    schedules = await gateway.free_busy(people, window)
    assert set(schedules) == set(people)
    assert schedules["nobody@contoso.com"].error is not None
    lea = schedules["lea.martin@contoso.com"]
    assert lea.error is None and lea.working_hours is not None
    assert all(b.start.tzinfo is UTC and window.start <= b.end for b in lea.busy)

    _zone, name = await gateway.mailbox_zone(ORG)
    assert name == "Europe/Paris"
    chain = await gateway.manager_chain("lea.martin@contoso.com")
    assert chain and chain[0] != "lea.martin@contoso.com"


async def test_manager_chains_in_bulk_agree_with_the_level_by_level_walk(gateway: Gateway, app: Any) -> None:
    people = [*sorted(u.address.lower() for u in app.tenant.users.values()), "nobody@contoso.com"]
    walked = {p: await gateway.manager_chain(p) for p in people}
    app.sandbox.limits.reset_counters()
    chains = await gateway.manager_chains(people)
    assert chains == walked and any(len(c) >= 2 for c in chains.values())
    served = [(method, path) for _at, _box, method, path, _status, _ra in app.counters.log]
    # Everyone in one listing; only the unknown address is looked up alone (404: no chain).
    assert served == [("GET", "/users"), ("GET", "/users/nobody@contoso.com")], served


async def test_a_series_lives_its_whole_life_against_the_sandbox(gateway: Gateway, app: Any) -> None:
    start = next_monday(10)
    created = await gateway.create_series(booking(start))
    assert created.join_url

    found = await gateway.find_series(ORG, "pair-lea-jean")
    assert [s.id for s in found] == [created.id]
    assert found[0].properties["programme"] == "spring"
    assert found[0].recurrence is not None and found[0].recurrence.count == 4
    listed = await gateway.list_series(ORG, programme="spring")
    assert [s.id for s in listed] == [created.id]

    window = Interval(datetime.now(UTC), datetime.now(UTC) + timedelta(days=60))
    occurrences = await gateway.occurrences(ORG, created.id, window)
    assert len(occurrences) == 4
    first = occurrences[0]
    assert {a.address for a in first.attendees} >= {"lea.martin@contoso.com", "jean.dubois@contoso.com"}

    new_start = first.start + timedelta(days=1)
    await gateway.move_occurrence(
        ORG,
        first.id,
        start=new_start,
        end=new_start + timedelta(minutes=45),
        zone_name="Europe/Paris",
        properties={"moves": "1"},
    )
    await gateway.update_occurrence(
        ORG, occurrences[1].id, body_html="<p>Session 2</p>", properties={"agenda": "2"}
    )
    await gateway.cancel(ORG, occurrences[2].id, "Team offsite")
    after = await gateway.occurrences(ORG, created.id, window)
    moved = next(o for o in after if o.id == first.id)
    assert moved.start == new_start and moved.is_exception and moved.properties.get("moves") == "1"
    assert len([o for o in after if not o.is_cancelled]) == 3

    await gateway.end_series(ORG, created.id, occurrences[1].start.date(), properties={"ended": "yes"})
    ended = await gateway.find_series(ORG, "pair-lea-jean")
    assert ended[0].properties.get("ended") == "yes"
    assert ended[0].recurrence is not None and ended[0].recurrence.count == 2

    await gateway.cancel(ORG, created.id, "Programme finished")
    assert gateway.requests_made[ORG] > 0


async def test_writes_that_happened_but_answered_504_are_not_repeated(gateway: Gateway, app: Any) -> None:
    app.sandbox.faults.update({"commit_then_fail_rate": 1.0})
    created = await gateway.create_series(booking(next_monday(14), key="pair-504"))
    mail = MailSpec(
        sender=ORG,
        key="feedback:pair-504:1",
        to=("lea.martin@contoso.com",),
        subject="How was it?",
        html="<p>Tell us</p>",
        text="Tell us",
    )
    assert await gateway.send_mail_once(mail) is True
    app.sandbox.faults.update({"commit_then_fail_rate": 0.0})

    assert [s.id for s in await gateway.find_series(ORG, "pair-504")] == [created.id]
    assert await gateway.mail_already_sent(ORG, mail.key) is True
    assert await gateway.send_mail_once(mail) is False


async def test_transient_faults_are_absorbed_by_the_retry_layer(gateway: Gateway, app: Any) -> None:
    app.sandbox.faults.update({"transient_error_rate": 0.5})
    # A fixed window: the sandbox's dice are a function of the request, so the same requests meet the
    # same faults on every run (half of all tries, some calls failing several times in a row).
    start = datetime(2027, 1, 4, tzinfo=UTC)
    window = Interval(start, start + timedelta(days=7))
    for _ in range(5):
        schedules = await gateway.free_busy([ORG, "lea.martin@contoso.com"], window)
        assert schedules[ORG].error is None
    assert date.today()  # the run finished without a wall-clock wait: sleeps are virtual
