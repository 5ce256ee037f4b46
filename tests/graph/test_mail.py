"""Send-once email over the wire: the Message-ID scheme, MIME form, Sent Items lookup, sending budget."""

from __future__ import annotations

import base64
import email
import email.policy
from datetime import UTC, datetime
from urllib.parse import unquote

import httpx
import pytest

from tests.graph.conftest import GRAPH, Wire, make_gateway
from worker.core.types import MailSpec
from worker.graph.errors import SendBudgetExhausted
from worker.graph.mail import message_id
from worker.graph.ops import Gateway
from worker.graph.pacing import PacingLimits

pytestmark = pytest.mark.anyio

SENDER = "Mentoring@Contoso.com"
SENT = f"{GRAPH}/users/mentoring@contoso.com/mailFolders/sentitems/messages"
SEND = f"{GRAPH}/users/mentoring@contoso.com/sendMail"


def mail(key: str = "feedback:pair-1:3:mentee") -> MailSpec:
    return MailSpec(
        sender=SENDER,
        key=key,
        to=("ana@contoso.com",),
        cc=("lead@contoso.com",),
        subject="How was session 3? — Überblick",
        html="<p>Tell us &lt;here&gt;</p>",
        text="Tell us <here>",
    )


def test_message_id_is_deterministic_per_key_and_in_the_sender_domain() -> None:
    first = message_id("feedback:pair-1:3", "mentoring@contoso.com")
    assert first == message_id("feedback:pair-1:3", "mentoring@contoso.com")
    assert first != message_id("feedback:pair-1:4", "mentoring@contoso.com")
    assert first.startswith("<crossgen.") and first.endswith("@contoso.com>")
    assert len(first.split(".")[1].split("@")[0]) == 32


async def test_send_mail_once_sends_mime_with_our_message_id(wire: Wire, gateway: Gateway) -> None:
    lookup = wire.router.get(SENT).mock(return_value=httpx.Response(200, json={"value": []}))
    send = wire.router.post(SEND).mock(return_value=httpx.Response(202))

    assert await gateway.send_mail_once(mail()) is True

    request = send.calls.last.request
    assert request.headers["content-type"] == "text/plain"
    parsed = email.message_from_bytes(base64.b64decode(request.content), policy=email.policy.default)
    assert parsed["Message-ID"] == message_id(mail().key, "mentoring@contoso.com")
    assert parsed.get_content_type() == "multipart/alternative"
    parts = [p.get_content_type() for p in parsed.iter_parts()]
    assert parts == ["text/plain", "text/html"]
    assert parsed["Subject"] == "How was session 3? — Überblick"
    assert parsed["Cc"] == "lead@contoso.com"
    html = parsed.get_body(("html",))
    assert html is not None and "&lt;here&gt;" in html.get_content()
    query = unquote(lookup.calls.last.request.url.query.decode())
    assert f"internetMessageId eq '{message_id(mail().key, 'mentoring@contoso.com')}'" in query


async def test_send_mail_once_does_not_resend_what_sent_items_already_holds(
    wire: Wire, gateway: Gateway
) -> None:
    wire.router.get(SENT).mock(return_value=httpx.Response(200, json={"value": [{"id": "m1"}]}))
    send = wire.router.post(SEND).mock(return_value=httpx.Response(202))
    assert await gateway.send_mail_once(mail()) is False
    assert not send.called


async def test_an_unknown_outcome_is_checked_in_sent_items_before_any_resend(
    wire: Wire, gateway: Gateway
) -> None:
    answers = iter([{"value": []}, {"value": [{"id": "m1"}]}])
    wire.router.get(SENT).mock(side_effect=lambda _: httpx.Response(200, json=next(answers)))
    send = wire.router.post(SEND).mock(return_value=httpx.Response(504))
    assert await gateway.send_mail_once(mail()) is True
    assert send.call_count == 1, "the 504'd message had gone out: no second send"


async def test_throttled_send_is_retried_because_429_means_not_processed(
    wire: Wire, gateway: Gateway
) -> None:
    wire.router.get(SENT).mock(return_value=httpx.Response(200, json={"value": []}))
    send = wire.router.post(SEND).mock(
        side_effect=[httpx.Response(429, headers={"Retry-After": "3"}), httpx.Response(202)]
    )
    assert await gateway.send_mail_once(mail()) is True
    assert send.call_count == 2 and wire.sleep.waits == [3.0]


async def test_an_empty_sending_budget_says_so_at_once_without_sending(wire: Wire) -> None:
    gateway = make_gateway(wire, limits=PacingLimits(messages=2, message_period=60.0))
    wire.router.get(SENT).mock(return_value=httpx.Response(200, json={"value": []}))
    send = wire.router.post(SEND).mock(return_value=httpx.Response(202))
    assert await gateway.send_mail_once(mail("a")) and await gateway.send_mail_once(mail("b"))
    with pytest.raises(SendBudgetExhausted) as caught:
        await gateway.send_mail_once(mail("c"))
    assert send.call_count == 2
    assert caught.value.retry_after == pytest.approx(30.0)
    assert wire.sleep.waits == []
    wire.clock.now += 30.0
    assert await gateway.send_mail_once(mail("c")) is True
    assert gateway.requests_made["mentoring@contoso.com"] == 7  # 4 lookups + 3 sends


def test_mime_dates_and_headers_are_well_formed() -> None:
    from worker.graph.mail import build_mime

    raw = build_mime(mail(), now=datetime(2026, 1, 5, 9, tzinfo=UTC))
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert parsed["From"] == SENDER and parsed["To"] == "ana@contoso.com"
    assert parsed["Date"] == "Mon, 05 Jan 2026 09:00:00 +0000"
    assert parsed["MIME-Version"] == "1.0"
