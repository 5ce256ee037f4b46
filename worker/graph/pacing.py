"""Pacing: stay under Microsoft's Outlook limits instead of bouncing off them.

Graph limits each (app, mailbox) pair to four concurrent requests and 10,000 requests per ten minutes
(NOTES §6), and Exchange lets a mailbox send about 30 messages a minute (§5). A 429 costs a round trip and
counts against the budget too, so the worker paces itself:

- :meth:`Pacer.slot` holds every HTTP request (retries included, it runs as a middleware) to at most
  ``concurrency`` in flight per mailbox, and to the mailbox's request budget, waiting when it is spent;
- :meth:`Pacer.free_slots` does the same for a ``$batch`` of one mailbox's items (``batching``): the
  slots first, as many as it has items, up to ``concurrency`` (Graph forwards at most four items at a
  time), then a batch filled to fit them, whose items count one by one against the mailbox's budget
  (Graph evaluates batch items individually);
- :meth:`Pacer.send_budget` is a per-sender bucket that answers at once (``try_acquire``): a feedback email
  that finds no budget is left for the next run rather than holding the run up;
- :meth:`Pacer.least_loaded` spreads free/busy reads: getSchedule may be called as any mailbox of the
  programme, so the chunk's least-used mailbox is the caller, not always the organiser.

Clock and sleep are injected: tests run a virtual clock and never wait.
"""

from __future__ import annotations

import asyncio
import contextvars
import time
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import unquote

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

# The mailbox of a request is the segment after /users/ (or "me"); anything else (e.g. $batch) is "".
_TENANT_WIDE = ""

# Set while a request is sent in slots already held for it (a batch filled to fit: ``free_slots``).
PACED: contextvars.ContextVar[bool] = contextvars.ContextVar("crossgen_paced", default=False)


@dataclass(frozen=True, slots=True)
class PacingLimits:
    concurrency: int = 4
    requests: int = 10_000
    request_period: float = 600.0
    messages: int = 30
    message_period: float = 60.0


class TokenBucket:
    """``capacity`` tokens refilled evenly over ``period`` seconds: a burst of ``capacity``, then a steady
    rate, which over any window of ``period`` never exceeds about twice the capacity and on average
    exactly it."""

    def __init__(self, capacity: int, period: float, *, clock: Clock, sleep: Sleep) -> None:
        if capacity < 1 or period <= 0:
            raise ValueError("a budget needs a positive capacity and period")
        self.capacity = capacity
        self._rate = capacity / period
        self._tokens = float(capacity)
        self._clock = clock
        self._sleep = sleep
        self._stamp = clock()
        self._lock = asyncio.Lock()

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    @property
    def available(self) -> float:
        self._refill()
        return self._tokens

    def seconds_until_available(self) -> float:
        self._refill()
        return max(0.0, (1.0 - self._tokens) / self._rate)

    def try_acquire(self) -> bool:
        """Take a token if there is one; never waits."""
        self._refill()
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False

    async def acquire(self) -> float:
        """Take a token, sleeping until one refills. Returns the seconds waited (for the figures)."""
        waited = 0.0
        async with self._lock:
            while not self.try_acquire():
                delay = self.seconds_until_available()
                waited += delay
                await self._sleep(delay)
        return waited


class Slots:
    """Slots of one mailbox held for a batch (``Pacer.free_slots``): ``width`` of them, counted in flight
    and held from when each was taken."""

    def __init__(self, pacer: Pacer, mailbox: str, semaphore: asyncio.Semaphore) -> None:
        self._pacer, self.mailbox, self._semaphore = pacer, mailbox, semaphore
        self.width = 0
        self._since: list[float] = []

    def _hold(self, taken: int) -> None:
        pacer, mailbox = self._pacer, self.mailbox
        self.width += taken
        self._since.extend([pacer._clock()] * taken)
        pacer._in_flight[mailbox] += taken
        pacer.max_in_flight[mailbox] = max(pacer.max_in_flight[mailbox], pacer._in_flight[mailbox])

    def _release(self) -> None:
        pacer, mailbox = self._pacer, self.mailbox
        now = pacer._clock()
        pacer._in_flight[mailbox] -= self.width
        pacer.held[mailbox] += sum(now - since for since in self._since)
        for _ in range(self.width):
            self._semaphore.release()
        self.width, self._since = 0, []

    async def widen(self, up_to: int) -> int:
        """Also take the mailbox's slots that are free this instant, up to ``up_to`` in all (never more than
        its concurrency, never one that another request is already waiting for); the new width. Never
        waits: a batch that asked for one slot while one item was pending, and holds it by the time more
        have arrived, takes the slots freed meanwhile instead of leaving them idle."""
        up_to = min(up_to, self._pacer.limits.concurrency)
        taken = 0
        while self.width + taken < up_to and not self._semaphore.locked():
            await self._semaphore.acquire()  # free and nobody waiting: returns at once
            taken += 1
        self._hold(taken)
        return self.width

    async def spend(self, requests: int) -> None:
        """Count ``requests`` items against the mailbox's budget (waiting for it) and its figures."""
        pacer, mailbox = self._pacer, self.mailbox
        for _ in range(requests):
            pacer.waited[mailbox] += await pacer._budget(mailbox).acquire()
        pacer.requests_made[mailbox] += requests


class Pacer:
    """Per-mailbox concurrency, request budget, sending budget and request counts."""

    def __init__(
        self,
        limits: PacingLimits | None = None,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.limits = limits or PacingLimits()
        self._clock = clock
        self._sleep = sleep
        self._semaphores: dict[str, asyncio.Semaphore] = {}
        self._gathering: dict[str, asyncio.Lock] = {}  # per mailbox, while a batch gathers slots
        self._budgets: dict[str, TokenBucket] = {}
        self._send_budgets: dict[str, TokenBucket] = {}
        self._in_flight: dict[str, int] = defaultdict(int)
        self.requests_made: dict[str, int] = defaultdict(int)
        self.waited: dict[str, float] = defaultdict(float)
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self.held: dict[str, float] = defaultdict(float)  # seconds a mailbox's slots were held, in all

    @staticmethod
    def mailbox_of(path: str) -> str:
        """``/v1.0/users/Alice%40contoso.com/events`` -> ``alice@contoso.com``."""
        segments = [s for s in path.split("/") if s]
        for i, segment in enumerate(segments[:-1]):
            if segment.lower() == "users":
                return unquote(segments[i + 1]).strip("'").lower()
        return "me" if "me" in segments else _TENANT_WIDE

    def _budget(self, mailbox: str) -> TokenBucket:
        if mailbox not in self._budgets:
            self._budgets[mailbox] = TokenBucket(
                self.limits.requests, self.limits.request_period, clock=self._clock, sleep=self._sleep
            )
        return self._budgets[mailbox]

    @asynccontextmanager
    async def slot(self, mailbox: str) -> AsyncIterator[None]:
        """One HTTP request's turn for ``mailbox``: waits for a free slot, then for budget."""
        mailbox = mailbox.lower()
        semaphore = self._semaphores.setdefault(mailbox, asyncio.Semaphore(self.limits.concurrency))
        async with semaphore:
            self.waited[mailbox] += await self._budget(mailbox).acquire()
            self._in_flight[mailbox] += 1
            self.requests_made[mailbox] += 1
            self.max_in_flight[mailbox] = max(self.max_in_flight[mailbox], self._in_flight[mailbox])
            taken = self._clock()
            try:
                yield
            finally:
                self._in_flight[mailbox] -= 1
                self.held[mailbox] += self._clock() - taken

    @asynccontextmanager
    async def free_slots(self, mailbox: str, up_to: int) -> AsyncIterator[Slots]:
        """``min(up_to, concurrency)`` of the mailbox's slots, for a batch still to be filled (the holder
        fills it to fit ``Slots.width`` and spends its items' budget with ``Slots.spend``). A batch with
        work for all four waits for all four rather than go out in whatever slot frees first, because
        batches that each take one or two slots would keep the mailbox's slots apart for good, every
        item then paying its own round trip."""
        mailbox = mailbox.lower()
        width = max(1, min(up_to, self.limits.concurrency))
        async with self._gathered(mailbox, width) as held:
            yield held

    @asynccontextmanager
    async def _gathered(self, mailbox: str, width: int) -> AsyncIterator[Slots]:
        """``width`` of the mailbox's slots, gathered under the mailbox's lock so two batches never each
        hold part of what both need (single requests never take it: they hold one slot and never wait
        for another), and counted in flight and held while the caller has them."""
        semaphore = self._semaphores.setdefault(mailbox, asyncio.Semaphore(self.limits.concurrency))
        held = Slots(self, mailbox, semaphore)
        taken = 0
        try:
            async with self._gathering.setdefault(mailbox, asyncio.Lock()):
                while taken < width:
                    await semaphore.acquire()
                    taken += 1
            held._hold(taken)
            taken = 0
            yield held
        finally:
            for _ in range(taken):  # cancelled while gathering: what it had is given back
                semaphore.release()
            held._release()

    def send_budget(self, sender: str) -> TokenBucket:
        sender = sender.lower()
        if sender not in self._send_budgets:
            self._send_budgets[sender] = TokenBucket(
                self.limits.messages, self.limits.message_period, clock=self._clock, sleep=self._sleep
            )
        return self._send_budgets[sender]

    def load(self, mailbox: str) -> float:
        """How busy a mailbox is: requests in flight, then the share of its budget already used."""
        mailbox = mailbox.lower()
        used = 0.0
        if mailbox in self._budgets:
            used = 1.0 - self._budgets[mailbox].available / self.limits.requests
        return self._in_flight[mailbox] + used

    def least_loaded(self, candidates: Iterable[str]) -> list[str]:
        """Candidates ordered from least to most loaded (ties keep their given order)."""
        unique = list(dict.fromkeys(c.lower() for c in candidates))
        return sorted(unique, key=self.load)
