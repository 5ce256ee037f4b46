"""The worker and the sandbox in one process, wired exactly as over the network.

The demo and the end-to-end tests use this: the gateway is the real one (MSAL, msgraph-sdk, pacing,
retries), talking to the sandbox's ASGI app through httpx transports instead of sockets. MSAL's
token requests go through a sync test client; Graph calls through ``httpx.ASGITransport``. The
sandbox hands out its own tenant id and client secret, as ``crossgen sandbox serve`` prints them.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

import httpx

BASE = "http://127.0.0.1:8765"  # never dialled: the transports deliver to the app in-process


def sandbox_env(app: Any) -> dict[str, str]:
    """The AZURE_* / CROSSGEN_* variables under which the worker uses ``app``."""
    return dict(app.info(BASE)["env"])


class AsgiSyncTransport(httpx.BaseTransport):
    """A blocking httpx transport into an ASGI app, for MSAL (whose HTTP client is synchronous).

    Each request runs on a private event loop in a helper thread, so it works whether or not the
    caller's thread already runs a loop (MSAL is called from inside the worker's async code).
    """

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="asgi-sync")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        copy = httpx.Request(request.method, request.url, headers=request.headers, content=body)

        async def send() -> tuple[int, httpx.Headers, bytes]:
            response = await self._inner.handle_async_request(copy)
            content = await response.aread()
            return response.status_code, response.headers, content

        status, headers, content = self._pool.submit(asyncio.run, send()).result()
        return httpx.Response(status, headers=headers, content=content, request=request)

    def close(self) -> None:
        self._pool.shutdown(wait=False)


class SimulatedTime:
    """One simulated clock for the sandbox and the worker: ``now`` for both, the pacer's clock, and a
    sleep that advances time instead of waiting (so retries and budgets behave, at no wall-clock cost)."""

    def __init__(self, app: Any, start: datetime) -> None:
        self._app = app
        self.now = start
        self.slept: list[float] = []
        self.set(start)

    def __call__(self) -> datetime:
        return self.now

    def set(self, when: datetime) -> None:
        self.now = when
        self._app.sandbox.clock.set(when, frozen=True)

    def advance(self, seconds: float) -> None:
        self.set(self.now + timedelta(seconds=seconds))

    def monotonic(self) -> float:
        return self.now.timestamp()

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        if seconds > 0:
            self.advance(seconds)
        await asyncio.sleep(0)


def connect(
    app: Any,
    *,
    time: SimulatedTime | None = None,
    now: Callable[[], datetime] | None = None,
    sleep: Callable[[float], Awaitable[None]] | None = None,
    limits: Any = None,
    policy: Any = None,
) -> Any:
    """A ``Gateway`` bound to the in-process sandbox ``app``.

    With ``time``, the worker runs on that simulated clock; otherwise ``sleep`` defaults to a virtual
    sleep that returns at once, so tests never wait for real.
    """
    from worker.graph.ops import Gateway

    async def no_wait(_seconds: float) -> None:
        await asyncio.sleep(0)

    token_client = httpx.Client(transport=AsgiSyncTransport(app), base_url=BASE)
    graph_client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url=BASE, timeout=httpx.Timeout(60.0)
    )
    kwargs: dict[str, Any] = {}
    if limits is not None:
        kwargs["limits"] = limits
    if policy is not None:
        kwargs["policy"] = policy
    if time is not None:
        kwargs.update(now=time, clock=time.monotonic, sleep=time.sleep)
    else:
        kwargs.update(now=now, sleep=sleep or no_wait)
    return Gateway.from_env(
        sandbox_env(app), http_client=graph_client, token_http_client=token_client, **kwargs
    )


class Participant:
    """Acts on the in-process sandbox as a person would in Outlook (plain, documented Graph calls):
    answer an invitation, put a meeting in their own calendar, read a mailbox."""

    def __init__(self, app: Any) -> None:
        self._app = app
        self._client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE)

    async def _headers(self) -> dict[str, str]:
        # Simulated time jumps by weeks, past any token's expiry: a fresh token for every call.
        env = sandbox_env(self._app)
        reply = await self._client.post(
            f"/{env['AZURE_TENANT_ID']}/oauth2/v2.0/token",
            data={
                "grant_type": "client_credentials",
                "client_id": env["AZURE_CLIENT_ID"],
                "client_secret": env["AZURE_CLIENT_SECRET"],
                "scope": "https://graph.microsoft.com/.default",
            },
        )
        reply.raise_for_status()
        return {"Authorization": f"Bearer {reply.json()['access_token']}"}

    async def call(self, method: str, path: str, *, json: Any = None, params: Any = None) -> Any:
        reply = await self._client.request(
            method, f"/v1.0{path}", json=json, params=params, headers=await self._headers()
        )
        if reply.status_code >= 400:
            raise RuntimeError(f"{method} {path}: {reply.status_code} {reply.text[:300]}")
        return reply.json() if reply.content else None

    async def respond(
        self, attendee: str, organizer_event_id: str, response: str = "decline", comment: str = ""
    ) -> None:
        reply = await self._app.respond_as(attendee, organizer_event_id, response, comment=comment)
        if reply.status >= 400:
            raise RuntimeError(f"{attendee} could not {response}: {reply.body}")

    async def add_meeting(
        self, address: str, subject: str, start: datetime, end: datetime, show_as: str = "busy"
    ) -> None:
        """A meeting of the person's own, e.g. an "urgent" one that lands on a mentoring session."""
        await self.call(
            "POST",
            f"/users/{address}/events",
            json={
                "subject": subject,
                "showAs": show_as,
                "start": {"dateTime": start.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
                "end": {"dateTime": end.strftime("%Y-%m-%dT%H:%M:%S"), "timeZone": "UTC"},
            },
        )

    async def send_mailto(self, address: str, url: str, *, comment: str = "") -> None:
        """``address`` clicks a ``mailto:`` link in their mail client, types ``comment`` and sends it
        (the sandbox's control surface builds exactly that message and delivers it as Exchange would)."""
        reply = await self._client.post(
            f"/_sandbox/users/{address}/mailto", json={"url": url, "comment": comment}
        )
        if reply.status_code >= 400:
            raise RuntimeError(f"{address} could not send the mailto message: {reply.text[:300]}")

    async def inbox(self, address: str, *, select: str = "subject,body,from") -> list[dict[str, Any]]:
        page = await self.call(
            "GET", f"/users/{address}/mailFolders/inbox/messages", params={"$select": select, "$top": "500"}
        )
        return list(page.get("value", []))

    async def sent_items(self, address: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        params: Any = {"$select": "subject,toRecipients,sentDateTime,internetMessageId", "$top": "100"}
        path = f"/users/{address}/mailFolders/sentitems/messages"
        while True:
            page = await self.call("GET", path, params=params)
            found += page.get("value", [])
            link = page.get("@odata.nextLink")
            if not link:
                return found
            path, params = link.split("/v1.0", 1)[1], None

    async def aclose(self) -> None:
        await self._client.aclose()
