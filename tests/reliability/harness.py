"""The reliability suite's world: the real worker against the in-process sandbox, on simulated time.

Everything here observes from the outside, the way an auditor of the tenant would: the organiser's
calendar (our series, read through the gateway with no fault injection), the sending mailbox's Sent Items,
people's working hours as the sandbox stores them, and every HTTP request the worker sent (a recording
transport between the gateway and the sandbox, stamped with the simulated clock).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import hashlib
import itertools
import json
import shutil
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, TypeVar
from unittest import mock
from urllib.parse import urlsplit

import httpx

from worker.core.types import Interval, OccurrenceInfo, SeriesInfo
from worker.graph import batching
from worker.inprocess import BASE, AsgiSyncTransport, Participant, SimulatedTime, connect, sandbox_env
from worker.reconcile.run import RunResult, reconcile
from worker.sandbox.app import create_app
from worker.sandbox.faults import FaultConfig

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config"
START = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # the Monday before the example programme starts
ORGANIZER = "mentoring@contoso.com"
RETRYABLE = {429, 503, 504}
T = TypeVar("T")
_DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


@dataclass
class Sent:
    """One HTTP request the worker sent, as the wire saw it."""

    at: datetime
    method: str
    url: str
    body_hash: str
    status: int
    retry_after: float | None
    mailbox: str
    call: int | None = None  # the gateway operation's call (see ``traced_calls``) this request belongs to
    lease: bool = False  # the run's lease marker (an event too), not one of the programme's writes

    @property
    def key(self) -> tuple[str, str, str]:
        return self.method, self.url, self.body_hash


CALL: contextvars.ContextVar[int | None] = contextvars.ContextVar("reliability_call", default=None)
_call_ids = itertools.count(1)


@contextlib.contextmanager
def traced_calls() -> Iterator[None]:
    """Tag every HTTP request with the gateway call (one ``call_with_retries``) that sent it, so retries
    are told apart from two operations that happen to send the same request."""
    import worker.graph.ops as ops

    original = ops.call_with_retries

    async def traced(attempt: Callable[[], Awaitable[T]], **kwargs: Any) -> T:
        call = next(_call_ids)

        async def tagged() -> T:
            token = CALL.set(call)
            try:
                return await attempt()
            finally:
                CALL.reset(token)

        return await original(tagged, **kwargs)

    submit = batching.Batcher.submit

    async def submit_traced(self: batching.Batcher, mailbox: str, item: batching.Item) -> batching.Reply:
        # A batch item is sent by the batcher's task, not the call's: remember whose it is.
        _ITEM_CALLS[_item_key(item.method, item.url, item.body)].append(CALL.get())
        return await submit(self, mailbox, item)

    with mock.patch.object(ops, "call_with_retries", traced), \
            mock.patch.object(batching.Batcher, "submit", submit_traced):
        yield
    _ITEM_CALLS.clear()


# The traced call of each batch item waiting to be sent, by what the item says (FIFO per key).
_ITEM_CALLS: defaultdict[tuple[str, str, str], list[int | None]] = defaultdict(list)


def _item_key(method: str, url: str, body: Any) -> tuple[str, str, str]:
    return method.upper(), url, hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:16]


class RecordingTransport(httpx.AsyncBaseTransport):
    """Sits between the gateway's httpx client and the sandbox: records each request and its answer,
    and how many were in flight at once per mailbox (the worker's side of the 4-in-flight rule)."""

    def __init__(self, app: Any, clock: Callable[[], datetime]) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._clock = clock
        self.sent: list[Sent] = []
        self.in_flight: Counter[str] = Counter()
        self.max_in_flight: Counter[str] = Counter()
        self.batches = 0  # $batch requests (each of their items is in ``sent``)
        # Rewrites a JSON answer before the worker sees it: Graph sending something it should not.
        self.tamper: Callable[[httpx.Request, Any], Any] | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        items = _batch_items(request, body)
        # A batch's items count against their own mailboxes, as Graph evaluates them (at most 4 at once).
        width = Counter({_mailbox(request.url.path): 1}) if items is None else Counter(
            _mailbox(urlsplit(i["url"]).path) for i in items
        )
        width = Counter({m: min(n, 4) for m, n in width.items()})
        at = self._clock()
        self.in_flight.update(width)
        for mailbox in width:
            self.max_in_flight[mailbox] = max(self.max_in_flight[mailbox], self.in_flight[mailbox])
        try:
            response = await self._inner.handle_async_request(request)
        finally:
            self.in_flight.subtract(width)
        if items is not None:
            self.batches += 1
            self._record_items(at, request, items, json.loads(await response.aread()))
            return response
        mailbox = _mailbox(request.url.path)
        is_json = response.headers.get("content-type", "").startswith("application/json")
        if self.tamper is not None and is_json:
            data = json.loads(await response.aread())
            content = json.dumps(self.tamper(request, data)).encode()
            headers = [(k, v) for k, v in response.headers.items() if k.lower() != "content-length"]
            response = httpx.Response(response.status_code, headers=headers, content=content, request=request)
        header = response.headers.get("Retry-After")
        self.sent.append(Sent(at, request.method, str(request.url), hashlib.sha256(body).hexdigest()[:16],
                              response.status_code, float(header) if header else None, mailbox, CALL.get(),
                              b"Name lease" in body))
        return response

    def _record_items(self, at: datetime, request: httpx.Request, items: list[Any], answer: Any) -> None:
        """A ``$batch``: one ``Sent`` per item, with the item's own status and Retry-After, and the traced
        call that submitted it (``traced_calls``)."""
        by_id = {r["id"]: r for r in answer.get("responses", [])} if isinstance(answer, dict) else {}
        version = str(request.url).rsplit("/$batch", 1)[0]
        for item in items:
            reply = by_id.get(item["id"], {"status": 0, "headers": {}})
            headers = {k.lower(): v for k, v in (reply.get("headers") or {}).items()}
            key = _item_key(item["method"], item["url"], item.get("body"))
            calls = _ITEM_CALLS.get(key)
            call = calls.pop(0) if calls else None
            retry_after = headers.get("retry-after")
            self.sent.append(Sent(at, item["method"].upper(), version + item["url"], key[2],
                                  int(reply["status"]), float(retry_after) if retry_after else None,
                                  _mailbox(urlsplit(item["url"]).path), call, False))


def _batch_items(request: httpx.Request, body: bytes) -> list[Any] | None:
    if request.method != "POST" or not request.url.path.endswith("/$batch"):
        return None
    return list(json.loads(body)["requests"])


async def _yield_a_while(seconds: float) -> None:
    for _ in range(max(1, min(int(seconds * 100), 2000))):
        await asyncio.sleep(0)


def _mailbox(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    for i, part in enumerate(parts[:-1]):
        if part.lower() == "users":
            return parts[i + 1].lower()
    return ""


class World:
    """A programme (a copy of the example, or edited), a sandbox tenant with fault knobs, one simulated
    clock, and as many workers (gateways) as a test wants."""

    def __init__(self, tmp: Path, *, seed: int = 0, faults: FaultConfig | None = None,
                 pairs: str | None = None, overlap: bool = True) -> None:
        self.tmp = tmp
        self.config = tmp / "config"
        shutil.copytree(EXAMPLE, self.config, dirs_exist_ok=True)
        if pairs is not None:
            (self.config / "pairs.yaml").write_text(pairs, encoding="utf-8")
        self.state = tmp / "state"
        # The sandbox's latency "sleeps" by yielding to the event loop a few times: concurrent requests
        # really overlap inside the sandbox (its in-flight counter sees them), at no wall-clock cost.
        self.app = create_app(seed=seed, faults=faults, sleeper=_yield_a_while if overlap else None)
        self.time = SimulatedTime(self.app, START)
        self.transports: list[RecordingTransport] = []
        self.gateway = self.worker()
        self.auditor = connect(self.app, time=self.time)  # reads the truth; faults are off while it reads
        self.person = Participant(self.app)

    def worker(self, **kwargs: Any) -> Any:
        """A new gateway (a worker process's, wired as ``worker.inprocess.connect`` does) whose requests
        are recorded on their way to the sandbox."""
        from worker.graph.ops import Gateway

        transport = RecordingTransport(self.app, self.time)
        self.transports.append(transport)
        client = httpx.AsyncClient(transport=transport, base_url=BASE, timeout=httpx.Timeout(60.0))
        tokens = httpx.Client(transport=AsgiSyncTransport(self.app), base_url=BASE)
        return Gateway.from_env(sandbox_env(self.app), http_client=client, token_http_client=tokens,
                                now=self.time, clock=self.time.monotonic, sleep=self.sleep, **kwargs)

    async def sleep(self, seconds: float) -> None:
        """The worker's sleep: simulated time advances at once, and the event loop turns as many times
        as the sandbox's latency would for that long, so requests in flight elsewhere finish first
        (a real 2 s wait outlasts a 0.3 s request)."""
        await self.time.sleep(seconds)
        await _yield_a_while(seconds)

    @property
    def sent(self) -> list[Sent]:
        return sorted((s for t in self.transports for s in t.sent), key=lambda s: s.at)

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.config / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    def at(self, when: datetime) -> None:
        self.time.set(when)

    async def run(self, gateway: Any = None, *, state: Path | None = None) -> RunResult:
        return await reconcile(self.config, gateway=gateway or self.gateway, now=self.time.now,
                               state_path=state or self.state)

    async def converge(self, *, attempts: int = 6) -> list[RunResult]:
        """Rerun until a run writes nothing and fails nothing (as the CronJob would, run after run)."""
        results = []
        for _ in range(attempts):
            result = await self.run()
            results.append(result)
            figures = result.summary()
            if figures["writes"] == 0 and not result.pair_errors and not figures["deferred"]:
                return results
        raise AssertionError(f"no convergence in {attempts} runs: {[r.summary() for r in results]}")

    def quiet(self) -> _Quiet:
        """Faults off while the auditor reads (the audit must not be what fails)."""
        return _Quiet(self.app.faults)

    async def series(self) -> list[SeriesInfo]:
        with self.quiet():
            found = await self.auditor.list_series(ORGANIZER)
        return [s for s in found if "ended" not in s.properties]

    async def occurrences(self, series: SeriesInfo) -> list[OccurrenceInfo]:
        window = Interval(START - timedelta(days=30), START + timedelta(days=200))
        with self.quiet():
            return await self.auditor.occurrences(series.organizer, series.id, window)

    async def sent_items(self, address: str = ORGANIZER) -> list[dict[str, Any]]:
        with self.quiet():
            return await self.person.sent_items(address)

    async def working_hours(self, address: str) -> dict[str, Any] | None:
        user = self.app.tenant.find_user(address)
        return (user.settings or {}).get("workingHours") if user else None

    async def close(self) -> None:
        await self.person.aclose()
        await self.auditor.aclose()
        await self.gateway.aclose()


class _Quiet:
    def __init__(self, faults: FaultConfig) -> None:
        self._faults = faults
        self._saved: dict[str, Any] = {}

    def __enter__(self) -> None:
        self._saved = {"transient_error_rate": self._faults.transient_error_rate,
                       "commit_then_fail_rate": self._faults.commit_then_fail_rate}
        self._faults.transient_error_rate = 0.0
        self._faults.commit_then_fail_rate = 0.0

    def __exit__(self, *_exc: object) -> None:
        for key, value in self._saved.items():
            setattr(self._faults, key, value)


def play(tmp: Path, scenario: Callable[[World], Awaitable[T]], **kwargs: Any) -> T:
    """Run ``scenario`` in a fresh world, closing it afterwards."""

    async def main() -> T:
        world = World(tmp, **kwargs)
        try:
            return await scenario(world)
        finally:
            await world.close()

    return asyncio.run(main())


# --- the invariants ------------------------------------------------------------------------------


@dataclass
class Audit:
    """What the tenant shows, judged against the promises: every list empty means all kept."""

    duplicate_series: dict[str, int] = field(default_factory=dict)
    duplicate_emails: dict[str, int] = field(default_factory=dict)
    outside_hours: list[str] = field(default_factory=list)
    series: int = 0
    emails: int = 0
    sessions: int = 0

    @property
    def clean(self) -> bool:
        return not (self.duplicate_series or self.duplicate_emails or self.outside_hours)


def hours_rule(hours: dict[str, Any] | None) -> tuple[set[int], Any, Any, Any] | None:
    """Outlook's workingHours JSON as (weekdays, start, end, zone)."""
    from worker.graph.zones import resolve_zone

    if not hours:
        return None
    days = {_DAYS.index(d.lower()) for d in hours.get("daysOfWeek", [])}
    start = datetime.strptime(hours["startTime"][:8], "%H:%M:%S").time()
    end = datetime.strptime(hours["endTime"][:8], "%H:%M:%S").time()
    return days, start, end, resolve_zone(hours.get("timeZone", {}).get("name") or "UTC")


def within_hours(hours: dict[str, Any] | None, start: datetime, end: datetime) -> bool:
    rule = hours_rule(hours)
    if rule is None:
        return True
    days, first, last, zone = rule
    local_start, local_end = start.astimezone(zone), end.astimezone(zone)
    return (local_start.weekday() in days and local_start.date() == local_end.date()
            and first <= local_start.time() and local_end.time() <= last)


class TenantView(Protocol):
    """What an audit reads: our live series and their occurrences, the sender's Sent Items, and each
    person's working hours as Outlook stores them (the source, not the worker's reading of it)."""

    async def series(self) -> list[SeriesInfo]: ...
    async def occurrences(self, series: SeriesInfo) -> list[OccurrenceInfo]: ...
    async def sent_items(self, address: str = ORGANIZER) -> list[dict[str, Any]]: ...
    async def working_hours(self, address: str) -> dict[str, Any] | None: ...


async def audit(view: TenantView, *, programme: str | None = None, by_subject: bool = True) -> Audit:
    """One series per pair, one email per participant per session, no session outside both people's
    working hours. ``programme`` limits the series audited to one programme's (its key); emails
    are audited across the whole sending mailbox: by Message-ID, and with ``by_subject`` (one programme
    only) also one feedback email per recipient and subject."""
    found = Audit()
    series = [s for s in await view.series() if programme in (None, s.properties.get("programme"))]
    found.series = len(series)
    per_key = Counter(s.key for s in series)
    found.duplicate_series = {k: n for k, n in per_key.items() if n > 1}
    hours: dict[str, dict[str, Any] | None] = {}
    for s in series:
        people = [a.address for a in s.attendees]
        for person in people:
            if person not in hours:
                hours[person] = await view.working_hours(person)
        for occ in await view.occurrences(s):
            if occ.is_cancelled:
                continue
            found.sessions += 1
            for person in people:
                if not within_hours(hours[person], occ.start, occ.end):
                    found.outside_hours.append(f"{s.key} {occ.start.isoformat()} outside {person}'s hours")
    mails = await view.sent_items()
    found.emails = len(mails)
    per_message: Counter[str] = Counter()
    per_recipient: dict[tuple[str, str], int] = defaultdict(int)
    for mail in mails:
        per_message[mail.get("internetMessageId", "")] += 1
        if not by_subject or "feedback" not in mail.get("subject", "").lower():
            continue  # the lead's escalations repeat once a week by design; their Message-IDs differ
        for to in mail.get("toRecipients", []):
            per_recipient[(to["emailAddress"]["address"].lower(), mail.get("subject", ""))] += 1
    found.duplicate_emails = {k: n for k, n in per_message.items() if n > 1}
    twice = {f"{to} / {subject}": n for (to, subject), n in per_recipient.items() if n > 1}
    found.duplicate_emails.update(twice)
    return found


def retry_chains(sent: list[Sent]) -> list[list[Sent]]:
    """The requests of each traced gateway call, in order: the first try and its retries."""
    chains: dict[int, list[Sent]] = defaultdict(list)
    for request in sent:
        if request.call is not None:
            chains[request.call].append(request)
    return list(chains.values())


__all__ = [
    "BASE",
    "ORGANIZER",
    "START",
    "Audit",
    "RecordingTransport",
    "TenantView",
    "World",
    "audit",
    "play",
    "retry_chains",
    "within_hours",
]
