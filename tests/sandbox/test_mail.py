"""sendMail in both documented forms, Sent Items and Inbox, internetMessageId lookups, the sending rate."""

from __future__ import annotations

import base64
from email.message import EmailMessage

from tests.sandbox.sandbox_client import Graph, example, shape_mismatches, with_graph

ORG = "mentoring@contoso.com"


def _mime(message_id: str, *, to: str = "lea@contoso.com") -> bytes:
    msg = EmailMessage()
    msg["From"] = ORG
    msg["To"] = to
    msg["Subject"] = "How was your session?"
    msg["Message-ID"] = message_id
    msg["X-Crossgen-Pair"] = "pair-1"
    msg.set_content("Plain text")
    msg.add_alternative("<p>Tell us <b>how it went</b></p>", subtype="html")
    return base64.b64encode(msg.as_bytes())


async def _people(graph: Graph) -> None:
    for handle in ("mentoring", "lea", "fannyd", "danas"):
        await graph.add_user(handle)


def test_json_send_lands_in_inboxes_and_respects_save_to_sent_items() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph)
        documented = example("sendmail_request.json")  # saveToSentItems: "false" as a string
        for r in documented["message"]["toRecipients"] + documented["message"]["ccRecipients"]:
            r["emailAddress"]["address"] = r["emailAddress"]["address"].replace(
                "contoso.onmicrosoft.com", "contoso.com"
            )
        sent = await graph.post(f"/users/{ORG}/sendMail", documented)
        assert sent.status_code == 202 and sent.content == b""
        assert (await graph.get(f"/users/{ORG}/mailFolders/sentitems/messages")).json()["value"] == []
        inbox = (await graph.get("/users/fannyd@contoso.com/messages")).json()["value"]
        assert [m["subject"] for m in inbox] == ["Meet for lunch?"] and inbox[0]["isRead"] is False
        assert (await graph.get("/users/danas@contoso.com/mailFolders/inbox/messages")).json()["value"][0][
            "subject"
        ]
        saved = await graph.post(
            f"/users/{ORG}/sendMail", {"Message": documented["message"]}
        )  # SDK's PascalCase
        assert saved.status_code == 202
        sent_items = (await graph.get(f"/users/{ORG}/mailFolders('SentItems')/messages")).json()["value"]
        assert len(sent_items) == 1

    with_graph(scenario)


def test_mime_send_keeps_its_message_id_for_lookups() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph)
        mid = "<feedback.pair-1.s3@crossgen.contoso.com>"
        sent = await graph.post(
            f"/users/{ORG}/sendMail", content=_mime(mid), headers={"Content-Type": "text/plain"}
        )
        assert sent.status_code == 202, sent.text
        quoted = mid.replace("'", "''")
        for path in (
            f"/users/{ORG}/mailFolders/sentitems/messages",
            f"/users/{ORG}/mailFolders('SentItems')/messages",
        ):
            found = await graph.get(
                path,
                params={
                    "$filter": f"internetMessageId eq '{quoted}'",
                    "$select": "subject,internetMessageId",
                    "$top": "1",
                },
            )
            assert found.status_code == 200
            assert [m["internetMessageId"] for m in found.json()["value"]] == [mid]
            assert set(found.json()["value"][0]) == {"@odata.etag", "id", "subject", "internetMessageId"}
        inbox = (await graph.get("/users/lea@contoso.com/mailFolders/inbox/messages")).json()["value"]
        assert inbox[0]["internetMessageId"] == mid and "how it went" in inbox[0]["body"]["content"]
        assert inbox[0]["body"]["contentType"] == "html"
        none = await graph.get(
            f"/users/{ORG}/mailFolders/sentitems/messages",
            params={"$filter": "internetMessageId eq '<other@x>'"},
        )
        assert none.json()["value"] == []

    with_graph(scenario)


def test_malformed_base64_is_the_documented_400() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph)
        response = await graph.post(
            f"/users/{ORG}/sendMail", content=b"not base64 at all!", headers={"Content-Type": "text/plain"}
        )
        assert response.status_code == 400
        assert shape_mismatches(example("sendmail_mime_error_response.json"), response.json()) == []
        assert response.json()["error"]["code"] == "ErrorMimeContentInvalidBase64String"

    with_graph(scenario)


def test_documented_variants_with_headers_and_attachment_are_accepted() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph)
        for name in ("sendmail_with_headers_request.json", "sendmail_with_attachment_request.json"):
            response = await graph.post(f"/users/{ORG}/sendMail", example(name))
            assert response.status_code == 202, (name, response.text)
        bad = await graph.post(f"/users/{ORG}/sendMail", {"message": {"subject": "x", "flavour": "vanilla"}})
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "RequestBodyRead"

    with_graph(scenario)


def test_sending_rate_per_mailbox_answers_429_with_retry_after() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph)
        graph.app.faults.update({"send_rate_per_minute": 3})
        statuses = []
        for i in range(4):
            r = await graph.post(
                f"/users/{ORG}/sendMail", content=_mime(f"<m{i}@x>"), headers={"Content-Type": "text/plain"}
            )
            statuses.append(r.status_code)
        assert statuses == [202, 202, 202, 429]
        assert float(r.headers["Retry-After"]) > 0
        other = await graph.post(
            "/users/lea@contoso.com/sendMail",
            content=_mime("<l@x>", to=ORG),
            headers={"Content-Type": "text/plain"},
        )
        assert other.status_code == 202  # the limit is per mailbox
        graph.app.clock.advance(61)
        again = await graph.post(
            f"/users/{ORG}/sendMail", content=_mime("<m9@x>"), headers={"Content-Type": "text/plain"}
        )
        assert again.status_code == 202

    with_graph(scenario)


def test_draft_then_send() -> None:
    async def scenario(graph: Graph) -> None:
        await _people(graph)
        draft = await graph.post(
            f"/users/{ORG}/messages",
            {
                "subject": "Report",
                "body": {"contentType": "text", "content": "Numbers"},
                "toRecipients": [{"emailAddress": {"address": "lea@contoso.com"}}],
            },
        )
        assert draft.status_code == 201 and draft.json()["isDraft"] is True
        sent = await graph.post(f"/users/{ORG}/messages/{draft.json()['id']}/send")
        assert sent.status_code == 202
        assert (await graph.get(f"/users/{ORG}/messages/{draft.json()['id']}")).status_code == 404
        assert [
            m["subject"] for m in (await graph.get("/users/lea@contoso.com/messages")).json()["value"]
        ] == ["Report"]

    with_graph(scenario)
