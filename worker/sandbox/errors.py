"""The sandbox's own error types, and the exact bodies Graph and the identity platform answer with.

Two families, because Microsoft has two error shapes:

- ``GraphError``: anything under ``/v1.0``. Rendered as Graph's OData error
  ``{"error": {"code", "message", "innerError": {"date", "request-id", "client-request-id"}}}``
  (see ../shared/graph/examples/*error*.json). Handlers raise it; the dispatcher renders it.
- ``IdentityError``: the token endpoint. Rendered as the Microsoft identity platform's
  ``{"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}``
  (what MSAL hands back to its caller as a dict).

Codes and messages are the documented ones where the docs or real captures give them; the few we had
to choose are marked ``[unverified]`` beside their factory.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any


class SandboxError(Exception):
    """Base of every error the sandbox raises on purpose."""


class GraphError(SandboxError):
    """A Graph-shaped failure: HTTP status, Graph error code, human message, optional extra headers."""

    def __init__(
        self, status: int, code: str, message: str, *, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def body(self, *, now: datetime, request_id: str, client_request_id: str | None = None) -> dict[str, Any]:
        return graph_error_body(
            self.code, self.message, now=now, request_id=request_id, client_request_id=client_request_id
        )


def graph_error_body(
    code: str, message: str, *, now: datetime, request_id: str, client_request_id: str | None = None
) -> dict[str, Any]:
    inner: dict[str, Any] = {"date": now.strftime("%Y-%m-%dT%H:%M:%S"), "request-id": request_id}
    inner["client-request-id"] = client_request_id or request_id
    return {"error": {"code": code, "message": message, "innerError": inner}}


class IdentityError(SandboxError):
    """An identity-platform failure at the token endpoint (``AADSTS`` codes)."""

    def __init__(self, status: int, error: str, aadsts: int, description: str) -> None:
        super().__init__(f"{error}: AADSTS{aadsts}")
        self.status = status
        self.error = error
        self.aadsts = aadsts
        self.description = description

    def body(self, *, now: datetime) -> dict[str, Any]:
        trace_id, correlation_id = str(uuid.uuid4()), str(uuid.uuid4())
        stamp = now.strftime("%Y-%m-%d %H:%M:%SZ")
        return {
            "error": self.error,
            "error_description": (
                f"AADSTS{self.aadsts}: {self.description} Trace ID: {trace_id} "
                f"Correlation ID: {correlation_id} Timestamp: {stamp}"
            ),
            "error_codes": [self.aadsts],
            "timestamp": stamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": f"https://login.microsoftonline.com/error?code={self.aadsts}",
        }


# --- Graph errors used in more than one place -------------------------------------------------------


def item_not_found() -> GraphError:
    return GraphError(404, "ErrorItemNotFound", "The specified object was not found in the store.")


def invalid_user(segment: str) -> GraphError:
    return GraphError(404, "ErrorInvalidUser", f"The requested user '{segment}' is invalid.")


def directory_not_found(segment: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{segment}' does not exist or one of its queried reference-property objects "
        "are not present.",
    )


def mailbox_not_enabled() -> GraphError:
    return GraphError(
        404,
        "MailboxNotEnabledForRESTAPI",
        "The mailbox is either inactive, soft-deleted, or is hosted on-premise.",
    )


def access_denied() -> GraphError:
    # examples/application_access_policy_denied_error.json
    return GraphError(403, "ErrorAccessDenied", "Access to OData is disabled.")


def invalid_request(message: str) -> GraphError:
    return GraphError(400, "ErrorInvalidRequest", message)


def bad_request(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def request_body_read(message: str) -> GraphError:
    return GraphError(400, "RequestBodyRead", message)


def segment_not_found(segment: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Resource not found for the segment '{segment}'.")


def missing_time_window() -> GraphError:
    # The service's answer to calendarView/instances without the two query parameters.
    return GraphError(
        400,
        "ErrorInvalidParameter",
        "This request requires a time window specified by the query string parameters "
        "StartDateTime and EndDateTime.",
    )


def too_many_requests(retry_after: str, message: str = "Please retry again later.") -> GraphError:
    # examples/throttling_429_response.json
    return GraphError(429, "TooManyRequests", message, headers={"Retry-After": retry_after})


def mailbox_concurrency(retry_after: str) -> GraphError:
    # examples/mailbox_concurrency_429_response.json
    return GraphError(
        429,
        "ApplicationThrottled",
        "Application is over its MailboxConcurrency limit.",
        headers={"Retry-After": retry_after},
    )


def service_unavailable(status: int, retry_after: str) -> GraphError:
    if status == 504:
        return GraphError(504, "UnknownError", "The request timed out.", headers={"Retry-After": retry_after})
    return GraphError(
        503,
        "ServiceUnavailable",
        "The service is temporarily unavailable.",
        headers={"Retry-After": retry_after},
    )


def unauthenticated(message: str) -> GraphError:
    return GraphError(
        401,
        "InvalidAuthenticationToken",
        message,
        headers={
            "WWW-Authenticate": (
                'Bearer realm="", '
                'authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", '
                'client_id="00000003-0000-0000-c000-000000000000"'
            )
        },
    )
