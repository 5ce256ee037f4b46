"""The request seam shared by direct calls and ``$batch`` items: plain values in, plain values out.

Starlette only adapts HTTP to ``GraphRequest`` and ``Reply`` back (``app.py``); ``$batch`` builds the
same ``GraphRequest`` for each item (``batch.py``). So every item goes through the same routing, auth,
limits and faults as a direct call, as Graph documents. Handlers get a ``Ctx`` (the request, the
target user, the clock reading, the sandbox) and return a ``Reply`` or raise ``GraphError``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from worker.sandbox import timeutil
from worker.sandbox.errors import GraphError, bad_request
from worker.sandbox.store import Mailbox, User

if TYPE_CHECKING:
    from worker.sandbox.faults import Lane
    from worker.sandbox.service import Sandbox

JSON_CONTENT_TYPE = (
    "application/json; odata.metadata=minimal; odata.streaming=true; IEEE754Compatible=false; charset=utf-8"
)


@dataclass
class GraphRequest:
    method: str
    path: str  # below /v1.0, starting with "/"
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes = b""
    base_url: str = "https://graph.microsoft.com/v1.0"
    in_batch: bool = False
    control: bool = False  # issued by the control surface (acting as a participant): no limits, no faults
    raw_query: str | None = None  # the query string as sent (still percent-encoded), for Graph's URL limits
    lane: Lane | None = None  # a batch item's place among those Graph runs at once (``faults.Lane``)


@dataclass
class Reply:
    status: int
    body: Any = None  # JSON-able, or None for no body
    headers: dict[str, str] = field(default_factory=dict)


Scope = Literal["mailbox", "directory", "tenant"]
Handler = Callable[..., Awaitable[Reply]]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: Handler
    scope: Scope
    write: bool


class Ctx:
    """Everything a handler may look at for one request."""

    def __init__(self, sandbox: Sandbox, req: GraphRequest, now: datetime) -> None:
        self.sandbox = sandbox
        self.req = req
        self.now = now
        self.user: User | None = None
        self._mailbox: Mailbox | None = None
        self._json: Any = None
        self._parsed = False

    @property
    def tenant(self) -> Any:
        return self.sandbox.tenant

    @property
    def mailbox(self) -> Mailbox:
        assert self._mailbox is not None, "route is not mailbox-scoped"
        return self._mailbox

    @property
    def prefer_zone(self) -> str | None:
        return timeutil.prefer_zone(self.req.headers.get("prefer"))

    def json(self) -> dict[str, Any]:
        """The request body as a JSON object, or Graph's 400 for anything else."""
        if not self._parsed:
            self._parsed = True
            try:
                self._json = json.loads(self.req.body or b"{}")
            except (ValueError, UnicodeDecodeError) as exc:
                raise bad_request(
                    "Unable to read JSON request payload. Please ensure Content-Type header is set and "
                    "payload is of valid JSON format."
                ) from exc
        if not isinstance(self._json, dict):
            raise bad_request("Unable to read JSON request payload: an object was expected.")
        return self._json

    def context_url(self, fragment: str) -> str:
        return f"{self.req.base_url}/$metadata#{fragment}"


class Router:
    """An ordered route table over Graph paths (regexes with named groups)."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(
        self, method: str, path: str, handler: Handler, *, scope: Scope = "mailbox", write: bool | None = None
    ) -> None:
        pieces = re.split(r"\{(\w+)\}", path)  # literal, name, literal, name, ...
        regex = (
            "^"
            + "".join(f"(?P<{piece}>[^/]+)" if i % 2 else re.escape(piece) for i, piece in enumerate(pieces))
            + "/?$"
        )
        self.routes.append(
            Route(
                method, re.compile(regex, re.I), handler, scope, method != "GET" if write is None else write
            )
        )

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        # OData key syntax, users('x') or mailFolders('SentItems'), is the same resource as users/x.
        path = re.sub(r"(\w+)\('([^']*)'\)", r"\1/\2", path)
        allowed = False
        for route in self.routes:
            found = route.pattern.match(path)
            if found:
                if route.method == method:
                    return route, found.groupdict()
                allowed = True
        if allowed:
            raise GraphError(
                405, "Request_BadRequest", f"The HTTP method '{method}' is not supported for this resource."
            )
        last = [s for s in path.split("/") if s]
        raise GraphError(
            400, "BadRequest", f"Resource not found for the segment '{last[-1] if last else ''}'."
        )
