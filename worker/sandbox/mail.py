"""Mail: ``sendMail`` (JSON and MIME), drafts and ``send``, Inbox and Sent Items, meeting messages.

A sent message lands in the sender's Sent Items (unless ``saveToSentItems`` is false) and in the
Inbox of every recipient who is a mailbox in this tenant; external recipients are accepted and
dropped. The MIME form (``Content-Type: text/plain``, base64 of an RFC 5322 message) is what the worker
sends so it controls ``Message-ID``; that header becomes the ``internetMessageId`` the worker later
filters on to prove a feedback email went out exactly once. Malformed base64 gets the documented
``ErrorMimeContentInvalidBase64String`` 400. Each mailbox has a sending rate (``FaultConfig``), answered
with 429 when exceeded.
"""

from __future__ import annotations

import base64
import binascii
import copy
import email
import email.policy
from datetime import datetime
from email.message import EmailMessage
from email.utils import getaddresses
from typing import Any
from urllib.parse import unquote

from worker.sandbox import odata, render, schema, timeutil
from worker.sandbox.errors import GraphError, item_not_found, too_many_requests
from worker.sandbox.faults import format_retry_after
from worker.sandbox.router import Ctx, Reply, Router
from worker.sandbox.store import Mailbox, Tenant, User

NO_RECIPIENTS = (
    "At least one recipient isn't valid., A message can't be sent because it contains no recipients."
)
FOLDERS = {"inbox": "Inbox", "sentitems": "Sent Items", "drafts": "Drafts", "deleteditems": "Deleted Items"}


def folder_id(user: User, folder: str) -> str:
    return f"AQMkFLD{folder.upper()}{user.id.replace('-', '')[:16]}"


def _recipients(raw: Any) -> list[dict[str, Any]]:
    out = []
    for r in raw or []:
        addr = dict((r or {}).get("emailAddress") or {})
        out.append(
            {
                "emailAddress": {
                    "name": addr.get("name") or addr.get("address", ""),
                    "address": addr.get("address", ""),
                }
            }
        )
    return out


def _new_message(
    tenant: Tenant, user: User, fields: dict[str, Any], *, folder: str, now: datetime
) -> dict[str, Any]:
    message_id = tenant.new_item_id()
    body = fields.get("body") or {"contentType": "text", "content": ""}
    body = render.html_body(body.get("contentType", "text"), body.get("content", ""))
    key = base64.b64encode(f"{message_id[-12:]}:1".encode()).decode()
    sender = fields.get("from") or {"emailAddress": user.email_address()}
    msg: dict[str, Any] = {
        "@odata.etag": f'W/"{key}"',
        "id": message_id,
        "createdDateTime": timeutil.stamp_seconds(now),
        "lastModifiedDateTime": timeutil.stamp_seconds(now),
        "changeKey": key,
        "categories": fields.get("categories", []),
        "receivedDateTime": timeutil.stamp_seconds(now),
        "sentDateTime": timeutil.stamp_seconds(now),
        "hasAttachments": bool(fields.get("attachments")),
        "internetMessageId": fields.get("internetMessageId")
        or f"<{tenant.new_hex(16)}@{tenant.domain.split('.')[0].upper()}.prod.outlook.com>",
        "subject": fields.get("subject", ""),
        "bodyPreview": render.preview(body),
        "importance": fields.get("importance", "normal"),
        "parentFolderId": folder_id(user, folder),
        "conversationId": "AAQk" + tenant.new_hex(12),
        "isDeliveryReceiptRequested": False,
        "isReadReceiptRequested": False,
        "isRead": folder != "inbox",
        "isDraft": folder == "drafts",
        "webLink": f"https://outlook.office365.com/owa/?ItemID={message_id}&exvsurl=1&viewmodel=ReadMessageItem",
        "inferenceClassification": "focused",
        "body": body,
        "sender": sender,
        "from": sender,
        "toRecipients": _recipients(fields.get("toRecipients")),
        "ccRecipients": _recipients(fields.get("ccRecipients")),
        "bccRecipients": _recipients(fields.get("bccRecipients")),
        "replyTo": _recipients(fields.get("replyTo")),
        "flag": {"flagStatus": "notFlagged"},
        "_folder": folder,
        "_ext": {p["id"]: str(p.get("value", "")) for p in fields.get("singleValueExtendedProperties", [])},
        "_headers": list(fields.get("internetMessageHeaders", [])),
    }
    for key in ("@odata.type", "meetingMessageType", "_event"):
        if key in fields:
            msg[key] = fields[key]
    return msg


def _store(box: Mailbox, msg: dict[str, Any]) -> None:
    box.messages[msg["id"]] = msg


def deliver(
    tenant: Tenant, sender: User, fields: dict[str, Any], *, now: datetime, save_sent: bool
) -> dict[str, Any]:
    """Put a sent message in the sender's Sent Items and each in-tenant recipient's Inbox."""
    sent = _new_message(tenant, sender, fields, folder="sentitems", now=now)
    box = tenant.mailbox(sender)
    if save_sent and box is not None:
        _store(box, sent)
    seen: set[str] = set()
    for kind in ("toRecipients", "ccRecipients", "bccRecipients"):
        for r in sent[kind]:
            target = tenant.find_user(r["emailAddress"]["address"])
            target_box = tenant.mailbox(target) if target else None
            if target is None or target_box is None or target.id in seen:
                continue
            seen.add(target.id)
            received = copy.deepcopy(sent)
            received.update(
                id=tenant.new_item_id(),
                isRead=False,
                parentFolderId=folder_id(target, "inbox"),
                _folder="inbox",
                bccRecipients=[],
            )
            _store(target_box, received)
    return sent


def meeting_message(
    tenant: Tenant,
    *,
    sender: User,
    recipient: User,
    kind: str,
    subject: str,
    body: dict[str, Any] | None,
    now: datetime,
    event_id: str,
    comment: str = "",
) -> None:
    """A meeting request, cancellation or response, as Exchange drops it into the recipient's Inbox."""
    box = tenant.mailbox(recipient)
    if box is None:
        return
    content = (body or {}).get("content", "")
    if comment:
        content = f"{render.html_escape(comment)}<br>{content}" if content else render.html_escape(comment)
    odata_type = {
        "meetingRequest": "#microsoft.graph.eventMessageRequest",
        "meetingCancelled": "#microsoft.graph.eventMessage",
    }
    fields = {
        "subject": subject,
        "body": {"contentType": "html", "content": content},
        "toRecipients": [{"emailAddress": recipient.email_address()}],
        "@odata.type": odata_type.get(kind, "#microsoft.graph.eventMessageResponse"),
        "meetingMessageType": kind,
        "_event": event_id,
    }
    msg = _new_message(tenant, sender, fields, folder="inbox", now=now)
    msg["isRead"] = False
    _store(box, msg)


def _mime_fields(raw: bytes) -> dict[str, Any]:
    try:
        data = base64.b64decode(b"".join(raw.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise GraphError(
            400, "ErrorMimeContentInvalidBase64String", "Invalid base64 string for MIME content."
        ) from exc
    if not data.strip():
        raise GraphError(400, "ErrorMimeContentInvalid", "The MIME content is empty.")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)

    def addresses(header: str) -> list[dict[str, Any]]:
        values = parsed.get_all(header) or []
        return [
            {"emailAddress": {"name": n or a, "address": a}}
            for n, a in getaddresses([str(v) for v in values])
            if a
        ]

    html_part = parsed.get_body(preferencelist=("html",))
    text_part = parsed.get_body(preferencelist=("plain",))
    part = html_part or text_part
    content = part.get_content() if part is not None else ""
    fields: dict[str, Any] = {
        "subject": str(parsed.get("Subject", "")),
        "body": {
            "contentType": "html" if part is html_part and html_part is not None else "text",
            "content": content,
        },
        "toRecipients": addresses("To"),
        "ccRecipients": addresses("Cc"),
        "bccRecipients": addresses("Bcc"),
        "internetMessageHeaders": [
            {"name": k, "value": str(v)} for k, v in parsed.items() if k.lower().startswith("x-")
        ],
    }
    if parsed.get("Message-ID"):
        fields["internetMessageId"] = str(parsed["Message-ID"]).strip()
    if not (fields["toRecipients"] or fields["ccRecipients"] or fields["bccRecipients"]):
        raise GraphError(
            400,
            "ErrorInvalidRecipients",
            NO_RECIPIENTS,
        )
    return fields


def _check_send_rate(ctx: Ctx) -> None:
    assert ctx.user is not None
    wait = ctx.sandbox.limits.send_wait(ctx.user.id, ctx.now)
    if wait is not None:
        ra = format_retry_after(wait, integer=ctx.sandbox.faults.integer_retry_after)
        raise too_many_requests(ra, "Application is over its MailboxSendRate limit.")


async def send_mail(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    content_type = ctx.req.headers.get("content-type", "application/json").lower()
    if content_type.startswith("text/plain"):
        fields, save = _mime_fields(ctx.req.body), True
    else:
        params = schema.canonical_action("sendMail", ctx.json())
        message = params.get("message")
        if not isinstance(message, dict):
            raise GraphError(400, "ErrorInvalidParameter", "The value of the parameter 'Message' is empty.")
        fields, save = message, params.get("saveToSentItems", True) is not False
        if not any(fields.get(k) for k in ("toRecipients", "ccRecipients", "bccRecipients")):
            raise GraphError(
                400,
                "ErrorInvalidRecipients",
                NO_RECIPIENTS,
            )
    _check_send_rate(ctx)
    deliver(ctx.tenant, ctx.user, fields, now=ctx.now, save_sent=save)
    ctx.sandbox.limits.counters.mails_sent += 1
    return Reply(202)


def message_json(msg: dict[str, Any], prefer: str | None = None) -> dict[str, Any]:
    out = {k: v for k, v in msg.items() if not k.startswith("_")}
    wanted = _prefer_body(prefer)
    body = out.get("body")
    if wanted and isinstance(body, dict) and body.get("contentType") != wanted:
        # Prefer: outlook.body-content-type="text" (or "html"): Exchange converts the body on the way out.
        content = body.get("content") or ""
        if wanted == "text":
            out["body"] = {"contentType": "text", "content": render.html_to_text(content)}
        else:
            out["body"] = render.html_body("html", f"<div>{render.html_escape(content)}</div>")
    return out


def _prefer_body(prefer: str | None) -> str | None:
    for part in (prefer or "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "outlook.body-content-type":
            value = value.strip().strip('"').lower()
            return value if value in ("text", "html") else None
    return None


# Properties a client may change on a message that was sent or received; the others only on a draft
# (the update message page: "subject", "body", recipients... "can only be updated if isDraft = true").
UPDATABLE_ANY = {
    "categories",
    "importance",
    "inferenceClassification",
    "isRead",
    "flag",
    "isDeliveryReceiptRequested",
    "isReadReceiptRequested",
    "singleValueExtendedProperties",
}


async def update_message(ctx: Ctx, message: str, folder: str | None = None, **_: str) -> Reply:
    """``PATCH /users/{id}/messages/{id}``: held to the CSDL like every body; a sent or received
    message only takes the properties Outlook lets a reader change (categories, flag, read state...)."""
    assert ctx.user is not None
    msg = ctx.mailbox.messages.get(message)
    if msg is None:
        raise item_not_found()
    fields = schema.canonical_entity("message", ctx.json(), for_create=False)
    if not msg.get("isDraft"):
        locked = sorted(k for k in fields if k not in UPDATABLE_ANY and not k.startswith("@"))
        if locked:
            raise GraphError(
                400,
                "ErrorInvalidPropertyUpdateSentMessage",
                "Update operation is invalid for property of a sent message.",
            )
    for k, v in fields.items():
        if k == "singleValueExtendedProperties":
            msg["_ext"].update({p["id"]: str(p.get("value", "")) for p in v})
        elif k == "body":
            msg["body"] = render.html_body(v.get("contentType", "text"), v.get("content", ""))
            msg["bodyPreview"] = render.preview(msg["body"])
        elif not k.startswith("@"):
            msg[k] = v
    version = int(base64.b64decode(msg["changeKey"]).decode().rsplit(":", 1)[-1]) + 1
    key = base64.b64encode(f"{message[-12:]}:{version}".encode()).decode()
    msg.update(changeKey=key, lastModifiedDateTime=timeutil.stamp_seconds(ctx.now))
    msg["@odata.etag"] = f'W/"{key}"'
    out = {
        "@odata.context": ctx.context_url(f"users('{ctx.user.id}')/messages/$entity"),
        **message_json(msg, ctx.req.headers.get("prefer")),
    }
    return Reply(200, out)


def mailto_fields(url: str, *, typed: str = "") -> dict[str, Any]:
    """The message a mail client composes from a ``mailto:`` URL (RFC 6068), with ``typed`` written at
    the top of the body, where the cursor starts. Addresses, subject and body are percent-decoded as
    UTF-8; ``+`` stays a plus (RFC 6068 is not form encoding); header names are case-insensitive; the
    ``to`` field adds to the path's addresses."""
    if not url.lower().startswith("mailto:"):
        raise ValueError("not a mailto: URL")
    path, _, query = url[len("mailto:") :].partition("?")
    to = [unquote(a) for a in path.split(",") if a]
    headers: dict[str, str] = {}
    for part in query.split("&") if query else []:
        name, _, value = part.partition("=")
        name = unquote(name).lower()
        if name == "to":
            to += [unquote(a) for a in value.split(",") if a]
        elif name in ("subject", "body", "cc", "bcc"):
            headers[name] = unquote(value)
    if not to:
        raise ValueError("a mailto: URL without a recipient")
    body = headers.get("body", "")
    content = f"{typed}\r\n{body}" if typed else body
    fields: dict[str, Any] = {
        "subject": headers.get("subject", ""),
        "body": {"contentType": "text", "content": content},
        "toRecipients": [{"emailAddress": {"address": a}} for a in to],
    }
    for kind in ("cc", "bcc"):
        if headers.get(kind):
            fields[f"{kind}Recipients"] = [{"emailAddress": {"address": a}} for a in headers[kind].split(",")]
    return fields


def send_mailto(tenant: Tenant, sender: User, url: str, *, now: datetime, typed: str = "") -> dict[str, Any]:
    """``sender`` clicks a ``mailto:`` link in Outlook, maybe types a comment, and presses Send: Exchange
    files the message in their Sent Items and delivers it to each recipient's Inbox, ``from`` and
    ``sender`` being the person who sent it."""
    return deliver(tenant, sender, mailto_fields(url, typed=typed), now=now, save_sent=True)


def _view(msg: dict[str, Any]) -> dict[str, Any]:
    out = message_json(msg)
    out["singleValueExtendedProperties"] = [{"id": k, "value": v} for k, v in msg["_ext"].items()]
    return out


async def list_messages(ctx: Ctx, folder: str | None = None, **_: str) -> Reply:
    assert ctx.user is not None
    wanted = None
    if folder is not None:
        wanted = folder.lower()
        if wanted not in FOLDERS:
            wanted = next((f for f in FOLDERS if folder == folder_id(ctx.user, f)), None)
            if wanted is None:
                raise item_not_found()
    msgs = [m for m in ctx.mailbox.messages.values() if wanted is None or m["_folder"] == wanted]
    msgs.sort(key=lambda m: m["receivedDateTime"], reverse=True)
    query = ctx.req.query
    predicate = odata.compile_filter(query.get("$filter"))
    if predicate is not None:
        msgs = [m for m in msgs if predicate(_view(m))]
    prefer = ctx.req.headers.get("prefer")
    items = odata.sort([message_json(m, prefer) | {"_src": m} for m in msgs], query.get("$orderby"))
    chunk, next_link = odata.page(
        items,
        query=query,
        base_url=ctx.req.base_url,
        path=ctx.req.path,
        default_size=ctx.sandbox.faults.page_size,
    )
    fields = odata.select_fields(query.get("$select"))
    value = []
    for item in chunk:
        src = item.pop("_src")
        shown = odata.project(item, fields)
        if fields and any(f.lower() == "internetmessageheaders" for f in fields):
            shown["internetMessageHeaders"] = src["_headers"]
        value.append(shown)
    suffix = f"mailFolders('{folder}')/messages" if folder else "messages"
    body: dict[str, Any] = {
        "@odata.context": ctx.context_url(f"users('{ctx.user.id}')/{suffix}"),
        "value": value,
    }
    if next_link:
        body["@odata.nextLink"] = next_link
    return Reply(200, body)


async def get_message(ctx: Ctx, message: str, **_: str) -> Reply:
    assert ctx.user is not None
    msg = ctx.mailbox.messages.get(message)
    if msg is None:
        raise item_not_found()
    base = f"users('{ctx.user.id}')/messages"
    out = {
        "@odata.context": ctx.context_url(f"{base}/$entity"),
        "@odata.id": f"{ctx.req.base_url}/{base[:-1]}s('{message}')",
        **message_json(msg, ctx.req.headers.get("prefer")),
    }
    out = odata.project(out, odata.select_fields(ctx.req.query.get("$select")))
    expand = ctx.req.query.get("$expand")
    if expand:
        props = odata.expand_extended(expand, msg["_ext"], entity="microsoft.graph.message")
        out["singleValueExtendedProperties@odata.context"] = ctx.context_url(
            f"{base}('{message}')/singleValueExtendedProperties"
        )
        out["singleValueExtendedProperties"] = props
    return Reply(200, out)


async def create_draft(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    fields = schema.canonical_entity("message", ctx.json(), for_create=True)
    msg = _new_message(ctx.tenant, ctx.user, fields, folder="drafts", now=ctx.now)
    _store(ctx.mailbox, msg)
    out = {"@odata.context": ctx.context_url(f"users('{ctx.user.id}')/messages/$entity"), **message_json(msg)}
    return Reply(201, out)


async def send_draft(ctx: Ctx, message: str, **_: str) -> Reply:
    assert ctx.user is not None
    msg = ctx.mailbox.messages.get(message)
    if msg is None or msg["_folder"] != "drafts":
        raise item_not_found()
    _check_send_rate(ctx)
    del ctx.mailbox.messages[message]
    fields = {
        k: v
        for k, v in msg.items()
        if k
        in (
            "subject",
            "body",
            "toRecipients",
            "ccRecipients",
            "bccRecipients",
            "internetMessageId",
            "importance",
            "categories",
        )
    }
    fields["singleValueExtendedProperties"] = [{"id": k, "value": v} for k, v in msg["_ext"].items()]
    deliver(ctx.tenant, ctx.user, fields, now=ctx.now, save_sent=True)
    ctx.sandbox.limits.counters.mails_sent += 1
    return Reply(202)


async def delete_message(ctx: Ctx, message: str, **_: str) -> Reply:
    if ctx.mailbox.messages.pop(message, None) is None:
        raise item_not_found()
    return Reply(204)


def register(router: Router) -> None:
    router.add("POST", "/users/{user}/sendMail", send_mail)
    router.add("GET", "/users/{user}/messages", list_messages)
    router.add("POST", "/users/{user}/messages", create_draft)
    router.add("GET", "/users/{user}/messages/{message}", get_message)
    router.add("DELETE", "/users/{user}/messages/{message}", delete_message)
    router.add("POST", "/users/{user}/messages/{message}/send", send_draft)
    router.add("GET", "/users/{user}/mailFolders/{folder}/messages", list_messages)
    router.add("GET", "/users/{user}/mailFolders/{folder}/messages/{message}", get_message)
    router.add("PATCH", "/users/{user}/messages/{message}", update_message)
    router.add("PATCH", "/users/{user}/mailFolders/{folder}/messages/{message}", update_message)
