"""Real processes: ``crossgen sandbox serve`` on a free loopback port, and ``crossgen run`` subprocesses
pointed at it with the environment it announces, as an operator (or a CronJob) would run them.

Only the processes started here are ever signalled, by their own pid.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from tests.reliability.harness import EXAMPLE, ORGANIZER, START
from worker.core.types import OccurrenceInfo, SeriesInfo
from worker.graph import mapping, wire

CROSSGEN = [sys.executable, "-m", "worker"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Served:
    """A sandbox server process and the connection line it printed."""

    process: subprocess.Popen[str]
    info: dict[str, Any]
    base: str
    client: httpx.Client = field(init=False)

    def __post_init__(self) -> None:
        self.client = httpx.Client(base_url=self.base, timeout=30.0)

    @property
    def env(self) -> dict[str, str]:
        return dict(self.info["env"])

    def control(self, method: str, path: str, body: Any = None) -> Any:
        reply = self.client.request(method, f"/_sandbox/{path}", json=body)
        reply.raise_for_status()
        return reply.json()

    def set_clock(self, when: datetime) -> None:
        """Jump to ``when``; the clock then runs (the worker processes' real waits pass on it too)."""
        self.control("POST", "clock", {"now": when.isoformat(), "frozen": False})

    def requests_so_far(self) -> int:
        counters = self.control("GET", "counters")
        return int(sum(counters["status_counts"].values()))

    def stop(self) -> None:
        self.client.close()
        if self.process.stdout is not None:
            self.process.stdout.close()
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait()


def summary_of(out: str) -> dict[str, int]:
    """The summary line a ``crossgen run`` prints last."""
    return dict(json.loads(out.strip().splitlines()[-1]))


def serve(seed: int = 0) -> Served:
    port = free_port()
    process = subprocess.Popen(
        [*CROSSGEN, "sandbox", "serve", "--port", str(port), "--seed", str(seed)],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(timeout=10)
        raise RuntimeError(f"crossgen sandbox serve exited with {process.returncode}")
    info = json.loads(line)
    served = Served(process, info, info["graph_url"].removesuffix("/v1.0"))
    served.set_clock(START)
    # Dozens of worker processes send from one programme mailbox within minutes here; Exchange's
    # 30-a-minute sending limit (which each worker paces on its own) is not what these tests are about.
    served.control("POST", "faults", {"send_rate_per_minute": 100_000})
    return served


def programme(tmp: Path, name: str, *, swap_roles: bool = False) -> Path:
    """A copy of the example programme under another name (its own series and emails); with
    ``swap_roles`` the same people with mentor and mentee swapped, so its pair keys differ too."""
    config = tmp / name
    shutil.copytree(EXAMPLE, config)
    program = config / "program.yaml"
    text = program.read_text(encoding="utf-8")
    text = text.replace("Contoso Reverse Mentoring 2027", f"Reliability {name}")
    # The programme key tags its series and emails: each test programme needs its own.
    text = text.replace("key: contoso-reverse-mentoring-2027", f"key: reliability-{name}")
    program.write_text(text, encoding="utf-8")
    if swap_roles:
        pairs = config / "pairs.yaml"
        text = pairs.read_text(encoding="utf-8")
        text = text.replace("mentor:", "@@").replace("mentee:", "mentor:").replace("@@", "mentee:")
        pairs.write_text(text, encoding="utf-8")
    return config


def start_run(served: Served, config: Path, state: Path, as_of: datetime, *,
              extra_env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, **served.env, "CROSSGEN_STATE": str(state), **(extra_env or {})}
    env.pop("CROSSGEN_LOG_FORMAT", None)
    return subprocess.Popen(
        [*CROSSGEN, "run", "--config", str(config), "--as-of", as_of.isoformat()],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def finish(process: subprocess.Popen[str], timeout: float = 120) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=timeout)
    return process.returncode, out, err


WRITES = ("POST", "PATCH", "DELETE")


def writes_since(served: Served, baseline: int) -> int:
    """Writes (creates, PATCHes, cancels, sends) among the requests served after the first ``baseline``."""
    counters = served.control("GET", "counters")
    fresh = int(sum(counters["status_counts"].values())) - baseline
    recent = counters["log"][-fresh:] if fresh > 0 else []
    return sum(1 for e in recent if e["method"] in WRITES and not e["path"].endswith("/getSchedule"))


def kill_when(served: Served, process: subprocess.Popen[str], *, after_seconds: float | None = None,
              after_writes: int | None = None, sig: int = signal.SIGKILL) -> bool:
    """Signal ``process`` after a delay, or once the sandbox has served ``after_writes`` writes since
    it started. False if it finished first."""
    started, baseline = time.monotonic(), served.requests_so_far()
    while process.poll() is None:
        if after_seconds is not None and time.monotonic() - started >= after_seconds:
            break
        if after_writes is not None and writes_since(served, baseline) >= after_writes:
            break
        time.sleep(0.02)
    if process.poll() is not None:
        process.communicate()
        return False
    os.kill(process.pid, sig)
    if sig == signal.SIGKILL:
        process.communicate()
    return True


class HttpView:
    """The tenant read over plain HTTP with the sandbox's app credentials (an audit's TenantView). It
    does not use the gateway under test: documented Graph queries, mapped by ``worker.graph.wire``."""

    def __init__(self, served: Served) -> None:
        self._served = served
        self._token: str | None = None

    def _get(self, url: str, params: Any = None) -> Any:
        if self._token is None:
            env = self._served.env
            reply = self._served.client.post(
                f"/{env['AZURE_TENANT_ID']}/oauth2/v2.0/token",
                data={"grant_type": "client_credentials", "client_id": env["AZURE_CLIENT_ID"],
                      "client_secret": env["AZURE_CLIENT_SECRET"],
                      "scope": "https://graph.microsoft.com/.default"})
            reply.raise_for_status()
            self._token = reply.json()["access_token"]
        return self._served.client.get(url, params=params, headers={"Authorization": f"Bearer {self._token}"})

    def _pages(self, url: str, params: Any) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        next_url: str | None = url
        while next_url:
            reply = self._get(next_url, params)
            reply.raise_for_status()
            data = reply.json()
            found += data.get("value", [])
            link = data.get("@odata.nextLink")
            next_url, params = (link.split(self._served.base, 1)[1], None) if link else (None, None)
        return found

    @staticmethod
    def _expand() -> str:
        names = ("key", "owner", "programme", "ended")
        ids = " or ".join(f"id eq {mapping.odata_quote(mapping.property_id(n))}" for n in names)
        return f"singleValueExtendedProperties($filter={ids})"

    async def series(self) -> list[SeriesInfo]:
        params = {"$filter": mapping.property_filter(mapping.OWNER_PROPERTY, mapping.OWNER_VALUE),
                  "$expand": self._expand(), "$top": "100"}
        events = await asyncio.to_thread(self._pages, f"/v1.0/users/{ORGANIZER}/events", params)
        found = [wire.series_from_json(e, ORGANIZER) for e in events if wire.is_series(e)]
        return [s for s in found if "ended" not in s.properties]

    async def occurrences(self, series: SeriesInfo) -> list[OccurrenceInfo]:
        params = {"startDateTime": (START - timedelta(days=30)).isoformat(),
                  "endDateTime": (START + timedelta(days=200)).isoformat(), "$top": "100"}
        url = f"/v1.0/users/{series.organizer}/events/{series.id}/instances"
        events = await asyncio.to_thread(self._pages, url, params)
        return [wire.occurrence_from_json(e) for e in events]

    async def sent_items(self, address: str = ORGANIZER) -> list[dict[str, Any]]:
        params = {"$select": "subject,toRecipients,internetMessageId", "$top": "200"}
        url = f"/v1.0/users/{address}/mailFolders/sentitems/messages"
        return await asyncio.to_thread(self._pages, url, params)

    async def working_hours(self, address: str) -> dict[str, Any] | None:
        reply = await asyncio.to_thread(self._get, f"/v1.0/users/{address}/mailboxSettings")
        return reply.json().get("workingHours") if reply.status_code == 200 else None

    async def aclose(self) -> None:
        return None
