"""The tenant's state: app credentials, users, and each user's mailbox (events and messages).

Plain records, no HTTP and no JSON rendering: handlers in ``calendar.py``, ``directory.py`` and
``mail.py`` mutate them; ``render.py`` turns them into Graph's shapes. Events are indexed per mailbox
(by id and by ``transactionId``) so the benchmarks' thousands of requests stay cheap; recurring series
are stored once, as their master plus per-occurrence overrides keyed by the occurrence's original
start, and expanded only over the window a request asks for.

Ids are drawn from a seeded RNG so a seeded tenant is the same on every run.
"""

from __future__ import annotations

import base64
import random
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any


@dataclass
class User:
    id: str
    upn: str
    display_name: str
    mail: str | None = None
    given_name: str | None = None
    surname: str | None = None
    job_title: str | None = None
    department: str | None = None
    office_location: str | None = None
    preferred_language: str | None = None
    mobile_phone: str | None = None
    business_phones: list[str] = field(default_factory=list)
    account_enabled: bool = True
    manager_id: str | None = None
    has_mailbox: bool = True
    settings: dict[str, Any] = field(default_factory=dict)  # mailboxSettings as Graph shows it
    extra: dict[str, Any] = field(default_factory=dict)  # other properties given at creation

    @property
    def address(self) -> str:
        return self.mail or self.upn

    def email_address(self) -> dict[str, str]:
        return {"name": self.display_name, "address": self.address}


@dataclass
class Override:
    """What is special about one occurrence of a series, keyed by its original start.

    ``props`` non-empty (or a moved time) makes it an exception; a response or per-attendee statuses
    alone do not, as Outlook tracks responses on the occurrence itself.
    """

    props: dict[str, Any] = field(default_factory=dict)
    start_local: datetime | None = None
    start_zone: str | None = None
    start_utc: datetime | None = None
    end_local: datetime | None = None
    end_zone: str | None = None
    end_utc: datetime | None = None
    response: dict[str, Any] | None = None  # this mailbox's own responseStatus for the occurrence
    show_as: str | None = None  # an attendee's response changes how the occurrence shows, not its data
    attendee_status: dict[str, dict[str, Any]] = field(default_factory=dict)  # lower address -> status
    modified: datetime | None = None
    ext: dict[str, str] = field(default_factory=dict)  # the exception item's own extended properties

    @property
    def is_exception(self) -> bool:
        return bool(self.props) or bool(self.ext) or self.start_utc is not None or self.end_utc is not None


@dataclass
class EventRecord:
    id: str
    owner_id: str
    created: datetime
    modified: datetime
    props: dict[str, Any]  # client-settable properties, normalised
    start_local: datetime
    start_zone: str
    start_utc: datetime
    end_local: datetime
    end_zone: str
    end_utc: datetime
    ical_uid: str
    organizer: dict[str, Any]
    is_organizer: bool
    response: dict[str, Any]
    recurrence: dict[str, Any] | None = None
    transaction_id: str | None = None
    ext: dict[str, str] = field(default_factory=dict)  # single-value extended properties, id -> value
    online_meeting: dict[str, Any] | None = None
    is_cancelled: bool = False
    version: int = 1
    overrides: dict[datetime, Override] = field(default_factory=dict)
    cancelled: set[datetime] = field(default_factory=set)
    copies: dict[str, str] = field(default_factory=dict)  # organizer side: attendee user id -> event id
    origin: tuple[str, str] | None = None  # attendee side: (organizer user id, organizer event id)

    @property
    def is_series(self) -> bool:
        return self.recurrence is not None

    def touch(self, now: datetime) -> None:
        self.modified = now
        self.version += 1


@dataclass
class Mailbox:
    user_id: str
    events: dict[str, EventRecord] = field(default_factory=dict)
    by_transaction: dict[str, str] = field(default_factory=dict)
    messages: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> Graph message JSON + "_folder"


@dataclass
class Credentials:
    """The one app registration the sandbox knows: secret and/or registered certificates."""

    client_id: str
    client_secret: str
    certificates: dict[str, bytes] = field(default_factory=dict)  # thumbprint (hex, lower) -> PEM


class Tenant:
    """All state of one sandbox tenant."""

    def __init__(self, *, seed: int = 0, domain: str = "contoso.com", domains: tuple[str, ...] = ()) -> None:
        self._rng = random.Random(f"tenant-{seed}")  # noqa: S311 - reproducible ids
        self.domain = domain
        # The tenant's verified custom domains, the default (``domain``) first.
        self.domains = list(dict.fromkeys(d.lower() for d in (domain, *domains)))
        self.tenant_id = self.new_guid()
        self.credentials = Credentials(client_id=self.new_guid(), client_secret=self._secret())
        self.users: dict[str, User] = {}
        self._by_name: dict[str, str] = {}  # lower UPN and lower mail -> id
        self.mailboxes: dict[str, Mailbox] = {}
        self._last_created: datetime | None = None

    # ids -----------------------------------------------------------------------------------------
    def created_stamp(self, now: datetime) -> datetime:
        """A creation time after every earlier one: Exchange stamps items to 100 ns, so two creates
        never share a createdDateTime even when the sandbox's clock is frozen."""
        last = self._last_created
        stamp = now if last is None or now > last else last + timedelta(microseconds=1)
        self._last_created = stamp
        return stamp

    def new_guid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def _secret(self) -> str:
        alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"
        return "".join(self._rng.choice(alphabet) for _ in range(40))

    def new_item_id(self) -> str:
        """An Outlook-looking id (``AAMkA...``), URL-safe so it can sit in a path unescaped."""
        raw = self._rng.getrandbits(8 * 45).to_bytes(45, "big")
        return "AAMkA" + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def new_hex(self, nbytes: int) -> str:
        return self._rng.getrandbits(8 * nbytes).to_bytes(nbytes, "big").hex().upper()

    def new_digits(self, n: int) -> str:
        return "".join(str(self._rng.randrange(10)) for _ in range(n))

    @property
    def initial_domain(self) -> str:
        """``<name>.onmicrosoft.com``, which every tenant has from its creation."""
        return f"{self.domain.split('.')[0].lower()}.onmicrosoft.com"

    @property
    def verified_domains(self) -> set[str]:
        """The tenant's domains and its initial one."""
        return {*self.domains, self.initial_domain}

    # users ---------------------------------------------------------------------------------------
    def add_user(self, user: User) -> User:
        self.users[user.id] = user
        self._index(user)
        if user.has_mailbox:
            self.mailboxes.setdefault(user.id, Mailbox(user.id))
        return user

    def _index(self, user: User) -> None:
        self._by_name[user.upn.lower()] = user.id
        if user.mail:
            self._by_name[user.mail.lower()] = user.id

    def reindex(self, user: User) -> None:
        self._index(user)

    def find_user(self, segment: str) -> User | None:
        """By object id or by UPN/mail, case-insensitively, as Graph resolves ``/users/{id | upn}``."""
        user = self.users.get(segment) or self.users.get(segment.lower())
        if user is not None:
            return user
        uid = self._by_name.get(segment.lower())
        return self.users.get(uid) if uid else None

    def mailbox(self, user: User) -> Mailbox | None:
        return self.mailboxes.get(user.id) if user.has_mailbox else None

    def remove_mailbox(self, user: User) -> None:
        user.has_mailbox = False
        self.mailboxes.pop(user.id, None)


# Occurrence ids: opaque to clients, but we can read back the master and the original start.
_OCC_PREFIX = "AAMkOC"


def occurrence_id(master_id: str, original_start: datetime) -> str:
    key = f"{master_id}|{original_start.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}"
    return _OCC_PREFIX + base64.urlsafe_b64encode(key.encode()).decode().rstrip("=")


def parse_occurrence_id(item_id: str) -> tuple[str, datetime] | None:
    if not item_id.startswith(_OCC_PREFIX):
        return None
    body = item_id[len(_OCC_PREFIX) :]
    try:
        text = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).decode()
        master, when = text.split("|", 1)
        return master, datetime.strptime(when, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    except (ValueError, UnicodeDecodeError):
        return None
