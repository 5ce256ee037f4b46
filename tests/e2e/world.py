"""A programme, a sandbox tenant and the real worker, in one process, on simulated time.

Tests build a ``World``, change the programme's YAML or people's calendars as life would, and call
``run`` as the CronJob would; every Graph call goes through the real gateway to the sandbox.
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from worker.core.types import Interval, OccurrenceInfo, SeriesInfo
from worker.inprocess import Participant, SimulatedTime, connect
from worker.reconcile.run import RunResult, reconcile
from worker.sandbox.app import create_app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "config"
START = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)
ORGANIZER = "mentoring@contoso.com"
LEAD = "people.lead@contoso.com"
T = TypeVar("T")


class World:
    def __init__(self, tmp: Path, *, pairs: str | None = None, limits: Any = None, seed: int = 0) -> None:
        self.config = tmp / "config"
        shutil.copytree(EXAMPLE, self.config)
        if pairs is not None:
            self.write("pairs.yaml", pairs)
        self.state = tmp / "state"
        self.app = create_app(seed=seed)
        self.time = SimulatedTime(self.app, START)
        self.gateway = connect(self.app, time=self.time, limits=limits)
        self.person = Participant(self.app)

    def write(self, name: str, text: str) -> None:
        (self.config / name).write_text(text, encoding="utf-8")

    def edit(self, name: str, old: str, new: str) -> None:
        path = self.config / name
        text = path.read_text(encoding="utf-8")
        assert old in text, f"{old!r} not in {name}"
        path.write_text(text.replace(old, new), encoding="utf-8")

    @property
    def now(self) -> datetime:
        return self.time.now

    def at(self, when: datetime) -> None:
        self.time.set(when)

    def advance(self, **delta: float) -> None:
        self.time.set(self.time.now + timedelta(**delta))

    async def run(self, *, dry_run: bool = False) -> RunResult:
        return await reconcile(
            self.config, gateway=self.gateway, now=self.time.now, dry_run=dry_run, state_path=self.state
        )

    async def series(self, key: str | None = None) -> list[SeriesInfo]:
        found = await self.gateway.list_series(ORGANIZER)
        live = [s for s in found if "ended" not in s.properties]
        return [s for s in live if key is None or s.key == key]

    async def occurrences(self, series: SeriesInfo, days: int = 200) -> list[OccurrenceInfo]:
        window = Interval(START - timedelta(days=30), START + timedelta(days=days))
        return await self.gateway.occurrences(series.organizer, series.id, window)

    async def sent(self, address: str = ORGANIZER) -> list[dict[str, Any]]:
        return await self.person.sent_items(address)

    async def close(self) -> None:
        await self.person.aclose()
        await self.gateway.aclose()


def play(tmp: Path, scenario: Callable[[World], Awaitable[T]], **kwargs: Any) -> T:
    """Run ``scenario`` in a fresh world, closing it afterwards."""

    async def main() -> T:
        world = World(tmp, **kwargs)
        try:
            return await scenario(world)
        finally:
            await world.close()

    return asyncio.run(main())


def pair_id(world: World, mentor: str) -> str:
    from worker.policies.load import load_programme

    programme = load_programme(world.config)
    return next(p.id for p in programme.pairs if p.mentor.startswith(mentor))


async def inbox(world: World, address: str) -> list[dict[str, Any]]:
    """Everything in ``address``'s Inbox, oldest first: the sandbox keeps every meeting message Exchange
    would have delivered (requests, updates, cancellations), bodies included."""
    found: list[dict[str, Any]] = []
    params: Any = {
        "$select": "subject,body,receivedDateTime,meetingMessageType",
        "$top": "100",
        "$orderby": "receivedDateTime",
    }
    path = f"/users/{address}/mailFolders/inbox/messages"
    while True:
        page = await world.person.call("GET", path, params=params)
        found += page.get("value", [])
        link = page.get("@odata.nextLink")
        if not link:
            return found
        path, params = link.split("/v1.0", 1)[1], None
