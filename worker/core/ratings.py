"""One-click ratings: the token in each feedback email's rating links, and the judging of the replies.

Every feedback email carries a row of ``mailto:`` links, one per value of the scale, to the programme
mailbox. Each link's subject holds a token naming the programme, the pair, the session, the role and
the value, sealed with a keyed hash (HMAC-SHA256 under the programme's rating key, 128 bits kept):

    cg1.<programme tag>.<pair>.<session>.<role>.<value>.<mac>

The tag (8 hex digits of the programme key's SHA-256) lets several programmes share a mailbox: a
programme only judges tokens with its own tag. Sending the mail the link opens, from any mail client,
delivers it to the programme mailbox's Inbox; ``judge`` then decides, purely, from what the Inbox
listing shows: a message counts only if its token verifies, its sender is the participant the email
was written to (the pair's mentor or mentee, as the role says), and the session took place. A
person's latest rating of a session is the one that counts. Every decision is recorded in the mailbox
itself, as a category on the message (``CATEGORY_RATING`` or ``CATEGORY_IGNORED``), so a run that lost
its local state judges nothing twice and counts what the mailbox shows.

Whatever the person typed above the pre-filled lines is their comment: confidential, for the lead's
own report only; nothing here logs (the core never does).

Pure: no clock, no I/O. ``hmac``/``hashlib`` are computation.
"""

from __future__ import annotations

import enum
import hashlib
import hmac
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from urllib.parse import quote

SCALE = (1, 2, 3, 4, 5)
LOW = 2  # a rating at or below this is low
CATEGORY_RATING = "crossgen rating"
CATEGORY_IGNORED = "crossgen ignored"
ANSWER_WITHIN = timedelta(days=7)  # after the feedback email, how long a pair has to rate a session
_VERSION = "cg1"
_MAC_HEX = 32  # 128 bits
_TOKEN = re.compile(
    r"\bcg1\.([0-9a-f]{8})\.([A-Za-z0-9-]{1,64})\.(\d{1,4})\.(mentor|mentee)\.(\d{1,2})\.([0-9a-f]{32})\b"
)
_MARKER = re.compile(r"\bcg1\.", re.IGNORECASE)
COMMENT_MARK = "Write your comment above this line"


class Verdict(enum.Enum):
    ACCEPTED = "accepted"
    FORGED = "forged"  # a valid token sent by someone else than the participant it was written to
    UNKNOWN = "unknown"  # a token that does not verify, or names a pair or session we do not know
    MALFORMED = "malformed"  # looks like one of ours but cannot be read
    NOT_HELD = "not_held"  # the session did not take place


def programme_key_for(master: bytes, programme: str) -> bytes:
    """The programme's own rating key, derived from the worker's master secret (one master, many
    programmes, no key shared between them)."""
    return hmac.new(master, f"crossgen/rating/v1/{programme}".encode(), hashlib.sha256).digest()


def programme_tag(programme: str) -> str:
    return hashlib.sha256(programme.encode("utf-8")).hexdigest()[:8]


def _mac(key: bytes, programme: str, pair: str, session: int, role: str, value: int) -> str:
    message = "\n".join((_VERSION, programme, pair, str(session), role, str(value))).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()[:_MAC_HEX]


def token(key: bytes, *, programme: str, pair: str, session: int, role: str, value: int) -> str:
    if value not in SCALE:
        raise ValueError(f"a rating is one of {SCALE}, not {value}")
    mac = _mac(key, programme, pair, session, role, value)
    return f"{_VERSION}.{programme_tag(programme)}.{pair}.{session}.{role}.{value}.{mac}"


@dataclass(frozen=True, slots=True)
class Token:
    tag: str
    pair: str
    session: int
    role: str
    value: int
    mac: str

    def verifies(self, key: bytes, programme: str) -> bool:
        expected = _mac(key, programme, self.pair, self.session, self.role, self.value)
        return self.tag == programme_tag(programme) and hmac.compare_digest(expected, self.mac)


def find_token(text: str) -> Token | str | None:
    """The token in ``text``; None if there is no sign of one; ``"malformed"`` if there is a sign of
    one (``cg1.``) that does not read."""
    found = _TOKEN.search(text)
    if found is None:
        return "malformed" if _MARKER.search(text) else None
    tag, pair, session, role, value, mac = found.groups()
    return Token(tag, pair, int(session), role, int(value), mac)


# --- the links ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RatingLink:
    value: int
    url: str  # mailto:...
    subject: str
    body: str


def rating_links(
    key: bytes, *, mailbox: str, programme: str, programme_name: str, pair: str, session: int, role: str
) -> list[RatingLink]:
    """One ``mailto:`` link per value of the scale, to ``mailbox``, as RFC 6068 writes them: the
    subject and body percent-encoded as UTF-8 (a space is ``%20``, a line break ``%0D%0A``)."""
    links = []
    name = " ".join(programme_name.split())[:80]
    for value in SCALE:
        sealed = token(key, programme=programme, pair=pair, session=session, role=role, value=value)
        subject = f"Rating {value} of 5 for session {session} of {name} [{sealed}]"
        body = (
            "\r\n\r\n"
            f"---- {COMMENT_MARK}. It goes to the programme lead only. ----\r\n"
            f"Rating: {value} of 5. Send this email as it is to record it.\r\n"
            f"Ref: {sealed}\r\n"
        )
        url = (
            f"mailto:{quote(mailbox, safe='@')}?subject={quote(subject, safe='')}&body={quote(body, safe='')}"
        )
        links.append(RatingLink(value, url, subject, body))
    return links


def comment_of(body_text: str) -> str:
    """What the person typed: the text above the pre-filled lines (all of it if they removed them)."""
    head = body_text.split("----", 1)[0] if COMMENT_MARK in body_text else body_text
    if "Ref: cg1." in head:
        head = head.split("Ref: cg1.", 1)[0]
    lines = [line.rstrip() for line in head.replace("\r\n", "\n").split("\n")]
    return "\n".join(lines).strip()[:2000]


# --- judging the replies --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class InboxMessage:
    """One message of the programme mailbox's Inbox, as the listing shows it."""

    id: str
    mailbox: str
    sender: str  # the From address
    received: datetime
    subject: str
    categories: tuple[str, ...] = ()
    body: str = ""  # plain text; read only for the lead's report (comments)
    sent_by: str = ""  # the Sender address when it is not the From one (someone sending on their behalf)


@dataclass(frozen=True, slots=True)
class Rating:
    pair: str
    session: int
    role: str
    value: int
    by: str
    received: datetime
    message_id: str
    comment: str = ""


@dataclass(frozen=True, slots=True)
class Mark:
    """A message to tag in its mailbox: the decision, recorded where the truth is."""

    mailbox: str
    message_id: str
    categories: tuple[str, ...]  # the message's categories, ours added
    verdict: Verdict


@dataclass(frozen=True, slots=True)
class PairPeople:
    mentor: str
    mentee: str


@dataclass(frozen=True, slots=True)
class Judged:
    ratings: tuple[Rating, ...] = ()  # counted: each person's latest per session
    marks: tuple[Mark, ...] = ()  # new decisions to record in the mailbox
    ignored: Mapping[str, int] = field(default_factory=dict)  # verdict -> messages, new this time
    ignored_before: int = 0  # messages already tagged ignored
    superseded: int = 0  # genuine ratings replaced by the same person's later one


def judge(
    messages: Iterable[InboxMessage],
    *,
    key: bytes,
    programme: str,
    pairs: Mapping[str, PairPeople],
    held: Mapping[str, frozenset[int]],
    others: frozenset[str] = frozenset(),
) -> Judged:
    """Decide every message of the Inbox that carries one of this programme's tokens.

    Messages already tagged ``CATEGORY_RATING`` are counted again (the mailbox is the record), those
    tagged ``CATEGORY_IGNORED`` stay ignored; the rest are judged now and get a ``Mark``. ``held``:
    per pair, the numbers of its sessions that took place. ``others``: pairs of the programme that
    another shard serves; their messages are left to it.
    """
    tag = programme_tag(programme)
    accepted: list[Rating] = []
    marks: list[Mark] = []
    ignored: Counter[str] = Counter()
    ignored_before = 0
    for msg in messages:
        found = find_token(msg.subject)
        if found is None:
            found = find_token(msg.body) if msg.body else None
        if found is None:
            continue  # not a rating: someone's other mail, left alone
        if isinstance(found, Token) and (found.tag != tag or found.pair in others):
            continue  # another programme's sharing this mailbox, or another shard's pair
        if CATEGORY_IGNORED in msg.categories:
            ignored_before += 1
            continue
        verdict = _verdict(found, msg, key=key, programme=programme, pairs=pairs, held=held)
        if verdict is Verdict.ACCEPTED:
            assert isinstance(found, Token)
            accepted.append(
                Rating(
                    found.pair, found.session, found.role, found.value, msg.sender.lower(), msg.received,
                    msg.id, comment_of(msg.body) if msg.body else "",
                )
            )
        elif CATEGORY_RATING in msg.categories:
            # Judged genuine before, no longer verifiable now (the key changed, the pair left): it was a
            # person's answer, so it stays counted as the mailbox says.
            if isinstance(found, Token):
                accepted.append(
                    Rating(found.pair, found.session, found.role, found.value, msg.sender.lower(),
                           msg.received, msg.id, comment_of(msg.body) if msg.body else "")
                )
            continue
        else:
            ignored[verdict.value] += 1
        if CATEGORY_RATING not in msg.categories and CATEGORY_IGNORED not in msg.categories:
            category = CATEGORY_RATING if verdict is Verdict.ACCEPTED else CATEGORY_IGNORED
            marks.append(Mark(msg.mailbox, msg.id, (*msg.categories, category), verdict))
    latest: dict[tuple[str, int, str], Rating] = {}
    for rating in sorted(accepted, key=lambda r: (r.received, r.message_id)):
        who = (rating.pair, rating.session, rating.role)
        earlier = latest.get(who)
        if earlier is not None and earlier.comment and not rating.comment:
            rating = replace(rating, comment=earlier.comment)  # a new value without words keeps the words
        latest[who] = rating
    counted = tuple(sorted(latest.values(), key=lambda r: (r.pair, r.session, r.role)))
    return Judged(counted, tuple(marks), dict(ignored), ignored_before, len(accepted) - len(counted))


def _verdict(
    found: Token | str,
    msg: InboxMessage,
    *,
    key: bytes,
    programme: str,
    pairs: Mapping[str, PairPeople],
    held: Mapping[str, frozenset[int]],
) -> Verdict:
    if not isinstance(found, Token) or found.value not in SCALE:
        return Verdict.MALFORMED
    if not key or not found.verifies(key, programme):
        return Verdict.UNKNOWN
    people = pairs.get(found.pair)
    if people is None:
        return Verdict.UNKNOWN
    expected = people.mentor if found.role == "mentor" else people.mentee
    if msg.sender.lower() != expected.lower() or (msg.sent_by and msg.sent_by.lower() != expected.lower()):
        return Verdict.FORGED  # someone else sent it, or sent it on the participant's behalf
    if found.session not in held.get(found.pair, frozenset()):
        return Verdict.NOT_HELD
    return Verdict.ACCEPTED


# --- what the ratings say about a pair ------------------------------------------------------------


def concern(ratings: Iterable[Rating], *, due: Iterable[int]) -> tuple[str, str] | None:
    """``(episode, reason)`` when a pair needs the lead: its last two rated sessions were rated low
    (the mean of its people's ratings at or below ``LOW``), or it stopped answering (it rated an earlier
    session, and none of its last two sessions due an answer got one). ``due``: the numbers of held
    sessions whose feedback emails went out at least ``ANSWER_WITHIN`` ago. None otherwise."""
    per_session: dict[int, list[int]] = {}
    for r in ratings:
        per_session.setdefault(r.session, []).append(r.value)
    means = {n: sum(v) / len(v) for n, v in per_session.items()}
    rated = sorted(means)
    if len(rated) >= 2 and means[rated[-1]] <= LOW and means[rated[-2]] <= LOW:
        start = rated[-1]
        for n in reversed(rated):
            if means[n] > LOW:
                break
            start = n
        low = f"{means[rated[-2]]:.1f} and {means[rated[-1]]:.1f} of 5"
        return f"ratings-low-{start}", f"their last two rated sessions were rated low ({low})"
    due_sorted = sorted(set(due))
    if rated and len(due_sorted) >= 2:
        last_two = due_sorted[-2:]
        if all(n not in means for n in last_two) and max(rated) < last_two[0]:
            after = max(rated)
            return f"ratings-silent-{after}", f"no rating since session {after}"
    return None


def average(values: Iterable[float]) -> float | None:
    got = list(values)
    return round(sum(got) / len(got), 1) if got else None
