"""Limits and faults: what makes the sandbox hurt the way Exchange Online hurts.

Graph applies its Outlook limits per app *and mailbox* (NOTES.md §6): four concurrent requests,
10,000 requests per 10 minutes, a sending rate. On top of those we inject, from seeded dice, a share
of transient 429/503/504 with ``Retry-After``, added latency, "commit then fail" (the write happens,
the client sees 504: the case that makes retried POSTs dangerous) and per-mailbox 403s that emulate
RBAC-for-Applications scoping. Everything is configurable through ``FaultConfig`` and observable
through ``Counters``, so end-to-end tests can assert that the worker kept to the limits and honoured
``Retry-After``.

The dice that decide a fault are a hash of the seed, the request (method, URL, body) and how many
times that request has come, not draws from one stream: concurrent requests arrive in an order the
event loop picks, and a shared stream would hand each a different fate from run to run. So a seed
fixes which requests fail, whatever order they come in, and a retry rolls afresh.

The clock is the sandbox's injected clock; sleeping (latency) goes through an injectable sleeper so
tests never wait for real. Latency is a request's whole service time, the sandbox's own processing
included; a ``$batch``'s items run in four lanes (``Lane``), each item's latency counted from when the
one before it in its lane was due to end.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import random
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, TypeVar

from worker.sandbox.errors import SandboxError

Sleeper = Callable[[float], Awaitable[None]]
T = TypeVar("T")


@dataclass
class FaultConfig:
    """Every knob, with Graph's documented numbers as defaults. Mutable: tests toggle faults live."""

    mailbox_concurrency: int = 4
    mailbox_requests_per_window: int = 10_000
    mailbox_window_seconds: float = 600.0
    send_rate_per_minute: int = 30
    latency_seconds: tuple[float, float] = (0.0, 0.0)
    transient_error_rate: float = 0.0  # share of Graph calls answered 429/503/504 before doing anything
    transient_statuses: tuple[int, ...] = (429, 503, 504)
    retry_after_seconds: tuple[float, float] = (1.0, 3.0)
    integer_retry_after: bool = False  # kiota's RetryHandler cannot parse fractional values (NOTES.md §8)
    commit_then_fail_rate: float = 0.0  # share of writes that happen but answer 504
    denied_mailboxes: frozenset[str] = frozenset()  # lower-case addresses or user ids -> 403
    getschedule_max_days: int = 62  # current docs: "less than 62 days"; the 2021 docs said 42
    getschedule_max_schedules: int = 20
    token_lifetime_seconds: int = 3599
    page_size: int = 10

    def update(self, changes: dict[str, Any]) -> None:
        """Apply a JSON-ish dict of changes (from the control surface), refusing unknown knobs."""
        known = {f.name for f in fields(self)}
        for key, value in changes.items():
            if key not in known:
                raise FaultConfigError(f"unknown fault setting {key!r}")
            current = getattr(self, key)
            if isinstance(current, tuple):
                value = tuple(value)
            elif isinstance(current, frozenset):
                value = frozenset(str(v).lower() for v in value)
            elif isinstance(current, bool):
                value = bool(value)
            elif isinstance(current, int):
                value = int(value)
            elif isinstance(current, float):
                value = float(value)
            setattr(self, key, value)

    def as_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["denied_mailboxes"] = sorted(self.denied_mailboxes)
        return out


class FaultConfigError(SandboxError):
    pass


@dataclass
class Counters:
    """What tests read: per-mailbox requests, peak concurrency, throttles sent, request timestamps."""

    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    max_in_flight: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    throttled: int = 0  # 429s sent, any reason
    status_counts: dict[int, int] = field(default_factory=lambda: defaultdict(int))
    # (at, mailbox, method, path, status, Retry-After sent or None), in arrival order
    log: list[tuple[datetime, str, str, str, int, float | None]] = field(default_factory=list)
    throttled_at: list[tuple[datetime, str, float]] = field(
        default_factory=list
    )  # (at, mailbox, retry_after)
    mails_sent: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": dict(self.requests),
            "max_in_flight": dict(self.max_in_flight),
            "in_flight": {k: v for k, v in self.in_flight.items() if v},
            "throttled": self.throttled,
            "status_counts": {str(k): v for k, v in self.status_counts.items()},
            "mails_sent": self.mails_sent,
            "log": [
                {"at": at.isoformat(), "mailbox": mb, "method": m, "path": p, "status": s, "retry_after": ra}
                for at, mb, m, p, s, ra in self.log[-2000:]
            ],
            "retry_after_violations": self.retry_after_violations(),
            "throttled_at": [
                {"at": at.isoformat(), "mailbox": mb, "retry_after": ra} for at, mb, ra in self.throttled_at
            ],
        }

    def retry_after_violations(self) -> list[dict[str, Any]]:
        """Requests that came back to a mailbox sooner than the ``Retry-After`` its last 429 or 503/504 asked.

        Judged on the sandbox clock, so a client whose sleeps advance the same fake clock can be checked
        without waiting for real.
        """
        due: dict[str, datetime] = {}
        out = []
        for at, mailbox, method, path, _status, retry_after in self.log:
            if mailbox in due and at < due[mailbox]:
                early = (due[mailbox] - at).total_seconds()
                out.append(
                    {
                        "at": at.isoformat(),
                        "mailbox": mailbox,
                        "method": method,
                        "path": path,
                        "early_by": round(early, 3),
                    }
                )
            if retry_after is not None:
                due[mailbox] = at + timedelta(seconds=retry_after)
            elif mailbox in due and at >= due[mailbox]:
                del due[mailbox]
        return out


@dataclass
class Lane:
    """One of the places where a ``$batch``'s items run, one after another (Graph forwards four at a
    time). An item that waited for the lane starts when the one before was due to end (``due``), not
    when this single event loop got round to waking it: on Graph the lanes are separate servers, so the
    sandbox's own queueing must not pile up over a batch's rounds. With real sleep only."""

    start: float | None = None  # when the current item's turn began
    due: float | None = None  # when the last item's latency was due to end

    def begin(self, ready: float) -> None:
        """An item that has been waiting since ``ready`` takes the lane."""
        self.start = ready if self.due is None else max(ready, self.due)
        self.due = None

    def end(self, now: float) -> None:
        """The item is done; an item that failed before its latency frees the lane from ``now``."""
        if self.due is None:
            self.due = now


class Limits:
    """The per-mailbox gates and the seeded fault dice. One instance per sandbox."""

    def __init__(
        self,
        config: FaultConfig,
        *,
        seed: int,
        sleeper: Sleeper | None = None,
        monotonic: Callable[[], float] | None = None,
    ) -> None:
        self.config = config
        self.counters = Counters()
        self._seed = seed
        self._rng = random.Random(seed)  # noqa: S311 - seeded; draws only what needs no reproducibility per request
        self._seen: dict[bytes, int] = defaultdict(int)
        self._window: dict[str, deque[datetime]] = defaultdict(deque)
        self._sends: dict[str, deque[datetime]] = defaultdict(deque)
        self.sleeper: Sleeper = sleeper or asyncio.sleep
        # Latency is a request's whole service time, the sandbox's own processing included (as Graph's is):
        # with real sleep the answer leaves ``latency`` after arrival (on the event loop's clock); an
        # injected sleeper is virtual time, in which processing takes none (unless ``monotonic`` says).
        if monotonic is None and sleeper is None:
            monotonic = lambda: asyncio.get_running_loop().time()  # noqa: E731
        self._monotonic = monotonic

    def reset_counters(self) -> None:
        self.counters = Counters()

    def retry_after(self) -> str:
        low, high = self.config.retry_after_seconds
        value = self._rng.uniform(low, high)
        return format_retry_after(value, integer=self.config.integer_retry_after)

    def enter(self, mailbox: str) -> bool:
        """Count a request against ``mailbox``; False when the concurrency limit is already reached."""
        c = self.counters
        if c.in_flight[mailbox] >= self.config.mailbox_concurrency:
            return False
        c.in_flight[mailbox] += 1
        c.max_in_flight[mailbox] = max(c.max_in_flight[mailbox], c.in_flight[mailbox])
        return True

    def leave(self, mailbox: str) -> None:
        self.counters.in_flight[mailbox] -= 1

    def window_wait(self, mailbox: str, now: datetime) -> float | None:
        """Record a request in the mailbox's sliding window; seconds to wait if it is over the limit."""
        return _slide(
            self._window[mailbox],
            now,
            self.config.mailbox_window_seconds,
            self.config.mailbox_requests_per_window,
        )

    def send_wait(self, mailbox: str, now: datetime) -> float | None:
        """Record a message sent from ``mailbox``; seconds to wait if the sending rate is exceeded."""
        return _slide(self._sends[mailbox], now, 60.0, self.config.send_rate_per_minute)

    def arrival(self, method: str, path: str, query: dict[str, str], body: bytes) -> bytes:
        """The identity of this arrival of a request: the request and how many times it came before.

        Nothing is remembered while no dice are in play, so a long benchmark without faults keeps no table.
        """
        if self.config.transient_error_rate <= 0 and self.config.commit_then_fail_rate <= 0:
            return b""
        target = path + "?" + "&".join(f"{k}={v}" for k, v in sorted(query.items()))
        text = b"%s %s\n%s" % (method.encode(), target.encode(), body)
        request = hashlib.blake2b(text, digest_size=16).digest()
        nth = self._seen[request]
        self._seen[request] = nth + 1
        return request + nth.to_bytes(4, "big")

    def _die(self, what: bytes, arrival: bytes) -> float:
        """A uniform number in [0, 1) fixed by the seed, the question and the arrival."""
        digest = hashlib.blake2b(what + arrival, digest_size=8, key=str(self._seed).encode()).digest()
        return int.from_bytes(digest, "big") / 2**64

    def transient_fault(self, arrival: bytes) -> int | None:
        if self.config.transient_error_rate <= 0 or not self.config.transient_statuses:
            return None
        if self._die(b"transient", arrival) < self.config.transient_error_rate:
            statuses = self.config.transient_statuses
            return statuses[int(self._die(b"status", arrival) * len(statuses))]
        return None

    def commit_then_fail(self, arrival: bytes) -> bool:
        rate = self.config.commit_then_fail_rate
        return rate > 0 and self._die(b"commit-then-fail", arrival) < rate

    def arrived(self, lane: Lane | None = None) -> float:
        """A mark to pass to :meth:`latency` once the request has been processed: now, or for a batch
        item, when its turn in its lane began (``Lane.start``)."""
        if self._monotonic is None:
            return 0.0
        if lane is not None and lane.start is not None:
            return lane.start
        return self._monotonic()

    async def around(
        self, arrived: float, handler: Callable[[], Awaitable[T]], *, lane: Lane | None = None
    ) -> T:
        """Run ``handler`` within the request's latency. In real time the handler runs first and the rest
        of the latency is waited out after it, so the sandbox's CPU is inside the latency. In virtual
        time (an injected sleeper) processing takes no time anyway, and the write is done at the end of
        the latency: a write is then invisible to other requests for as long as it is in flight, the
        harder case for the worker's races (two runs' lease markers, two creates of one series)."""
        if self._monotonic is None:
            await self.latency(arrived)
            return await handler()
        try:
            return await handler()
        finally:
            await self.latency(arrived, lane=lane)

    async def latency(self, arrived: float, *, lane: Lane | None = None) -> None:
        """Wait out the rest of the request's latency: drawn from ``latency_seconds``, less the time
        since ``arrived`` (with real sleep), so the sandbox's own CPU is inside the latency, not added to
        it. A benchmark's throttle-bound minimum assumes each request takes exactly the latency. A batch
        item's ``lane`` learns when its latency was due to end (``Lane.due``)."""
        low, high = self.config.latency_seconds
        if high > 0:
            wait = self._rng.uniform(low, high)
            if self._monotonic is not None:
                if lane is not None:
                    lane.due = arrived + wait
                wait -= self._monotonic() - arrived
            await self.sleeper(max(wait, 0.0))
        else:
            # Even with no added latency a request yields once while it is in flight, so requests a
            # client sends together overlap here as they would on Graph, and the concurrency limit and
            # the max-in-flight counter see them. (sleep(0) never waits.)
            await asyncio.sleep(0)

    def denied(self, *keys: str) -> bool:
        denied = self.config.denied_mailboxes
        return bool(denied) and any(k.lower() in denied for k in keys if k)


def _slide(times: deque[datetime], now: datetime, window: float, limit: int) -> float | None:
    while times and (now - times[0]).total_seconds() >= window:
        times.popleft()
    if len(times) >= limit:
        return max(0.001, window - (now - times[0]).total_seconds())
    times.append(now)
    return None


def format_retry_after(seconds: float, *, integer: bool = False) -> str:
    """Graph sends both ``10`` and ``2.128`` (NOTES.md §6); we can do either."""
    if integer:
        return str(max(1, math.ceil(seconds)))
    text = f"{seconds:.3f}".rstrip("0").rstrip(".")
    return text or "0"
