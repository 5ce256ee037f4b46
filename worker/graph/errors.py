"""The gateway's own errors: the only exceptions that leave ``worker.graph``.

Every failure from the SDK (kiota's ``APIError`` / msgraph's ``ODataError``), from httpx or from MSAL is
translated here, in :func:`translate`, and chained with ``raise ... from`` so the cause stays visible in a
traceback while callers only ever catch our types::

    GraphError                      anything Graph (or the way to it) refused or could not do
    ├── AuthError                   configuration or identity problem (bad credentials, 401 after refresh);
    │                               the CLI maps it to exit code 2
    ├── Throttled(retry_after)      429: the request was not processed; wait ``retry_after`` seconds
    │   └── SendBudgetExhausted     our own sending budget is spent: try again next run
    ├── Transient(retry_after)      503/504 (and a batch's 424), connection reset, timeout: may succeed later
    ├── NotFound                    404: the user, event or message does not exist (any more)
    ├── Forbidden                   403: missing permission or an application access policy
    ├── Conflict                    409/412: the item changed under us
    ├── InvalidRequest              any other 4xx: our request was wrong; retrying will not help
    └── TeamsLinkMissing            Graph created the event but silently dropped its Teams link

Messages carry the HTTP method, the path without its query string, the status and Graph's error code and
message, passed through :func:`worker.log.scrub`: never a token, a secret or a query that could hold one.
"""

from __future__ import annotations

import email.utils
import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx

from worker.log import scrub


class GraphError(Exception):
    """Base of the family. ``status`` is the HTTP status when there was a response."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method and path else ""
        super().__init__(scrub(f"{where}{message}"))


class AuthError(GraphError):
    """The worker cannot prove who it is: missing/invalid configuration, or Graph keeps saying 401."""


class Throttled(GraphError):
    """429: Graph did not process the request. ``retry_after`` is in seconds (None when not given)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        self.retry_after = retry_after
        super().__init__(message, **kw)


class SendBudgetExhausted(Throttled):
    """The sending mailbox has used its per-minute budget; nothing was sent. Try again next run."""


class Transient(GraphError):
    """503/504 or a broken connection. ``maybe_processed`` is False only when the request provably never
    reached Graph (the connection could not be opened), which makes even a non-idempotent write safe to
    resend."""

    def __init__(
        self, message: str, *, retry_after: float | None = None, maybe_processed: bool = True, **kw: Any
    ) -> None:
        self.retry_after = retry_after
        self.maybe_processed = maybe_processed
        super().__init__(message, **kw)


class NotFound(GraphError):
    """404: the mailbox, event or message does not exist."""


class Forbidden(GraphError):
    """403: the app lacks a permission, or an access policy excludes this mailbox."""


class Conflict(GraphError):
    """409/412: the item changed under us (or already exists)."""


class InvalidRequest(GraphError):
    """Any other client error: our request was wrong, so retrying it cannot help."""


class TeamsLinkMissing(GraphError):
    """Graph answered 201 but without ``onlineMeeting.joinUrl``: Teams is not available for this organiser
    (licence, tenant policy, or a provider Graph silently replaced)."""


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header: delta-seconds, fractional (Graph sends ``2.128``), or
    an HTTP-date. None when absent or unreadable, so the caller falls back to backoff."""
    if value is None:
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - (now or datetime.now(UTC))).total_seconds()
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


def for_status(
    status: int,
    *,
    code: str | None,
    message: str,
    headers: Mapping[str, str] | None,
    method: str | None,
    path: str | None,
) -> GraphError:
    """The one table from HTTP status to our error type."""
    retry_after = parse_retry_after((headers or {}).get("retry-after"))
    text = f"{status} {code or ''}: {message}".replace(" :", ":")
    kw: dict[str, Any] = {"status": status, "code": code, "method": method, "path": path}
    if status == 429:
        return Throttled(text, retry_after=retry_after, **kw)
    if status in (500, 502, 503, 504):
        return Transient(text, retry_after=retry_after, **kw)
    if status == 424:
        # Failed Dependency is about a $batch, never the request itself: the throttling page says a
        # throttled batch "fails with a status code of 424" (NOTES §6), so it may succeed later.
        return Transient(text, retry_after=retry_after, **kw)
    if status == 401:
        return AuthError(text, **kw)
    if status == 403:
        return Forbidden(text, **kw)
    if status == 404:
        return NotFound(text, **kw)
    if status in (409, 412):
        return Conflict(text, **kw)
    if 400 <= status < 500:
        return InvalidRequest(text, **kw)
    return GraphError(text, **kw)


def translate(exc: BaseException, *, method: str | None = None, path: str | None = None) -> GraphError:
    """Turn any exception raised while talking to Graph into one of ours (the caller chains it)."""
    if isinstance(exc, GraphError):
        return exc
    # Imported here: kiota's APIError is the base of msgraph's ODataError; both carry the status and headers.
    from kiota_abstractions.api_error import APIError

    if isinstance(exc, APIError):
        status = int(getattr(exc, "response_status_code", 0) or 0)
        odata = getattr(exc, "error", None)
        code = getattr(odata, "code", None)
        message = getattr(odata, "message", None) or getattr(exc, "message", None) or type(exc).__name__
        headers = getattr(exc, "response_headers", None)
        header_map = {str(k).lower(): str(v) for k, v in dict(headers or {}).items()}
        if not status:
            return GraphError(str(message), method=method, path=path)
        return for_status(
            status, code=code, message=str(message), headers=header_map, method=method, path=path
        )
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout):
        # The request never left: resending anything is safe.
        return Transient(
            f"cannot reach Graph ({type(exc).__name__})", maybe_processed=False, method=method, path=path
        )
    if isinstance(exc, httpx.TransportError):
        # Read timeouts, resets mid-response: Graph may have acted on it.
        return Transient(f"connection to Graph failed ({type(exc).__name__})", method=method, path=path)
    return GraphError(f"unexpected {type(exc).__name__} talking to Graph", method=method, path=path)
