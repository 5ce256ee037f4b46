"""Replies to the programme mailbox: a message sent from a mail client's mailto: link, as Exchange delivers
it; Inbox listings filtered on categories and receivedDateTime; PATCH of categories."""

from __future__ import annotations

from urllib.parse import quote

from tests.sandbox.sandbox_client import Graph, with_graph
from worker.sandbox.mail import mailto_fields

ORG = "mentoring@contoso.com"
INBOX = f"/users/{ORG}/mailFolders/inbox/messages"
SUBJECT = quote("Rating 4 of 5 [cg1.x] Café+tea", safe="")
BODY = quote("\r\n---- Write above ----\r\nRef: cg1.x\r\n", safe="")
URL = f"mailto:{ORG}?subject={SUBJECT}&body={BODY}"


def test_a_mailto_url_is_read_as_a_mail_client_reads_it() -> None:
    fields = mailto_fields(URL, typed="Très bien")
    assert fields["toRecipients"] == [{"emailAddress": {"address": ORG}}]
    assert fields["subject"] == "Rating 4 of 5 [cg1.x] Café+tea"  # + stays a plus (RFC 6068)
    assert fields["body"] == {
        "contentType": "text",
        "content": "Très bien\r\n\r\n---- Write above ----\r\nRef: cg1.x\r\n",
    }
    both = mailto_fields("mailto:a%40contoso.com,b@contoso.com?To=c@contoso.com&SUBJECT=hi")
    assert [r["emailAddress"]["address"] for r in both["toRecipients"]] == [
        "a@contoso.com",
        "b@contoso.com",
        "c@contoso.com",
    ]
    assert both["subject"] == "hi"


def test_a_reply_lands_in_the_inbox_from_its_sender_and_takes_a_category() -> None:
    async def scenario(graph: Graph) -> None:
        for handle in ("mentoring", "lea"):
            await graph.add_user(handle)
        sent = await graph.http.post(
            "/_sandbox/users/lea@contoso.com/mailto", json={"url": URL, "comment": "Très bien"}
        )
        assert sent.status_code == 200 and sent.json()["to"] == [ORG]
        listed = (
            await graph.get(
                INBOX,
                params={
                    "$filter": "receivedDateTime ge 2027-01-01T00:00:00Z",
                    "$select": "id,from,sender,subject,receivedDateTime,categories,body",
                    "$top": "10",
                },
                headers={"Prefer": 'outlook.body-content-type="text"'},
            )
        ).json()["value"]
        (msg,) = listed
        assert (
            msg["from"]["emailAddress"]["address"]
            == "lea@contoso.com"
            == msg["sender"]["emailAddress"]["address"]
        )
        assert msg["categories"] == [] and msg["body"]["content"].startswith("Très bien")
        assert msg["receivedDateTime"].endswith("Z")
        later = (
            await graph.get(INBOX, params={"$filter": "receivedDateTime ge 2030-01-01T00:00:00Z"})
        ).json()
        assert later["value"] == []
        tagged = await graph.patch(f"/users/{ORG}/messages/{msg['id']}", {"categories": ["crossgen rating"]})
        assert tagged.status_code == 200 and tagged.json()["categories"] == ["crossgen rating"]
        found = (
            await graph.get(INBOX, params={"$filter": "categories/any(c:c eq 'crossgen rating')"})
        ).json()
        assert [m["id"] for m in found["value"]] == [msg["id"]]
        refused = await graph.patch(f"/users/{ORG}/messages/{msg['id']}", {"categories": "not a list"})
        assert refused.status_code == 400
        unknown = await graph.patch(f"/users/{ORG}/messages/{msg['id']}", {"rating": 4})
        assert unknown.status_code == 400
        locked = await graph.patch(f"/users/{ORG}/messages/{msg['id']}", {"subject": "changed"})
        assert locked.status_code == 400 and "sent message" in locked.json()["error"]["message"]
        sent_copy = (await graph.get("/users/lea@contoso.com/mailFolders/sentitems/messages")).json()["value"]
        assert [m["subject"] for m in sent_copy] == ["Rating 4 of 5 [cg1.x] Café+tea"]

    with_graph(scenario)


def test_the_mailto_control_refuses_what_no_mail_client_would_send() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("lea")
        unknown = await graph.http.post("/_sandbox/users/nobody@contoso.com/mailto", json={"url": URL})
        assert unknown.status_code == 400
        not_mailto = await graph.http.post(
            "/_sandbox/users/lea@contoso.com/mailto", json={"url": "https://example.com"}
        )
        assert not_mailto.status_code == 400 and "mailto" in not_mailto.json()["error"]
        nobody = await graph.http.post(
            "/_sandbox/users/lea@contoso.com/mailto", json={"url": "mailto:?subject=x"}
        )
        assert nobody.status_code == 400

    with_graph(scenario)
