"""Emails that are sent at most once, even across a crash between sending and recording it.

sendMail has no idempotency key (NOTES §5), so the key travels inside the message: ``MailSpec.key``
becomes a deterministic ``Message-ID`` (``<crossgen.{sha256(key)[:32]}@{sender domain}>``), and before any
send, and before any retry of a send whose outcome is unknown, the gateway looks for that
``internetMessageId`` in the sender's Sent Items. To set our own Message-ID the message goes as MIME
(base64, ``Content-Type: text/plain``, the form sendMail documents); sendMail then saves a copy to Sent Items,
its default (``saveToSentItems`` is only settable in the JSON form, where it defaults to true as well).

Known window [inference]: Sent Items can lag the 202 by a moment; a second run started within that moment
could send again. Runs are minutes apart, so the window is accepted, and recorded here.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from worker.core.types import MailSpec


def message_id(key: str, sender: str) -> str:
    domain = sender.rsplit("@", 1)[-1].lower() if "@" in sender else "crossgen.invalid"
    digest = hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]
    return f"<crossgen.{digest}@{domain}>"


def _address(text: str) -> Address:
    user, _, domain = text.partition("@")
    return Address(addr_spec=f"{user}@{domain}") if domain else Address(addr_spec=text)


def build_mime(spec: MailSpec, *, now: datetime) -> bytes:
    """A multipart/alternative message (text, then HTML; UTF-8) with our Message-ID, as MIME bytes.

    ``spec.html`` is sent as given: the caller renders it and escapes user text (the gateway cannot tell
    markup from text).
    """
    msg = EmailMessage(policy=SMTP)
    msg["From"] = _address(spec.sender)
    msg["To"] = [_address(a) for a in spec.to]
    if spec.cc:
        msg["Cc"] = [_address(a) for a in spec.cc]
    msg["Subject"] = spec.subject
    msg["Date"] = format_datetime(now)
    msg["Message-ID"] = message_id(spec.key, spec.sender)
    msg.set_content(spec.text, subtype="plain", charset="utf-8")
    msg.add_alternative(spec.html, subtype="html", charset="utf-8")
    # The same message is the same bytes: the email package draws a random boundary, we derive one from
    # the content ("=_" never occurs in base64 or quoted-printable, and text that contained a hash of
    # itself is not a worry), so a retried send is byte-identical and a test's run is reproducible.
    content = "\x00".join((spec.key, spec.subject, spec.text, spec.html)).encode("utf-8")
    msg.set_boundary(f"=_crossgen_{hashlib.sha256(content).hexdigest()[:32]}")
    return msg.as_bytes()


def sendmail_body(spec: MailSpec, *, now: datetime) -> bytes:
    """The request body sendMail expects for MIME: the message base64-encoded."""
    return base64.b64encode(build_mime(spec, now=now))
