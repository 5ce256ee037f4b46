"""One sandbox: its tenant, clock, tokens, limits, and the pipeline every Graph call goes through.

The order of the pipeline is the order Graph's front door imposes, as far as a client can tell:
authenticate (401), route (400/405), resolve the mailbox (404), RBAC scope (403), per-mailbox
concurrency and request-rate limits (429), injected transient faults (429/503/504), the handler
itself within the latency (in real time the latency counts from arrival, so the sandbox's own work is
inside it, as Graph's is; see ``Limits.around``), then "commit then fail" (the write happened, the
client sees 504). Each step is counted in ``Counters`` for tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from worker.sandbox import batch, calendar, directory, mail, organization, schedule
from worker.sandbox.auth import TokenService
from worker.sandbox.errors import (
    GraphError,
    access_denied,
    directory_not_found,
    graph_error_body,
    invalid_user,
    mailbox_concurrency,
    mailbox_not_enabled,
    service_unavailable,
    too_many_requests,
)
from worker.sandbox.faults import FaultConfig, Limits, Sleeper, format_retry_after
from worker.sandbox.router import JSON_CONTENT_TYPE, Ctx, GraphRequest, Reply, Router
from worker.sandbox.store import Tenant

Clock = Callable[[], datetime]


class SandboxClock:
    """The injectable clock, settable from the control surface: an offset from the base clock, or frozen."""

    def __init__(self, base: Clock | None = None) -> None:
        self._base = base or (lambda: datetime.now(UTC))
        self._offset = timedelta(0)
        self._frozen: datetime | None = None

    def __call__(self) -> datetime:
        now = self._frozen if self._frozen is not None else self._base() + self._offset
        return now.astimezone(UTC)

    def set(self, when: datetime, *, frozen: bool = False) -> None:
        if frozen:
            self._frozen = when.astimezone(UTC)
        else:
            self._frozen = None
            self._offset = when.astimezone(UTC) - self._base()

    def advance(self, seconds: float) -> None:
        if self._frozen is not None:
            self._frozen += timedelta(seconds=seconds)
        else:
            self._offset += timedelta(seconds=seconds)


QUERY_OPTIONS = {
    "$select",
    "$filter",
    "$top",
    "$skip",
    "$orderby",
    "$expand",
    "$count",
    "$search",
    "$format",
    "$skiptoken",
}


def check_query_options(query: dict[str, str]) -> None:
    """Graph refuses system query options it does not know rather than ignoring them."""
    for name in query:
        if name.startswith("$") and name.lower() not in QUERY_OPTIONS:
            raise GraphError(400, "BadRequest", f"Query option '{name}' is not allowed.")


def build_router() -> Router:
    router = Router()
    directory.register(router)
    schedule.register(router)
    calendar.register(router)
    mail.register(router)
    organization.register(router)
    return router


class Sandbox:
    """The stateful Graph tenant behind the ASGI app (and usable without it, in-process)."""

    def __init__(
        self,
        *,
        tenant: Tenant,
        clock: Clock | None = None,
        faults: FaultConfig | None = None,
        seed: int = 0,
        sleeper: Sleeper | None = None,
    ) -> None:
        self.tenant = tenant
        self.clock = SandboxClock(clock)
        self.faults = faults or FaultConfig()
        self.limits = Limits(self.faults, seed=seed, sleeper=sleeper)
        self.tokens = TokenService(tenant, lifetime_seconds=self.faults.token_lifetime_seconds)
        self.router = build_router()

    @property
    def counters(self):  # type: ignore[no-untyped-def]
        return self.limits.counters

    async def dispatch(self, req: GraphRequest) -> Reply:
        """Serve one Graph request (direct or from a batch) and render errors in Graph's shape."""
        now = self.clock()
        request_id = str(uuid.uuid4())
        client_request_id = req.headers.get("client-request-id")
        key = ["-"]  # the mailbox this request counts against; _serve fills it in, even if it then fails
        try:
            if req.method == "POST" and req.path.rstrip("/").lower() == "/$batch" and not req.in_batch:
                self.tokens.lifetime_seconds = self.faults.token_lifetime_seconds
                self.tokens.check(req.headers.get("authorization"), now=now)
                reply = await batch.run(self, req, now=now)
            else:
                reply = await self._serve(req, now, key)
        except GraphError as err:
            reply = Reply(
                err.status,
                err.body(now=now, request_id=request_id, client_request_id=client_request_id),
                dict(err.headers),
            )
        reply.headers.setdefault("request-id", request_id)
        reply.headers.setdefault("client-request-id", client_request_id or request_id)
        if reply.body is not None:
            reply.headers.setdefault("Content-Type", JSON_CONTENT_TYPE)
        if not req.control:
            self._count(now, key[0], req, reply)
        return reply

    def _count(self, now: datetime, mailbox_key: str, req: GraphRequest, reply: Reply) -> None:
        c = self.limits.counters
        c.status_counts[reply.status] += 1
        retry_after = reply.headers.get("Retry-After")
        c.log.append(
            (
                now,
                mailbox_key,
                req.method,
                req.path,
                reply.status,
                float(retry_after) if retry_after else None,
            )
        )
        if len(c.log) > 20_000:
            del c.log[:10_000]
        if reply.status == 429:
            c.throttled += 1
            c.throttled_at.append((now, mailbox_key, float(retry_after or 0)))

    async def _serve(self, req: GraphRequest, now: datetime, key: list[str]) -> Reply:
        arrived = self.limits.arrived(req.lane)
        self.tokens.check(req.headers.get("authorization"), now=now)
        route, params = self.router.match(req.method, req.path)
        check_query_options(req.query)
        ctx = Ctx(self, req, now)
        segment = params.get("user")
        if segment is None:
            if route.method == "GET" and not req.control:
                # A directory-wide read (GET /users?$filter=...): no mailbox limits, but the same
                # transient faults and latency as any other Graph read.
                fault = self.limits.transient_fault(
                    self.limits.arrival(req.method, req.path, req.query, req.body)
                )
                if fault == 429:
                    raise too_many_requests(self.limits.retry_after())
                if fault is not None:
                    raise service_unavailable(fault, self.limits.retry_after())
                return await self.limits.around(arrived, lambda: route.handler(ctx, **params), lane=req.lane)
            return await route.handler(ctx, **params)
        user = self.tenant.find_user(segment)
        mailbox_key = user.id if user else segment.lower()
        key[0] = mailbox_key
        if not req.control:
            self.limits.counters.requests[mailbox_key] += 1
        if user is None:
            raise directory_not_found(segment) if route.scope == "directory" else invalid_user(segment)
        ctx.user = user
        if route.scope == "mailbox":
            box = self.tenant.mailbox(user)
            if box is None:
                raise mailbox_not_enabled()
            ctx._mailbox = box
            if self.limits.denied(user.id, user.upn, user.mail or ""):
                raise access_denied()
        handler_params = {k: v for k, v in params.items() if k != "user"}
        if req.control:
            return await route.handler(ctx, **handler_params)
        if not self.limits.enter(mailbox_key):
            raise mailbox_concurrency(self.limits.retry_after())
        try:
            wait = self.limits.window_wait(mailbox_key, now)
            if wait is not None:
                raise too_many_requests(format_retry_after(wait, integer=self.faults.integer_retry_after))
            arrival = self.limits.arrival(req.method, req.path, req.query, req.body)
            fault = self.limits.transient_fault(arrival)
            if fault == 429:
                raise too_many_requests(self.limits.retry_after())
            if fault is not None:
                raise service_unavailable(fault, self.limits.retry_after())
            reply = await self.limits.around(
                arrived, lambda: route.handler(ctx, **handler_params), lane=req.lane
            )
            if route.write and reply.status < 400 and self.limits.commit_then_fail(arrival):
                body = graph_error_body(
                    "UnknownError", "The request timed out.", now=now, request_id=str(uuid.uuid4())
                )
                return Reply(504, body, {"Retry-After": self.limits.retry_after()})
            return reply
        finally:
            self.limits.leave(mailbox_key)
