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
limits, and so does the pacing (``Pacer.slots``): each item counts against its mailbox's budget, and a
batch holds as many of the mailbox's four slots as it has items there (at most four, as Graph forwards).

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


class Batcher:
    """Gathers items per mailbox and sends them with ``send`` (the items' JSON in, Graph's ``responses``
    out). Bound to the event loop it was made on, like the futures it hands out."""

    def __init__(self, send: Send, *, pacer: Pacer | None = None, per_batch: int = MAX_ITEMS) -> None:
        if not 1 <= per_batch <= MAX_ITEMS:
            raise ValueError(f"a batch holds 1 to {MAX_ITEMS} items")
        self._send = send
        self._pacer = pacer
        self._per_batch = per_batch
        self._pending: dict[str, list[tuple[Item, asyncio.Future[Reply]]]] = defaultdict(list)
        self._draining: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0  # batches sent, and items in them (for the figures)
        self.items = 0

    async def submit(self, mailbox: str, item: Item) -> Reply:
        """Send ``item`` in the mailbox's next batch; its answer, or the batch's failure, raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Reply] = loop.create_future()
        key = mailbox.lower()
        entry = (item, future)
        self._pending[key].append(entry)
        if key not in self._draining:
            self._draining.add(key)
            self._spawn(self._drain(key))
        try:
            return await asyncio.shield(future)
        except asyncio.CancelledError:
            # Not sent yet: it never will be. Already sent: its answer arrives with nobody to read it.
            with contextlib.suppress(ValueError):
                self._pending[key].remove(entry)
            future.add_done_callback(_consume)
            raise

    async def _drain(self, key: str) -> None:
        try:
            await asyncio.sleep(0)  # one turn of the loop: operations started together go together
            if self._pacer is None:
                pending = self._pending.pop(key, [])
                for start in range(0, len(pending), self._per_batch):
                    self._spawn(self._one_batch(pending[start : start + self._per_batch]))
                return
            while self._pending.get(key):
                filled: asyncio.Future[None] = asyncio.get_running_loop().create_future()
                self._spawn(self._batch_in_slots(key, filled))
                await filled  # that batch has its slots and its items: the rest wait for the next
        finally:
            self._draining.discard(key)

    async def _batch_in_slots(self, key: str, filled: asyncio.Future[None]) -> None:
        """The mailbox's next batch, filled once its slots are held. With fewer items than slots, one
        item per slot; otherwise whole rounds of four (Graph runs a batch's items four at a time, so a
        batch of six would leave two slots idle in its second round), up to ``per_batch``. Items that
        arrive while it waits join it, so a busy mailbox's batches fill up by themselves."""
        assert self._pacer is not None
        try:
            pending = self._pending[key]
            async with self._pacer.free_slots(key, len(pending)) as held:
                width, four = held.width, self._pacer.limits.concurrency
                # With fewer slots than Graph runs at once, no more items than slots, however many came.
                room = width if width < four else min(self._per_batch, max(four, len(pending) // four * four))
                entries = [e for e in pending[:room] if not e[1].done()]
                del pending[:room]
                filled.set_result(None)
                if entries:
                    await held.spend(len(entries))
                    token = PACED.set(True)  # these slots are the batch's: the middleware must not pace it
                    try:
                        await self._one_batch(entries)
                    finally:
                        PACED.reset(token)
        finally:
            if not filled.done():
                filled.set_result(None)

    async def _one_batch(self, entries: list[tuple[Item, asyncio.Future[Reply]]]) -> None:
        entries = [(item, future) for item, future in entries if not future.done()]
        if not entries:
            return
        self.batches += 1
        self.items += len(entries)
        try:
            responses = await self._send([item.json(str(i)) for i, (item, _) in enumerate(entries, 1)])
        except BaseException as exc:
            for _, future in entries:
                if not future.done():
                    if isinstance(exc, asyncio.CancelledError):
                        future.cancel()
                    else:
                        future.set_exception(exc)
            if not isinstance(exc, Exception):
                raise
            return
        by_id = {str(r.get("id")): r for r in responses if isinstance(r, dict)}
        for i, (_, future) in enumerate(entries, 1):
            if future.done():
                continue
            answer = by_id.get(str(i))
            if answer is None:
                missing = {"error": {"code": "BatchItemMissing", "message": "no answer in the batch"}}
                future.set_result(Reply(502, {}, missing))
                continue
            headers = {str(k).lower(): str(v) for k, v in (answer.get("headers") or {}).items()}
            future.set_result(Reply(int(answer.get("status") or 0), headers, answer.get("body")))

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
            for _, future in entries:
                future.cancel()
        self._pending.clear()


def _consume(future: asyncio.Future[Reply]) -> None:
    if not future.cancelled():
        future.exception()  # read, so asyncio does not report it as never retrieved
