"""One writer per programme mailbox at a time, with nothing but Graph to coordinate through.

The CronJob never overlaps itself (``concurrencyPolicy: Forbid``), but two workers can still meet: a
manual run during a scheduled one, a second deployment by mistake. Series are safe anyway (looked up by
key, created with a deterministic transactionId); emails are not, because "look in Sent Items, then
send" is two steps. So a run that writes first takes a lease on each of its organiser mailboxes:

1. it creates a lease marker (a short, free, private event tagged with the programme and the run);
2. it lists the live markers; the earliest created one holds the lease.

Exchange orders the creates, and each run lists only after its own create has landed, so every run
that sees a rival agrees on who came first: the later run gives its marker back and ends quietly,
the holder removes its marker when it is done. A marker left by a killed run expires after ``ttl``
(keep it at least the CronJob's ``activeDeadlineSeconds``), and the next holder clears it.
``CROSSGEN_LEASE_MINUTES=0`` turns leasing off, for a deployment that guarantees a single runner.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Awaitable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import structlog

from worker.graph.errors import AuthError, Forbidden, GraphError, NotFound

if TYPE_CHECKING:
    from worker.graph.gateway import Gateway

log = structlog.get_logger(__name__)

DEFAULT_TTL = timedelta(minutes=int(os.environ.get("CROSSGEN_LEASE_MINUTES", "10")))


@dataclass
class Lease:
    holder: str = field(default_factory=lambda: str(uuid.uuid4()))
    markers: list[tuple[str, str]] = field(default_factory=list)  # (mailbox, event id) we created
    rival: str | None = None  # the mailbox where another run holds the lease

    @property
    def held(self) -> bool:
        return self.rival is None

    def exclusive(self, mailboxes: tuple[str, ...]) -> bool:
        """Whether this run really holds the lease on every one of ``mailboxes`` (leasing can be off,
        or a mailbox unleasable): only then may it skip re-checking before a create."""
        return self.held and {m for m, marker in self.markers if marker} >= set(mailboxes)


async def acquire(
    gateway: Gateway, *, name: str, mailboxes: tuple[str, ...], now: datetime, ttl: timedelta = DEFAULT_TTL
) -> Lease:
    """Take the lease on every mailbox: in a fixed order up to the first one taken, then the rest at once.

    The first mailbox taken is the gate: a run that holds it came before every live rival there, and a
    later rival gives up at that mailbox before it takes any other, so the rest can be taken together
    (one round trip for all of them instead of one each) and two runs still never each hold half."""
    lease = Lease()
    if ttl <= timedelta(0):
        return lease  # leasing off: the deployment guarantees one runner
    order = sorted(mailboxes)
    rest: list[asyncio.Future[str]] = []
    try:
        gated = 0
        while gated < len(order):  # the gate: one at a time, as long as a mailbox cannot be leased at all
            taken = await _take(gateway, lease, order[gated], name=name, now=now, ttl=ttl)
            gated += 1
            if taken is _RIVAL:
                return await _give_up(gateway, lease, order[gated - 1])
            if taken is _HELD:
                break
        rest = [
            asyncio.ensure_future(_take(gateway, lease, m, name=name, now=now, ttl=ttl))
            for m in order[gated:]
        ]
        outcomes = await asyncio.gather(*rest)
        for mailbox, taken in zip(order[gated:], outcomes, strict=True):
            if taken is _RIVAL:
                return await _give_up(gateway, lease, mailbox)
        return lease
    except BaseException:
        # AuthError, a bug, or the run cancelled while taking it: no marker may outlive this call (it would
        # keep the next runs out until it expires).
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)
        await asyncio.shield(release(gateway, lease))
        raise


_HELD, _RIVAL, _UNAVAILABLE = "held", "rival", "unavailable"


async def _give_up(gateway: Gateway, lease: Lease, mailbox: str) -> Lease:
    lease.rival = mailbox
    await release(gateway, lease)
    return lease


async def _take(
    gateway: Gateway, lease: Lease, mailbox: str, *, name: str, now: datetime, ttl: timedelta
) -> str:
    """Create our marker in ``mailbox`` and see who holds the lease there: ``_HELD``, ``_RIVAL`` (another
    run, or no way to tell: the run gives up), or ``_UNAVAILABLE`` (the app may not write there)."""
    try:
        marker = await gateway.take_lease(mailbox, name=name, holder=lease.holder, until=now + ttl, now=now)
    except AuthError:
        raise  # no identity: the run stops (exit 2)
    except (Forbidden, NotFound) as exc:
        # A mailbox we cannot write to (an RBAC scope, a missing mailbox) fails every write of the
        # run the same way, pair by pair, with a clear error: no rival can write there either.
        log.warning("run.lease_unavailable", mailbox=mailbox, error=str(exc))
        return _UNAVAILABLE
    except GraphError as exc:
        # Throttled or failing after the retries: a rival may hold it. This run gives up; the next comes.
        log.warning("run.lease_unknown", mailbox=mailbox, error=str(exc))
        return _RIVAL
    lease.markers.append((mailbox, marker))
    try:
        markers = await gateway.leases(mailbox, name=name, now=now)
    except AuthError:
        raise
    except GraphError as exc:  # our marker is there, but not whether a rival's came first
        log.warning("run.lease_unknown", mailbox=mailbox, error=str(exc))
        return _RIVAL
    live = [m for m in markers if m[3] > now]
    holder = live[0] if live else None
    if holder is not None and holder[2] != lease.holder:
        log.warning("run.lease_held_elsewhere", mailbox=mailbox, since=holder[1].isoformat())
        return _RIVAL
    for marker_id, _created, _holder, until in markers:
        if until <= now:  # left by a run that was killed: the holder clears it
            await _quietly(gateway.delete_event(mailbox, marker_id), mailbox)
    return _HELD


async def _quietly(deletion: Awaitable[None], mailbox: str) -> None:
    try:
        await deletion
    except GraphError as exc:
        log.warning("run.lease_cleanup_failed", mailbox=mailbox, error=str(exc))


async def release(gateway: Gateway, lease: Lease) -> None:
    """Give back every marker we created, all at once (best effort: an expired marker is ignored anyway;
    only taking the lease needs the fixed order)."""

    async def give_back(mailbox: str, marker: str) -> None:
        try:
            await gateway.delete_event(mailbox, marker)
        except Exception as exc:
            log.warning("run.lease_release_failed", mailbox=mailbox, error=str(exc))

    await asyncio.gather(*(give_back(mailbox, marker) for mailbox, marker in lease.markers if marker))
    lease.markers.clear()
