"""A canary secret and token go through every unhappy path; they must never show in a log line or in the
text of an exception the gateway raises."""

from __future__ import annotations

import io
import traceback
from collections.abc import Iterator

import httpx
import pytest
import structlog
from structlog.testing import capture_logs

from tests.graph.conftest import CANARY_SECRET, CANARY_TOKEN, GRAPH, TENANT, Wire, base_env, make_gateway
from worker import log
from worker.graph.auth import AuthSettings
from worker.graph.errors import GraphError

pytestmark = pytest.mark.anyio

SETTINGS_URL = f"{GRAPH}/users/a@contoso.com/mailboxSettings"


def leaks(text: str) -> bool:
    return CANARY_SECRET in text or CANARY_TOKEN in text


@pytest.fixture
def rendered() -> Iterator[io.StringIO]:
    """Logs rendered the way production renders them (JSON, redaction on), into a buffer."""
    stream = io.StringIO()
    log.configure(json=True, level="DEBUG", stream=stream)
    yield stream
    structlog.reset_defaults()


async def test_canaries_never_reach_logs_or_exception_text(wire: Wire, rendered: io.StringIO) -> None:
    gateway = make_gateway(wire)
    echo = {
        "error": {
            "code": "ErrorAccessDenied",
            "message": f"denied for token {CANARY_TOKEN} secret {CANARY_SECRET}",
        }
    }
    wire.router.get(SETTINGS_URL).mock(
        side_effect=[
            httpx.Response(
                429,
                headers={"Retry-After": "1"},
                json={"error": {"code": "TooManyRequests", "message": "later"}},
            ),
            httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}),
            httpx.Response(403, json=echo),
        ]
    )
    with capture_logs() as captured, pytest.raises(GraphError) as caught:
        await gateway.mailbox_zone("a@contoso.com")
    error = caught.value
    assert not leaks(str(error)) and not leaks(repr(error))
    assert "«redacted»" in str(error)
    assert not any(leaks(repr(event)) for event in captured)
    assert {e["event"] for e in captured} >= {"graph.retry", "graph.token_refresh"}

    logger = structlog.get_logger("test")
    try:
        raise error
    except GraphError:
        logger.exception("graph.failed", token=CANARY_TOKEN, detail=f"Bearer {CANARY_TOKEN}")
    logger.info("graph.settings", settings=repr(AuthSettings.from_env(base_env())))
    output = rendered.getvalue()
    assert "graph.failed" in output and "graph.settings" in output
    assert not leaks(output)


async def test_a_token_endpoint_failure_names_neither_secret_nor_token(wire: Wire) -> None:
    wire.router.post(f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token").mock(
        return_value=httpx.Response(
            400, json={"error": "invalid_client", "error_description": f"secret {CANARY_SECRET} is wrong"}
        )
    )
    gateway = make_gateway(wire)
    with capture_logs() as captured, pytest.raises(GraphError) as caught:
        await gateway.mailbox_zone("a@contoso.com")
    text = "".join(traceback.format_exception(caught.value))
    assert not leaks(text)
    assert not any(leaks(repr(event)) for event in captured)


def test_settings_never_print_their_secret() -> None:
    settings = AuthSettings.from_env(base_env())
    assert CANARY_SECRET not in repr(settings) and CANARY_SECRET not in str(settings)
