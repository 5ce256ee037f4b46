"""The one retry layer between the operations and Graph (kiota's RetryHandler is off; see ``client``).

Policy, as small tenacity values:
- only transient failures are retried: 429 (:class:`Throttled`) and 503/504/connection failures
  (:class:`Transient`); everything else is an answer, raised at once;
- ``Retry-After`` is honoured as given (fractional seconds or an HTTP-date, parsed in ``errors``), otherwise
  exponential backoff with full jitter;
- bounded by attempts *and* by the total virtual delay, so one throttled mailbox cannot stall a run: when the
  next wait would pass ``max_total_delay`` the last error is raised and the run leaves the work for later;
- every retry is one structured log event (``graph.retry``: method, path without query, status, attempt,
  wait), and the sleep is injected, so tests never wait and can read the waits back.

Writes that are not idempotent need care, because a 503/504 or a reset can arrive *after* Graph acted:
- :attr:`Safety.IDEMPOTENT` (GET, PATCH, DELETE, getSchedule, cancel): retried on every transient error;
- :attr:`Safety.UNPROCESSED` (a POST with no way to check it): retried only when Graph certainly did not
  act: 429 ("not processed") or a connection that never opened;
- :attr:`Safety.CHECKED` (event create with transactionId, sendMail with a Message-ID): also retried after
  503/504/resets, but only after the ``already_done`` lookup (our extended property on the organiser's
  events; the Message-ID in Sent Items) says the first try left nothing behind. If it did, the lookup's
  result is returned instead of writing twice.

A 401 is not transient but is retried once, immediately, after dropping the cached token: tokens can be
revoked or rotated before MSAL thinks they expire.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

import structlog
import tenacity
from tenacity import RetryCallState

from worker.graph.errors import AuthError, Throttled, Transient, translate

log = structlog.get_logger(__name__)

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]


class Safety(enum.Enum):
    IDEMPOTENT = "idempotent"
    UNPROCESSED = "unprocessed-only"
    CHECKED = "checked"


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 6
    max_total_delay: float = 120.0  # virtual seconds slept across one call's retries
    backoff_initial: float = 1.0
    backoff_max: float = 30.0


def retryable(error: BaseException, safety: Safety) -> bool:
    """Whether ``error`` may be retried for a request of this ``safety``."""
    if isinstance(error, Throttled):
        return True
    if isinstance(error, Transient):
        return safety is not Safety.UNPROCESSED or not error.maybe_processed
    return False


class _StopWhenTooLong(tenacity.stop.stop_base):
    """Stop before a sleep that would take the total slept time past the bound."""

    def __init__(self, max_total_delay: float) -> None:
        self.max_total_delay = max_total_delay

    def __call__(self, retry_state: RetryCallState) -> bool:
        return retry_state.idle_for + retry_state.upcoming_sleep > self.max_total_delay


class _WaitRetryAfter(tenacity.wait.wait_base):
    """Graph's Retry-After when it gave one; exponential backoff with jitter otherwise."""

    def __init__(self, policy: RetryPolicy) -> None:
        self._fallback = tenacity.wait_random_exponential(
            multiplier=policy.backoff_initial, max=policy.backoff_max
        )

    def __call__(self, retry_state: RetryCallState) -> float:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        retry_after = getattr(error, "retry_after", None)
        if retry_after is not None:
            return float(retry_after)
        return float(self._fallback(retry_state))


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    method: str,
    path: str,
    safety: Safety = Safety.IDEMPOTENT,
    policy: RetryPolicy | None = None,
    sleep: Sleep = asyncio.sleep,
    on_unauthorized: Callable[[], None] | None = None,
    already_done: Callable[[], Awaitable[T | None]] | None = None,
) -> T:
    """Run ``attempt`` (one HTTP request through the SDK) under the policy; raise only ``GraphError``.

    ``path`` is for logs and errors and must not carry a query string.
    """
    policy = policy or RetryPolicy()
    state: dict[str, Any] = {"refreshed": False, "last": None}

    async def checked_attempt() -> T:
        last = state["last"]
        if already_done is not None and isinstance(last, Transient) and last.maybe_processed:
            found = await already_done()
            if found is not None:
                log.info("graph.retry_found_done", method=method, path=path)
                return found
        return await attempt()

    async def once() -> T:
        # Exception, not BaseException: cancellation and interrupts pass through untranslated.
        try:
            return await checked_attempt()
        except Exception as exc:
            error = translate(exc, method=method, path=path)
            if (
                isinstance(error, AuthError)
                and error.status == 401
                and not state["refreshed"]
                and on_unauthorized
            ):
                state["refreshed"] = True
                log.info("graph.token_refresh", method=method, path=path)
                on_unauthorized()
                try:
                    return await attempt()
                except Exception as again:
                    error = translate(again, method=method, path=path)
                    state["last"] = error
                    if error is again:
                        raise
                    raise error from again
            state["last"] = error
            if error is exc:
                raise
            raise error from exc

    def before_sleep(retry_state: RetryCallState) -> None:
        error = retry_state.outcome.exception() if retry_state.outcome else None
        log.warning(
            "graph.retry",
            method=method,
            path=path,
            status=getattr(error, "status", None),
            error=type(error).__name__,
            attempt=retry_state.attempt_number,
            wait=round(retry_state.upcoming_sleep, 3),
        )

    retrying = tenacity.AsyncRetrying(
        stop=tenacity.stop_after_attempt(policy.max_attempts) | _StopWhenTooLong(policy.max_total_delay),
        wait=_WaitRetryAfter(policy),
        retry=tenacity.retry_if_exception(lambda e: retryable(e, safety)),
        before_sleep=before_sleep,
        sleep=sleep,
        reraise=True,
    )
    return await retrying(once)
