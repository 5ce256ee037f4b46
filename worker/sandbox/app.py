"""The sandbox as an ASGI app: the identity platform, Graph under ``/v1.0``, and a control surface.

``create_app`` is what tests use in-process (``httpx.ASGITransport``) and what ``crossgen sandbox
serve`` hands to uvicorn. Three surfaces share one ``Sandbox``:

- ``/{tenant}/v2.0/.well-known/openid-configuration`` and ``/{tenant}/oauth2/v2.0/token``: see ``auth.py``;
- ``/v1.0/...``: Graph, every call through ``Sandbox.dispatch``;
- ``/_sandbox/...``: clearly *not* Graph, for tests and the demo. Its JSON is ours:

  ``GET info`` (the ``serve`` connection line) · ``GET counters`` · ``POST counters/reset`` ·
  ``GET|POST faults`` (``FaultConfig`` knobs as JSON) · ``GET|POST clock`` (``{"now": iso, "frozen":
  bool}`` or ``{"advance_seconds": n}``) · ``POST certificates`` (a PEM body) ·
  ``DELETE users/{upn}/mailbox`` · ``POST respond`` (``{"attendee", "event": organizer's event or
  occurrence id, "response": accept|decline|tentativelyAccept, "comment", "sendResponse"}``) ·
  ``GET events/{organizer event id}/copies``.

The app object also carries Python accessors (``app.sandbox``, ``app.tenant``, ``app.counters``,
``app.faults``, ``app.clock``, ``app.credentials``, ``app.requests_to``, ``app.max_in_flight_for``,
``app.copy_id``, ``app.respond_as``, ``app.info``) so in-process tests can set up and inspect state
without HTTP.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, unquote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from worker.sandbox import seed as seeding
from worker.sandbox.auth import openid_configuration
from worker.sandbox.errors import GraphError, IdentityError, SandboxError, graph_error_body
from worker.sandbox.faults import FaultConfig, FaultConfigError, Sleeper
from worker.sandbox.router import GraphRequest, Reply
from worker.sandbox.service import Clock, Sandbox
from worker.sandbox.store import Credentials, Tenant, occurrence_id, parse_occurrence_id


class SandboxApp(Starlette):
    """Starlette plus the sandbox it serves."""

    sandbox: Sandbox

    @property
    def tenant(self) -> Tenant:
        return self.sandbox.tenant

    @property
    def counters(self) -> Any:
        return self.sandbox.limits.counters

    @property
    def faults(self) -> FaultConfig:
        return self.sandbox.faults

    @property
    def clock(self) -> Any:
        return self.sandbox.clock

    @property
    def credentials(self) -> Credentials:
        return self.tenant.credentials

    def requests_to(self, address: str) -> int:
        """Graph requests counted against ``address``'s mailbox (refused ones included)."""
        user = self.tenant.find_user(address)
        return self.counters.requests.get(user.id if user else address.lower(), 0)

    def max_in_flight_for(self, address: str) -> int:
        """The most requests ``address``'s mailbox ever had in flight at once."""
        user = self.tenant.find_user(address)
        return self.counters.max_in_flight.get(user.id if user else address.lower(), 0)

    def copy_id(self, organizer_event_id: str, attendee: str, *, organizer: str | None = None) -> str:
        """The id of ``attendee``'s copy of a meeting (or of one occurrence), given the organizer's id."""
        occ = parse_occurrence_id(organizer_event_id)
        master_id = occ[0] if occ else organizer_event_id
        for box in self.tenant.mailboxes.values():
            rec = box.events.get(master_id)
            if rec is None or not rec.is_organizer:
                continue
            user = self.tenant.find_user(attendee)
            if user is None or user.id not in rec.copies:
                break
            copy_id = rec.copies[user.id]
            return occurrence_id(copy_id, occ[1]) if occ else copy_id
        raise SandboxError(f"{attendee} has no copy of event {organizer_event_id}")

    async def respond_as(
        self,
        attendee: str,
        organizer_event_id: str,
        response: str,
        *,
        comment: str = "",
        send_response: bool = True,
    ) -> Reply:
        """Answer a meeting as ``attendee`` would in Outlook: accept, decline or tentativelyAccept."""
        target = self.copy_id(organizer_event_id, attendee)
        token = self.sandbox.tokens.issue(
            self.tenant.tenant_id,
            {
                "grant_type": "client_credentials",
                "client_id": self.credentials.client_id,
                "client_secret": self.credentials.client_secret,
                "scope": "https://graph.microsoft.com/.default",
            },
            now=self.sandbox.clock(),
        )["access_token"]
        body = json.dumps({"comment": comment, "sendResponse": send_response}).encode()
        req = GraphRequest(
            "POST",
            f"/users/{attendee}/events/{target}/{response}",
            {},
            {"authorization": f"Bearer {token}", "content-type": "application/json"},
            body,
            control=True,
        )
        return await self.sandbox.dispatch(req)

    def info(self, base_url: str) -> dict[str, Any]:
        """The one JSON line ``crossgen sandbox serve`` prints: where to point the worker."""
        tenant = self.tenant
        token_url = f"{base_url}/{tenant.tenant_id}/oauth2/v2.0/token"
        env = {
            "AZURE_TENANT_ID": tenant.tenant_id,
            "AZURE_CLIENT_ID": self.credentials.client_id,
            "AZURE_CLIENT_SECRET": self.credentials.client_secret,
            "AZURE_AUTHORITY_HOST": base_url,
            "CROSSGEN_GRAPH_URL": f"{base_url}/v1.0",
        }
        return {
            "graph_url": f"{base_url}/v1.0",
            "token_url": token_url,
            "tenant_id": tenant.tenant_id,
            "client_id": self.credentials.client_id,
            "client_secret": self.credentials.client_secret,
            "env": env,
        }


def settle_for_serving() -> None:
    """For a process that serves one sandbox until it stops: move everything alive now (the seeded
    tenant, the imports) out of the cyclic garbage collector's sight. They live as long as the server,
    and a full collection otherwise walks them all again, stalling every request in flight (measured
    on a 4,000-person tenant: about 135 ms a pass, ten passes in a 2,000-pair first run)."""
    import gc

    gc.collect()
    gc.freeze()


def _graph_response(reply: Reply) -> Response:
    content = b"" if reply.body is None else json.dumps(reply.body, ensure_ascii=False).encode()
    return Response(content=content, status_code=reply.status, headers=reply.headers)


def _base(request: Request) -> str:
    return f"{request.url.scheme}://{request.headers.get('host', request.url.netloc)}"


def create_app(
    *,
    tenant: Tenant | None = None,
    clock: Clock | None = None,
    faults: FaultConfig | None = None,
    seed: int = 0,
    empty: bool = False,
    sleeper: Sleeper | None = None,
    domains: tuple[str, ...] = (),
) -> SandboxApp:
    """A sandbox tenant served as ASGI: the seeded demo tenant unless ``tenant`` or ``empty`` is given.

    ``domains``: the tenant's verified domains, the first the default (an empty tenant's default is
    contoso.com when none is named; the demo tenant's people are always at contoso.com, so its
    ``domains`` are added to that one)."""
    if tenant is None:
        if empty:
            first, *more = domains or ("contoso.com",)
            tenant = Tenant(seed=seed, domain=first, domains=tuple(more))
        else:
            tenant = seeding.demo_tenant(seed=seed)
            tenant.domains = list(dict.fromkeys([*tenant.domains, *(d.lower() for d in domains)]))
    sandbox = Sandbox(tenant=tenant, clock=clock, faults=faults, seed=seed, sleeper=sleeper)

    async def openid(request: Request) -> Response:
        segment = request.path_params["tenant"]
        if not sandbox.tokens.knows_tenant(segment):
            err = IdentityError(400, "invalid_tenant", 90002, f"Tenant '{segment}' not found.")
            return JSONResponse(err.body(now=sandbox.clock()), status_code=400)
        host = request.headers.get("host", request.url.netloc)
        return JSONResponse(openid_configuration(tenant, host=host, tenant_segment=segment))

    async def instance_discovery(request: Request) -> Response:
        host = request.headers.get("host", request.url.netloc)
        return JSONResponse(
            {
                "tenant_discovery_endpoint": f"https://{host}/{tenant.tenant_id}/v2.0/.well-known/openid-configuration",
                "api-version": "1.1",
                "metadata": [{"preferred_network": host, "preferred_cache": host, "aliases": [host]}],
            }
        )

    async def token(request: Request) -> Response:
        form = dict(parse_qsl((await request.body()).decode("utf-8", "replace"), keep_blank_values=True))
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):  # client_secret_basic
            user, _, secret = base64.b64decode(basic[6:]).decode().partition(":")
            form.setdefault("client_id", unquote(user))
            form.setdefault("client_secret", unquote(secret))
        now = sandbox.clock()
        sandbox.tokens.lifetime_seconds = sandbox.faults.token_lifetime_seconds
        try:
            return JSONResponse(
                sandbox.tokens.issue(request.path_params["tenant"], form, now=now),
                headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
            )
        except IdentityError as err:
            return JSONResponse(err.body(now=now), status_code=err.status)

    async def graph(request: Request) -> Response:
        req = GraphRequest(
            method=request.method.upper(),
            path="/" + request.path_params["path"],
            query=dict(request.query_params),
            headers={k.lower(): v for k, v in request.headers.items()},
            body=await request.body(),
            base_url=f"{_base(request)}/v1.0",
            raw_query=request.url.query,
        )
        try:
            reply = await sandbox.dispatch(req)
        except SandboxError as err:  # a bug of ours, still answered in Graph's shape
            body = graph_error_body(
                "InternalServerError", str(err), now=sandbox.clock(), request_id="sandbox"
            )
            reply = Reply(500, body)
        return _graph_response(reply)

    routes = [
        Route("/{tenant}/v2.0/.well-known/openid-configuration", openid, methods=["GET"]),
        Route("/common/discovery/instance", instance_discovery, methods=["GET"]),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
        Route("/v1.0/{path:path}", graph, methods=["GET", "POST", "PATCH", "PUT", "DELETE"]),
        *control_routes(sandbox),
    ]
    app = SandboxApp(routes=routes)
    app.sandbox = sandbox
    app.state.sandbox = sandbox
    return app


def control_routes(sandbox: Sandbox) -> list[Route]:
    """``/_sandbox/``: test and demo controls. Not Graph, and never needed by the worker."""

    def ours(handler: Callable[[Request], Any]) -> Callable[[Request], Any]:
        async def wrapped(request: Request) -> Response:
            try:
                result = await handler(request)
            except (SandboxError, FaultConfigError, ValueError, KeyError, TypeError) as err:
                return JSONResponse({"error": str(err)}, status_code=400)
            return result if isinstance(result, Response) else JSONResponse(result)

        return wrapped

    async def body(request: Request) -> dict[str, Any]:
        raw = await request.body()
        data = json.loads(raw) if raw else {}
        if not isinstance(data, dict):
            raise ValueError("a JSON object is expected")
        return data

    async def info(request: Request) -> Any:
        app: SandboxApp = request.app
        return app.info(_base(request))

    async def counters(request: Request) -> Any:
        return sandbox.limits.counters.as_json()

    async def reset_counters(request: Request) -> Any:
        sandbox.limits.reset_counters()
        return {"reset": True}

    async def get_faults(request: Request) -> Any:
        return sandbox.faults.as_json()

    async def set_faults(request: Request) -> Any:
        sandbox.faults.update(await body(request))
        return sandbox.faults.as_json()

    async def get_clock(request: Request) -> Any:
        return {"now": sandbox.clock().isoformat()}

    async def set_clock(request: Request) -> Any:
        data = await body(request)
        if "now" in data:
            sandbox.clock.set(
                datetime.fromisoformat(str(data["now"]).replace("Z", "+00:00")),
                frozen=bool(data.get("frozen", False)),
            )
        if "advance_seconds" in data:
            sandbox.clock.advance(float(data["advance_seconds"]))
        return {"now": sandbox.clock().isoformat()}

    async def add_certificate(request: Request) -> Any:
        return {"thumbprint_sha256": sandbox.tokens.register_certificate(await request.body())}

    async def drop_mailbox(request: Request) -> Any:
        user = sandbox.tenant.find_user(request.path_params["user"])
        if user is None:
            raise KeyError(f"no user {request.path_params['user']}")
        sandbox.tenant.remove_mailbox(user)
        return {"user": user.id, "has_mailbox": False}

    async def respond(request: Request) -> Any:
        data = await body(request)
        app: SandboxApp = request.app
        reply = await app.respond_as(
            str(data["attendee"]),
            str(data["event"]),
            str(data.get("response", "decline")),
            comment=str(data.get("comment", "")),
            send_response=bool(data.get("sendResponse", True)),
        )
        return JSONResponse(
            {"status": reply.status, "body": reply.body}, status_code=200 if reply.status < 400 else 400
        )

    async def mailto(request: Request) -> Any:
        """A person clicks a ``mailto:`` link, types ``comment`` and sends: as Outlook would."""
        from worker.sandbox.mail import send_mailto

        data = await body(request)
        user = sandbox.tenant.find_user(request.path_params["user"])
        if user is None or sandbox.tenant.mailbox(user) is None:
            raise KeyError(f"no mailbox {request.path_params['user']}")
        sent = send_mailto(
            sandbox.tenant, user, str(data["url"]), now=sandbox.clock(), typed=str(data.get("comment", ""))
        )
        to = [r["emailAddress"]["address"] for r in sent["toRecipients"]]
        return {"subject": sent["subject"], "to": to}

    async def copies(request: Request) -> Any:
        event_id = request.path_params["event"]
        for box in sandbox.tenant.mailboxes.values():
            rec = box.events.get(event_id)
            if rec is not None and rec.is_organizer:
                return {sandbox.tenant.users[uid].address: cid for uid, cid in rec.copies.items()}
        raise KeyError(f"no organizer event {event_id}")

    return [
        Route("/_sandbox/info", ours(info), methods=["GET"]),
        Route("/_sandbox/counters", ours(counters), methods=["GET"]),
        Route("/_sandbox/counters/reset", ours(reset_counters), methods=["POST"]),
        Route("/_sandbox/faults", ours(get_faults), methods=["GET"]),
        Route("/_sandbox/faults", ours(set_faults), methods=["POST", "PATCH"]),
        Route("/_sandbox/clock", ours(get_clock), methods=["GET"]),
        Route("/_sandbox/clock", ours(set_clock), methods=["POST"]),
        Route("/_sandbox/certificates", ours(add_certificate), methods=["POST"]),
        Route("/_sandbox/users/{user}/mailbox", ours(drop_mailbox), methods=["DELETE"]),
        Route("/_sandbox/respond", ours(respond), methods=["POST"]),
        Route("/_sandbox/events/{event}/copies", ours(copies), methods=["GET"]),
        Route("/_sandbox/users/{user}/mailto", ours(mailto), methods=["POST"]),
    ]


__all__ = ["FaultConfig", "GraphError", "SandboxApp", "Tenant", "create_app"]
