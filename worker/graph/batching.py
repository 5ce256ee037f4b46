"""Writes coalesced into JSON ``$batch`` requests: several Graph requests in one HTTP request (NOTES §6).

Why: a mailbox takes four requests at a time, and each request's own round trip (both ends' HTTP stacks,
their event loops) is time the mailbox's slot is held but does no work. A first run's cancels (one per
blacked-out session) are two thirds of its requests. Graph forwards a batch's items to Outlook four at a
time, so a batch of 20 cancels to one mailbox keeps its four slots busy for five latencies back to back,
inside Graph, for one round trip; 20 separate requests would pay 20.

What it does not change: every item is still one attempt of its own operation under the gateway's retry
layer (``worker.graph.retry``). An item's status maps to the same error a direct request would raise (a
429 item carries its own ``Retry-After``; a 503/504 item may have been carried out, so the operation's
lookup runs before it is tried again), and a batch that fails as a whole fails each of its items with
that error. A retried item simply joins a later batch. Graph evaluates items one by one against its
limits, and so does the pacing (``Pacer.free_slots``): each item counts against its mailbox's budget, and
a batch holds as many of the mailbox's four slots as it has items (at most four, as Graph forwards).

Items are gathered per mailbox for one turn of the event loop (so operations started together, as a
fix-up wave's cancels are, travel together), then sent in batches of at most ``per_batch`` (Graph's 20).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import structlog

from worker.graph.pacing import PACED, Pacer

log = structlog.get_logger(__name__)

MAX_ITEMS = 20  # Graph's limit per batch
# "Microsoft Graph sends the Outlook service up to four individual requests from the batch at a time"
FORWARDED_AT_ONCE = 4


@dataclass(frozen=True, slots=True)
class Item:
    """One request of a batch: its URL is relative to the version (``/users/...``)."""

    method: str
    url: str
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)

    def json(self, item_id: str) -> dict[str, Any]:
        out: dict[str, Any] = {"id": item_id, "method": self.method, "url": self.url}
        headers = dict(self.headers)
        if self.body is not None:
            headers.setdefault("Content-Type", "application/json")
            out["body"] = self.body
        if headers:
            out["headers"] = headers
        return out


@dataclass(frozen=True, slots=True)
class Reply:
    """One item's answer: its status, its headers (names lower-cased) and its JSON body, if any."""

    status: int
    headers: dict[str, str]
    body: Any = None

    @property
    def error(self) -> tuple[str | None, str]:
        """Graph's error code and message from the body (``{"error": {"code", "message"}}``)."""
        err = self.body.get("error") if isinstance(self.body, dict) else None
        if isinstance(err, dict):
            return (str(err["code"]) if err.get("code") else None), str(err.get("message") or "")
        return None, f"HTTP {self.status}"


Send = Callable[[list[dict[str, Any]]], Awaitable[list[dict[str, Any]]]]


@dataclass(eq=False, slots=True)
class _Entry:
    item: Item
    future: asyncio.Future[Reply]
    sent: bool = False  # once true, the item may have reached Graph whatever happens to its caller


class Batcher:
    """Gathers items per mailbox and sends them with ``send`` (the items' JSON in, Graph's ``responses``
    out). Bound to the event loop it was made on, like the futures it hands out."""

    def __init__(self, send: Send, *, pacer: Pacer, per_batch: int = MAX_ITEMS) -> None:
        if not 1 <= per_batch <= MAX_ITEMS:
            raise ValueError(f"a batch holds 1 to {MAX_ITEMS} items")
        self._send = send
        self._pacer = pacer
        self._per_batch = per_batch
        self._pending: dict[str, list[_Entry]] = defaultdict(list)
        self._draining: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # batches sent, and items in them (for the figures)
        self.items = 0

    async def submit(self, mailbox: str, item: Item) -> Reply:
        """Send ``item`` in the mailbox's next batch; its answer, or the batch's failure, raised."""
        entry = _Entry(item, asyncio.get_running_loop().create_future())
        key = mailbox.lower()
        self._pending[key].append(entry)
        if key not in self._draining:
            self._draining.add(key)
            self._spawn(self._drain(key))
        try:
            return await asyncio.shield(entry.future)
        except asyncio.CancelledError:
            if not entry.sent:  # it never will be: out of the queue, or skipped by the batch that took it
                with contextlib.suppress(ValueError):
                    self._pending[key].remove(entry)
                entry.future.cancel()
            else:  # its answer arrives with nobody to read it
                entry.future.add_done_callback(_consume)
            raise

    async def _drain(self, key: str) -> None:
        try:
            await asyncio.sleep(0)  # one turn of the loop: operations started together go together
            while self._pending.get(key):
                filled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._spawn(self._batch_in_slots(key, filled))
                await filled  # that batch has its slots and its items: the rest wait for the next
        finally:
            self._draining.discard(key)

    async def _batch_in_slots(self, key: str, filled: asyncio.Future[None]) -> None:
        """The mailbox's next batch, filled once its slots are held, and widened to the slots freed while
        it waited if items arrived meanwhile. With fewer slots than Graph runs at once, one item per
        slot, however many arrived; otherwise whole rounds of four (Graph
        runs a batch's items four at a time, so a batch of six would leave two slots idle in its second
        round), up to ``per_batch``. Items that arrive while it waits join it, so a busy mailbox's
        batches fill up by themselves."""
        entries: list[_Entry] = []
        try:
            pending = self._pending[key]
            async with self._pacer.free_slots(key, len(pending)) as held:
                width = await held.widen(len(pending))  # items that came while it waited: slots freed since
                if width < FORWARDED_AT_ONCE:
                    room = width
                else:
                    room = min(self._per_batch, max(FORWARDED_AT_ONCE, len(pending) // 4 * 4))
                entries = [e for e in pending[:room] if not e.future.done()]
                del pending[:room]
                filled.set_result(None)
                if entries:
                    await held.spend(len(entries))  # may wait for the mailbox's request budget
                    token = PACED.set(True)  # these slots are the batch's: the middleware must not pace it
                    try:
                        await self._one_batch(entries)
                    finally:
                        PACED.reset(token)
        except BaseException as exc:
            _fail_unsent(entries, exc)
            if not isinstance(exc, Exception):
                raise
            log.error("graph.batch_failed", error=f"{type(exc).__name__}: {exc}")
        finally:
            if not filled.done():
                filled.set_result(None)

    async def _one_batch(self, entries: list[_Entry]) -> None:
        entries = [e for e in entries if not e.future.done()]  # callers that gave up are not sent
        if not entries:
            return
        for entry in entries:
            entry.sent = True
        self.batches += 1
        self.items += len(entries)
        try:
            responses = await self._send([e.item.json(str(i)) for i, e in enumerate(entries, 1)])
        except BaseException as exc:
            _fail_unsent(entries, exc)
            if not isinstance(exc, Exception):
                raise
            return
        try:
            by_id = {str(r.get("id")): r for r in responses if isinstance(r, dict)}
            for i, entry in enumerate(entries, 1):
                if not entry.future.done():
                    entry.future.set_result(_reply(by_id.get(str(i))))
        finally:  # whatever went wrong reading the answers, no caller is left waiting
            for entry in entries:
                if not entry.future.done():
                    entry.future.set_result(_malformed("the batch's answer could not be read"))

    def _spawn(self, job: Awaitable[None]) -> None:
        task = asyncio.ensure_future(job)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        """Stop batches still in flight (their callers are told they were cancelled)."""
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for entries in self._pending.values():
            for entry in entries:
                entry.future.cancel()
        self._pending.clear()


def _reply(answer: Any) -> Reply:
    """One item's answer as Graph sent it; anything unreadable is a 502 (maybe carried out: the
    operation's lookup runs before it is sent again)."""
    if not isinstance(answer, dict):
        return _malformed("no answer in the batch")
    status, headers = answer.get("status"), answer.get("headers") or {}
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        return _malformed(f"an item's status is {status!r}")
    if not isinstance(headers, dict):
        return _malformed("an item's headers are not an object")
    return Reply(status, {str(k).lower(): str(v) for k, v in headers.items()}, answer.get("body"))


def _malformed(message: str) -> Reply:
    return Reply(502, {}, {"error": {"code": "BatchItemMalformed", "message": message}})


def _fail_unsent(entries: list[_Entry], exc: BaseException) -> None:
    """Tell the callers of ``entries`` still waiting: cancelled, or the batch's error (each caller's
    retry layer reads it as it would a direct request's)."""
    for entry in entries:
        if not entry.future.done():
            if isinstance(exc, asyncio.CancelledError):
                entry.future.cancel()
            else:
                entry.future.set_exception(exc)


def _consume(future: asyncio.Future[Reply]) -> None:
    if not future.cancelled():
        future.exception()  # read, so asyncio does not report it as never retrieved
