"""Wire-level test kit for the gateway: respx answers Graph and MSAL's token endpoint, time is virtual.

The payloads come from Microsoft's documentation (copied into ``fixtures/`` from the shared examples, so the
tests do not depend on ../shared). Every JSON body the gateway sends can be checked against the CSDL with
the sandbox's validator (``assert_bodies_valid``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from worker.graph.ops import Gateway
from worker.graph.pacing import PacingLimits
from worker.graph.retry import RetryPolicy

FIXTURES = Path(__file__).parent / "fixtures"
TENANT = "11111111-2222-3333-4444-555555555555"
CLIENT = "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
CANARY_SECRET = "canary-secret-Zq8~xT4vN2"
CANARY_TOKEN = "eyJ0eXAiOiJKV1QiLCJhbGciOiJub25lIn0.eyJjYW5hcnkiOnRydWV9.canary-token-sig"
GRAPH = "https://graph.microsoft.com/v1.0"
LOGIN = "https://login.microsoftonline.com"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


class VirtualClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class VirtualSleep:
    """An injected sleep that records waits, moves the virtual clock (if any) and returns at once."""

    def __init__(self, clock: VirtualClock | None = None) -> None:
        self.waits: list[float] = []
        self._clock = clock

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        if self._clock is not None:
            self._clock.now += seconds


@dataclass
class Wire:
    """The mocked world: the respx router, the token requests seen, the injected sleep and clock."""

    router: respx.MockRouter
    sleep: VirtualSleep
    clock: VirtualClock
    tokens: list[str] = field(default_factory=lambda: [CANARY_TOKEN])
    token_requests: list[httpx.Request] = field(default_factory=list)

    def graph_requests(self) -> list[httpx.Request]:
        """Graph requests in order; a ``$batch``'s items stand in for it (``mount_batch`` records them)."""
        return [
            c.request
            for c in self.router.calls
            if c.request.url.host == "graph.microsoft.com" and not c.request.url.path.endswith("/$batch")
        ]

    def batches(self) -> list[httpx.Request]:
        return [c.request for c in self.router.calls if c.request.url.path.endswith("/$batch")]


def openid_configuration(base: str, tenant: str) -> dict[str, Any]:
    return {
        "token_endpoint": f"{base}/{tenant}/oauth2/v2.0/token",
        "authorization_endpoint": f"{base}/{tenant}/oauth2/v2.0/authorize",
        "issuer": f"{base}/{tenant}/v2.0",
        "jwks_uri": f"{base}/{tenant}/discovery/v2.0/keys",
        "response_types_supported": ["code", "id_token", "token"],
    }


def mount_login(router: respx.MockRouter, wire: Wire, base: str = LOGIN) -> None:
    router.get(f"{base}/{TENANT}/v2.0/.well-known/openid-configuration").mock(
        # Like the sandbox, the document names https endpoints (MSAL requires them) even on plain http.
        return_value=httpx.Response(
            200, json=openid_configuration(base.replace("http://", "https://"), TENANT)
        )
    )

    def token(request: httpx.Request) -> httpx.Response:
        wire.token_requests.append(request)
        value = wire.tokens[min(len(wire.token_requests), len(wire.tokens)) - 1]
        return httpx.Response(200, json={"token_type": "Bearer", "expires_in": 3599, "access_token": value})

    router.post(f"{base}/{TENANT}/oauth2/v2.0/token").mock(side_effect=token)


def mount_batch(router: respx.MockRouter) -> respx.Route:
    """Graph's ``POST /$batch`` over the test's own routes: each item is resolved by the router as if it
    were sent alone (so a test's route for ``.../cancel`` sees it, and counts it), and its answer goes
    back as that item's status, headers and body. A route that raises answers the item 504."""

    def batch(request: httpx.Request) -> httpx.Response:
        responses = []
        for item in json.loads(request.content)["requests"]:
            headers = {"authorization": request.headers.get("authorization", "")}
            headers.update(item.get("headers") or {})
            content = json.dumps(item["body"]).encode() if "body" in item else None
            one = httpx.Request(item["method"], GRAPH + item["url"], headers=headers, content=content)
            try:
                answer = router.resolve(one).response
                assert isinstance(answer, httpx.Response)
            except (httpx.HTTPError, respx.models.SideEffectError):
                answer = httpx.Response(504, json={"error": {"code": "UnknownError", "message": "timed out"}})
            out: dict[str, Any] = {"id": item["id"], "status": answer.status_code}
            out["headers"] = dict(answer.headers)
            if answer.content:
                out["body"] = answer.json()
            responses.append(out)
        return httpx.Response(200, json={"responses": responses})

    return router.post(f"{GRAPH}/$batch").mock(side_effect=batch)


def base_env(**extra: str) -> dict[str, str]:
    env = {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": CLIENT, "AZURE_CLIENT_SECRET": CANARY_SECRET}
    env.update(extra)
    return env


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def wire() -> Iterator[Wire]:
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as router:
        clock = VirtualClock()
        w = Wire(router, VirtualSleep(clock), clock)
        mount_login(router, w)
        mount_batch(router)
        yield w


def make_gateway(wire: Wire, env: dict[str, str] | None = None, **kw: Any) -> Gateway:
    return Gateway.from_env(
        env or base_env(),
        http_client=httpx.AsyncClient(),
        token_http_client=httpx.Client(),
        sleep=wire.sleep,
        clock=wire.clock,
        policy=kw.pop("policy", RetryPolicy()),
        limits=kw.pop("limits", PacingLimits()),
        **kw,
    )


@pytest.fixture
def gateway(wire: Wire) -> Gateway:
    return make_gateway(wire)


def body_of(request: httpx.Request) -> Any:
    return json.loads(request.content) if request.content else None


def assert_bodies_valid(requests: list[httpx.Request]) -> int:
    """Validate every JSON body sent against the CSDL (the sandbox's validator). Returns how many."""
    schema = pytest.importorskip("worker.sandbox.schema")
    checked = 0
    for request in requests:
        if request.method not in ("POST", "PATCH") or not request.content:
            continue
        if not request.headers.get("content-type", "").startswith("application/json"):
            continue
        path, body = request.url.path, body_of(request)
        if path.endswith("/$batch"):  # each item's body, as Graph validates it
            for item in body["requests"]:
                if item.get("body") is not None:
                    _assert_body_valid(schema, item["method"], item["url"], item["body"])
                    checked += 1
            continue
        _assert_body_valid(schema, request.method, path, body)
        checked += 1
    return checked


def _assert_body_valid(schema: Any, method: str, path: str, body: Any) -> None:
    if path.endswith("/getSchedule"):
        problems = schema.validate_action("getSchedule", body)
    elif path.endswith("/cancel"):
        problems = schema.validate_action("cancel", body)
    elif "/events" in path:
        problems = schema.validate_entity("event", body, for_create=method == "POST")
    else:
        raise AssertionError(f"no validator for {method} {path}")
    assert problems == [], (method, path, problems)
