"""The one retry layer, over the wire: what is retried, how long it waits, and what never leaks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
from structlog.testing import capture_logs

from tests.graph.conftest import GRAPH, TENANT, Wire, body_of, fixture, make_gateway
from tests.graph.test_series import ORG, created_response, spec
from worker.graph.errors import (
    Forbidden,
    GraphError,
    InvalidRequest,
    NotFound,
    Throttled,
    Transient,
    parse_retry_after,
)
from worker.graph.mapping import property_id
from worker.graph.ops import Gateway
from worker.graph.retry import RetryPolicy, Safety, retryable

pytestmark = pytest.mark.anyio

SETTINGS_URL = f"{GRAPH}/users/a@contoso.com/mailboxSettings"
OK = httpx.Response(200, json={"timeZone": "UTC"})


def throttled(retry_after: str | None) -> httpx.Response:
    headers = {"Retry-After": retry_after} if retry_after is not None else {}
    return httpx.Response(429, headers=headers, json=fixture("throttling_429_response.json"))


async def test_429_waits_the_fractional_retry_after_and_logs_one_event(wire: Wire, gateway: Gateway) -> None:
    route = wire.router.get(SETTINGS_URL).mock(side_effect=[throttled("2.128"), OK])
    with capture_logs() as logs:
        await gateway.mailbox_zone("a@contoso.com")
    assert route.call_count == 2
    assert wire.sleep.waits == [2.128]
    retries = [e for e in logs if e["event"] == "graph.retry"]
    assert retries == [
        {
            "event": "graph.retry",
            "log_level": "warning",
            "method": "GET",
            "path": "/users/a@contoso.com/mailboxSettings",
            "status": 429,
            "error": "Throttled",
            "attempt": 1,
            "wait": 2.128,
        }
    ]


def test_retry_after_reads_seconds_fractions_and_http_dates() -> None:
    now = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
    assert parse_retry_after("10") == 10.0
    assert parse_retry_after("2.128") == 2.128
    assert parse_retry_after(format_datetime(now + timedelta(seconds=7), usegmt=True), now=now) == 7.0
    assert parse_retry_after(format_datetime(now - timedelta(seconds=7), usegmt=True), now=now) == 0.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None


async def test_503_without_retry_after_backs_off_exponentially_with_jitter(wire: Wire) -> None:
    gateway = make_gateway(wire, policy=RetryPolicy(max_attempts=5, backoff_initial=1.0, backoff_max=30.0))
    unavailable = httpx.Response(503, json={"error": {"code": "ServiceUnavailable", "message": "busy"}})
    wire.router.get(SETTINGS_URL).mock(side_effect=[unavailable, unavailable, unavailable, OK])
    await gateway.mailbox_zone("a@contoso.com")
    assert len(wire.sleep.waits) == 3
    for attempt, wait in enumerate(wire.sleep.waits, start=1):
        assert 0.0 <= wait <= 2.0**attempt


async def test_retries_stop_after_the_attempt_bound_with_our_error(wire: Wire) -> None:
    gateway = make_gateway(wire, policy=RetryPolicy(max_attempts=3))
    route = wire.router.get(SETTINGS_URL).mock(
        return_value=httpx.Response(504, json={"error": {"code": "GatewayTimeout", "message": "slow"}})
    )
    with pytest.raises(Transient) as caught:
        await gateway.mailbox_zone("a@contoso.com")
    assert route.call_count == 3 and len(wire.sleep.waits) == 2
    assert caught.value.status == 504


async def test_a_retry_after_beyond_the_delay_budget_is_raised_at_once(wire: Wire) -> None:
    gateway = make_gateway(wire, policy=RetryPolicy(max_total_delay=60.0))
    route = wire.router.get(SETTINGS_URL).mock(return_value=throttled("300"))
    with pytest.raises(Throttled) as caught:
        await gateway.mailbox_zone("a@contoso.com")
    assert route.call_count == 1 and wire.sleep.waits == []
    assert caught.value.retry_after == 300.0


@pytest.mark.parametrize(
    ("status", "error"),
    [(400, InvalidRequest), (403, Forbidden), (404, NotFound)],
)
async def test_answers_that_are_not_transient_are_never_retried(
    wire: Wire, gateway: Gateway, status: int, error: type[GraphError]
) -> None:
    body = (
        fixture("application_access_policy_denied_error.json")
        if status == 403
        else {
            "error": {
                "code": "ErrorItemNotFound",
                "message": "The specified object was not found in the store.",
            }
        }
    )
    route = wire.router.get(SETTINGS_URL).mock(return_value=httpx.Response(status, json=body))
    with pytest.raises(error):
        await gateway.mailbox_zone("a@contoso.com")
    assert route.call_count == 1 and wire.sleep.waits == []


async def test_connection_failures_are_retried_and_never_leak_httpx_errors(
    wire: Wire, gateway: Gateway
) -> None:
    route = wire.router.get(SETTINGS_URL).mock(
        side_effect=[httpx.ConnectError("refused"), httpx.ReadTimeout("slow"), OK]
    )
    await gateway.mailbox_zone("a@contoso.com")
    assert route.call_count == 3

    wire.router.get(f"{GRAPH}/users/b@contoso.com/mailboxSettings").mock(
        side_effect=httpx.ReadTimeout("slow")
    )
    with pytest.raises(Transient) as caught:
        await gateway.mailbox_zone("b@contoso.com")
    assert not isinstance(caught.value, httpx.HTTPError)
    assert isinstance(caught.value.__cause__, httpx.ReadTimeout)


async def test_sdk_errors_become_ours_chained_from_the_sdk_error(wire: Wire, gateway: Gateway) -> None:
    wire.router.get(SETTINGS_URL).mock(
        return_value=httpx.Response(404, json={"error": {"code": "ErrorItemNotFound", "message": "gone"}})
    )
    with pytest.raises(NotFound) as caught:
        await gateway.mailbox_zone("a@contoso.com")
    from kiota_abstractions.api_error import APIError

    assert isinstance(caught.value.__cause__, APIError)
    assert caught.value.code == "ErrorItemNotFound" and "gone" in str(caught.value)


async def test_create_after_a_504_looks_up_the_series_instead_of_posting_twice(
    wire: Wire, gateway: Gateway
) -> None:
    master = created_response()
    master["singleValueExtendedProperties"] = [{"id": property_id("key"), "value": "pair-o'brien"}]
    post = wire.router.post(f"{GRAPH}/users/{ORG}/events").mock(
        return_value=httpx.Response(504, json={"error": {"code": "GatewayTimeout", "message": "late"}})
    )
    lookup = wire.router.get(f"{GRAPH}/users/{ORG}/events").mock(
        return_value=httpx.Response(200, json={"value": [master]})
    )
    info = await gateway.create_series(spec())
    assert post.call_count == 1 and lookup.call_count == 1
    assert info.id == master["id"]


async def test_create_after_a_504_resends_with_the_same_transaction_id_when_nothing_was_made(
    wire: Wire, gateway: Gateway
) -> None:
    post = wire.router.post(f"{GRAPH}/users/{ORG}/events").mock(
        side_effect=[
            httpx.Response(504, json={"error": {"code": "GatewayTimeout", "message": "late"}}),
            httpx.Response(201, json=created_response()),
        ]
    )
    wire.router.get(f"{GRAPH}/users/{ORG}/events").mock(return_value=httpx.Response(200, json={"value": []}))
    await gateway.create_series(spec())
    ids = {body_of(call.request)["transactionId"] for call in post.calls}
    assert post.call_count == 2 and ids == {"5e0b6f3e-2d7b-5a53-9a0c-3f1f4e5d6c7b"}


async def test_throttled_create_is_resent_without_a_lookup(wire: Wire, gateway: Gateway) -> None:
    post = wire.router.post(f"{GRAPH}/users/{ORG}/events").mock(
        side_effect=[throttled("1"), httpx.Response(201, json=created_response())]
    )
    lookup = wire.router.get(f"{GRAPH}/users/{ORG}/events").mock(
        return_value=httpx.Response(200, json={"value": []})
    )
    await gateway.create_series(spec())
    assert post.call_count == 2 and not lookup.called and wire.sleep.waits == [1.0]


async def test_kiota_retry_handler_is_not_in_the_pipeline(wire: Wire, gateway: Gateway) -> None:
    """One retry layer: a 503 is sent once per attempt of ours, never multiplied by kiota's handler."""
    gateway = make_gateway(wire, policy=RetryPolicy(max_attempts=1))
    route = wire.router.get(SETTINGS_URL).mock(
        return_value=httpx.Response(503, json={"error": {"code": "ServiceUnavailable", "message": "x"}})
    )
    with pytest.raises(Transient):
        await gateway.mailbox_zone("a@contoso.com")
    assert route.call_count == 1
    assert "Retry-Attempt" not in route.calls.last.request.headers


@pytest.mark.parametrize(
    ("error", "safety", "expected"),
    [
        (Throttled("429"), Safety.UNPROCESSED, True),  # 429: Graph did not process it
        (Transient("504"), Safety.UNPROCESSED, False),  # may have been sent: not without a check
        (Transient("refused", maybe_processed=False), Safety.UNPROCESSED, True),  # never left
        (Transient("504"), Safety.CHECKED, True),  # retried after the lookup
        (Transient("504"), Safety.IDEMPOTENT, True),
        (InvalidRequest("400"), Safety.IDEMPOTENT, False),
        (NotFound("404"), Safety.IDEMPOTENT, False),
    ],
)
def test_which_errors_are_retried_for_which_writes(error: GraphError, safety: Safety, expected: bool) -> None:
    assert retryable(error, safety) is expected


async def test_an_identity_platform_outage_is_transient_and_retried(wire: Wire, gateway: Gateway) -> None:
    token_url = f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token"
    ok = {"token_type": "Bearer", "expires_in": 3599, "access_token": "eyJx.y.z"}
    token = wire.router.post(token_url).mock(
        side_effect=[httpx.ConnectError("down"), httpx.Response(200, json=ok)]
    )
    route = wire.router.get(SETTINGS_URL).mock(return_value=OK)
    await gateway.mailbox_zone("a@contoso.com")
    assert token.call_count == 2 and route.call_count == 1
    assert len(wire.sleep.waits) == 1


async def test_a_body_that_is_not_json_is_an_invalid_request(wire: Wire, gateway: Gateway) -> None:
    wire.router.get(f"{GRAPH}/users/{ORG}/events").mock(
        return_value=httpx.Response(
            200, content=b"<html>gateway</html>", headers={"Content-Type": "text/html"}
        )
    )
    with pytest.raises(InvalidRequest):
        await gateway.list_series(ORG)


def test_importing_the_package_and_its_errors_loads_no_sdk() -> None:
    """``crossgen --help`` and ``validate`` must not pay for msgraph: the package and errors stay light."""
    import subprocess
    import sys

    code = (
        "import sys, worker.graph, worker.graph.errors\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in ('msgraph', 'msal', 'kiota_http')]\n"
        "print(len(heavy))"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "0"


async def test_a_cancel_that_answered_504_but_happened_is_not_sent_again(
    wire: Wire, gateway: Gateway
) -> None:
    cancel = wire.router.post(f"{GRAPH}/users/{ORG}/events/occ-9/cancel").mock(
        return_value=httpx.Response(504, json={"error": {"code": "GatewayTimeout", "message": "late"}})
    )
    wire.router.get(url__regex=r".*/users/[^/]+/events/occ-9(\?.*)?$").mock(
        return_value=httpx.Response(200, json={"id": "occ-9", "isCancelled": True})
    )
    await gateway.cancel(ORG, "occ-9", "Team offsite")
    assert cancel.call_count == 1


async def test_ending_an_event_that_is_not_a_series_is_an_invalid_request(
    wire: Wire, gateway: Gateway
) -> None:
    wire.router.get(url__regex=r".*/users/[^/]+/events/single(\?.*)?$").mock(
        return_value=httpx.Response(200, json={"id": "single", "recurrence": None})
    )
    with pytest.raises(InvalidRequest, match="not a recurring series"):
        await gateway.end_series(ORG, "single", datetime(2026, 5, 1).date())
