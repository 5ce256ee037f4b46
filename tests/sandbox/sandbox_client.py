"""Test helpers for the sandbox: a plain Graph client over ``httpx.ASGITransport``, and shape checks.

The client follows only Microsoft's documentation: it gets a token from the token endpoint with
client credentials and sends ``Authorization: Bearer`` on every call. Nothing here reaches into the
sandbox's internals; tests that want to look inside use the app's Python accessors explicitly.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx

from worker.sandbox.app import SandboxApp, create_app

EXAMPLES = Path(__file__).with_name("graph_examples")
T = TypeVar("T")
FROZEN = datetime(2027, 1, 4, 8, 0, tzinfo=UTC)


def example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_text(encoding="utf-8"))


def run(coro: Awaitable[T]) -> T:
    return asyncio.run(coro)  # type: ignore[arg-type]


class FakeClock:
    """A clock tests move by hand."""

    def __init__(self, now: datetime = FROZEN) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def served_token(http: httpx.Client, info: dict[str, Any]) -> str:
    """A token from a ``crossgen sandbox serve`` process (``info``: the JSON line it prints), got as a
    documented client gets one: client credentials at its token endpoint."""
    response = http.post(
        info["token_url"],
        data={
            "grant_type": "client_credentials",
            "client_id": info["client_id"],
            "client_secret": info["client_secret"],
            "scope": "https://graph.microsoft.com/.default",
        },
    )
    return str(response.json()["access_token"])


class Graph:
    """A documented-Graph client bound to one in-process sandbox."""

    def __init__(self, app: SandboxApp) -> None:
        self.app = app
        self.http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox")
        self.token = ""

    async def __aenter__(self) -> Graph:
        self.token = await self.get_token()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.http.aclose()

    async def get_token(self, **overrides: str) -> str:
        creds = self.app.credentials
        form = {
            "grant_type": "client_credentials",
            "client_id": creds.client_id,
            "client_secret": creds.client_secret,
            "scope": "https://graph.microsoft.com/.default",
            **overrides,
        }
        response = await self.http.post(f"/{self.app.tenant.tenant_id}/oauth2/v2.0/token", data=form)
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}", **(headers or {})}

    async def get(
        self, path: str, *, params: Any = None, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        return await self.http.get(f"/v1.0{path}", params=params, headers=self._headers(headers))

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
    ) -> httpx.Response:
        if content is not None:
            return await self.http.post(f"/v1.0{path}", content=content, headers=self._headers(headers))
        return await self.http.post(
            f"/v1.0{path}", json=body if body is not None else {}, headers=self._headers(headers)
        )

    async def patch(self, path: str, body: Any, *, headers: dict[str, str] | None = None) -> httpx.Response:
        return await self.http.patch(f"/v1.0{path}", json=body, headers=self._headers(headers))

    async def put(self, path: str, body: Any) -> httpx.Response:
        return await self.http.put(f"/v1.0{path}", json=body, headers=self._headers(None))

    async def delete(self, path: str) -> httpx.Response:
        return await self.http.delete(f"/v1.0{path}", headers=self._headers(None))

    async def add_user(
        self, handle: str, *, zone: str | None = None, name: str | None = None
    ) -> dict[str, Any]:
        """``POST /users`` as the docs show it, then the mailbox time zone if asked."""
        upn = handle if "@" in handle else f"{handle}@contoso.com"
        handle = upn.split("@")[0]
        body = {
            "accountEnabled": True,
            "displayName": name or handle.replace(".", " ").title(),
            "mailNickname": handle.replace(".", ""),
            "userPrincipalName": upn,
            "passwordProfile": {"forceChangePasswordNextSignIn": True, "password": "xWwvJ]6NMw+bWH-d"},
        }
        response = await self.post("/users", body)
        assert response.status_code == 201, response.text
        if zone:
            patched = await self.patch(f"/users/{upn}/mailboxSettings", {"timeZone": zone})
            assert patched.status_code == 200, patched.text
        return dict(response.json())


def with_graph(scenario: Callable[[Graph], Awaitable[T]], **app_options: Any) -> T:
    """Run ``scenario`` against a fresh sandbox (empty unless told otherwise)."""
    app_options.setdefault("empty", True)
    app_options.setdefault("clock", FakeClock())
    app = create_app(**app_options)

    async def main() -> T:
        async with Graph(app) as graph:
            return await scenario(graph)

    return run(main())


def shape_mismatches(documented: Any, actual: Any, path: str = "$") -> list[str]:
    """Where ``actual`` lacks a documented key or differs in JSON type (a documented null matches anything).

    Extra keys in ``actual`` are fine: Graph returns more than its examples show.
    """
    if documented is None:
        return []
    if isinstance(documented, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {type(actual).__name__}"]
        problems = []
        for key, value in documented.items():
            if key not in actual:
                problems.append(f"{path}.{key}: missing")
            else:
                problems.extend(shape_mismatches(value, actual[key], f"{path}.{key}"))
        return problems
    if isinstance(documented, list):
        if not isinstance(actual, list):
            return [f"{path}: expected an array, got {type(actual).__name__}"]
        if documented and actual:
            return shape_mismatches(documented[0], actual[0], f"{path}[0]")
        return []
    kinds = {bool: "boolean", int: "number", float: "number", str: "string"}
    want, got = kinds.get(type(documented)), kinds.get(type(actual))
    if actual is not None and want != got:
        return [f"{path}: expected {want}, got {got}"]
    return []
