"""What participants and the lead read: invites, agendas, feedback and escalation emails.

The planner calls these to fill ``SeriesSpec.body_html``, ``UpdateAgenda.body_html``, ``MailSpec`` and
``Cancel.comment``; nothing here reads a clock, a file or the network, so the same inputs always give
the same text and a plan can be compared with the next one.

Outlook is the reader, so the HTML is deliberately old-fashioned: one presentation table, inline
styles, no scripts, no images, no external stylesheets. Every piece of user text (names, topics,
agenda items, the programme's name, reasons) goes through ``_e`` (``html.escape(quote=True)``), and a
URL only reaches an ``href`` after ``https_url`` has accepted it. Every email comes with a plain-text
twin that states the same facts. Teams adds its own join block to an online meeting's body, so the
invite never draws one of its own.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, tzinfo
from typing import NamedTuple
from urllib.parse import quote, urlsplit

from worker.core import templates
from worker.core.actions import CancelReason, EscalationReason, Role


class RenderError(ValueError):
    """A value cannot be put in front of a reader safely (a non-https link, a malformed address)."""


class Person(NamedTuple):
    """Someone named in a message: display name and mailbox address."""

    name: str
    address: str


class Agenda(NamedTuple):
    """One curriculum entry: the session's title and its bullet items."""

    title: str
    items: Sequence[str]


# What callers may pass: our NamedTuples or plain tuples of the same shape.
PersonLike = tuple[str, str]  # (name, address)
AgendaLike = tuple[str, Sequence[str]]  # (title, items)


SUBJECT_MAX = 150  # Outlook shows about this much; Graph accepts 255

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]+")
_SPACES = re.compile(r"\s+")
_NOT_IN_URLS = frozenset('"<>\\^`{|}')  # RFC 3986 never allows these unencoded
_ADDRESS = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")

_FONT = ("font-family:'Segoe UI',Calibri,Arial,sans-serif;font-size:14px;line-height:1.5;color:#1f2933;"
         "overflow-wrap:anywhere;word-break:break-word;")  # a pasted link in a topic must not widen a phone
_MUTED = "color:#52606d;font-size:13px;"
_HIGHLIGHT = "background:#fff4ce;font-weight:bold;"
_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September",
           "October", "November", "December")


# --- small safe pieces -----------------------------------------------------------------------------


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def one_line(text: str, limit: int = SUBJECT_MAX) -> str:
    """``text`` on a single line: control characters and runs of whitespace become one space.

    Subjects go into mail headers and calendar titles, where a line break is at best ugly and at
    worst a header injection.
    """
    flat = _SPACES.sub(" ", _CONTROL.sub(" ", text)).strip()
    if len(flat) > limit:
        flat = flat[: limit - 1].rstrip() + "…"
    return flat


def https_url(url: str) -> str:
    """``url`` unchanged if it is an absolute https URL with a host and no spaces; else ``RenderError``."""
    if _CONTROL.search(url) or any(c.isspace() or c in _NOT_IN_URLS for c in url):
        raise RenderError(f"link contains characters that a URL never holds: {url!r}")
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise RenderError(f"only https links are put in messages, not {url!r}")
    if parts.username or parts.password:
        raise RenderError("a link with credentials in it is never put in a message")
    return url


def mail_address(address: str) -> str:
    """``address`` unchanged if it is a plain mailbox address; else ``RenderError``."""
    if not _ADDRESS.match(address):
        raise RenderError(f"not a mailbox address: {address!r}")
    return address


def _mailto(address: str) -> str:
    safe = mail_address(address)
    return f'<a href="mailto:{_e(quote(safe, safe="@.+-_"))}" style="color:#0f6cbd;">{_e(safe)}</a>'


def _label(person: PersonLike | str) -> str:
    if isinstance(person, str):
        return one_line(person, 200)
    name, address = person
    return one_line(name, 200) or address


def format_local(start: datetime, zone: tzinfo, zone_label: str = "") -> str:
    """A session's start as people read it, in ``zone``: "Tuesday 12 January 2027, 10:00 (Europe/Paris)".

    Written out by hand rather than with ``strftime("%A")`` so the words never depend on the host's
    locale.
    """
    local = start.astimezone(zone)
    text = f"{_WEEKDAYS[local.weekday()]} {local.day} {_MONTHS[local.month - 1]} {local.year}, {local:%H:%M}"
    return f"{text} ({zone_label})" if zone_label else text


def zone_label(zone: tzinfo, at: datetime) -> str:
    """A zone's name as people read it next to a time: its IANA name, else what the zone calls itself."""
    key = getattr(zone, "key", None)
    return key if isinstance(key, str) and key else (zone.tzname(at) or "UTC")


def format_when(start: datetime, zones: Sequence[tzinfo]) -> str:
    """A session's day, date, local time and zone name in the first of ``zones``, followed by the time in
    each other zone that reads differently: "Tuesday 12 January 2027, 10:00 (Europe/Paris) · 14:30
    (Asia/Kolkata)" (the whole date again when it is another day there)."""
    first = zones[0]
    home = start.astimezone(first)
    parts = [format_local(start, first, zone_label(first, start))]
    seen = {(home.replace(tzinfo=None), zone_label(first, start))}
    for zone in zones[1:]:
        local, label = start.astimezone(zone), zone_label(zone, start)
        if (local.replace(tzinfo=None), label) in seen or local.replace(tzinfo=None) == home.replace(
            tzinfo=None
        ):
            continue
        seen.add((local.replace(tzinfo=None), label))
        same_day = local.date() == home.date()
        parts.append(f"{local:%H:%M} ({label})" if same_day else format_local(start, zone, label))
    return " · ".join(parts)


def format_day(day: date) -> str:
    """A date as people read it: "Tuesday 16 February 2027"."""
    return f"{_WEEKDAYS[day.weekday()]} {day.day} {_MONTHS[day.month - 1]} {day.year}"


_ORDINALS = {"first": "1st", "second": "2nd", "third": "3rd", "fourth": "4th", "last": "last"}


def rhythm(cadence: str, first: datetime, zone: tzinfo, *, week_index: str | None = None) -> str:
    """How often and when a series meets: "every 2 weeks on Tuesdays at 10:00 (Europe/Paris)", or
    "monthly on the 2nd Tuesday at 10:00 (Europe/Paris)"."""
    local = first.astimezone(zone)
    day = _WEEKDAYS[local.weekday()]
    at = f"{local:%H:%M} ({zone_label(zone, first)})"
    if week_index is not None:
        return f"{cadence} on the {_ORDINALS.get(week_index, week_index)} {day} at {at}"
    return f"{cadence} on {day}s at {at}"


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_e(title)}</title>\n</head>\n"
        '<body style="margin:0;padding:0;background:#ffffff;">\n'
        f'<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="{_FONT}">'
        f'<tr><td style="padding:16px 20px;max-width:640px;">\n{body}\n</td></tr></table>\n</body>\n</html>\n'
    )


def _p(inner: str, style: str = "") -> str:
    return f'<p style="margin:0 0 12px 0;{style}">{inner}</p>'


def _h(text: str) -> str:
    return f'<h2 style="margin:20px 0 8px 0;font-size:16px;color:#0f6cbd;">{_e(text)}</h2>'


def _bullets(items: Sequence[str]) -> str:
    if not items:
        return ""
    lis = "".join(f'<li style="margin:0 0 4px 0;">{_e(item)}</li>' for item in items)
    return f'<ul style="margin:0 0 12px 0;padding-left:22px;">{lis}</ul>'


def _text_bullets(items: Sequence[str], mark: str = "-") -> list[str]:
    return [f"  {mark} {one_line(item, 500)}" for item in items]


def _current_index(session_number: int | None, curriculum_length: int) -> int | None:
    """Session n uses curriculum entry n; the last entry repeats when there are more sessions."""
    if session_number is None or curriculum_length == 0 or session_number < 1:
        return None
    return min(session_number, curriculum_length) - 1


# --- invites and per-session agendas ------------------------------------------------------------


_ANGLES = str.maketrans({"<": "‹", ">": "›"})


def _named(name: str, limit: int = 60) -> str:
    """A person's name as it goes into a plain-text title: on one line, its angle brackets shown as
    look-alike quotes, so a name a directory holds as markup never reaches a title as a tag (a client
    that renders titles, a report pasted into HTML); every other character, accents included, kept."""
    return one_line(name, limit).translate(_ANGLES)


def invite_subject(programme_name: str, mentor_name: str, mentee_name: str) -> str:
    """The series' title in both calendars: who meets, in which programme."""
    return one_line(f"{_named(mentor_name)} & {_named(mentee_name)} · {programme_name}")


def session_subject(programme_name: str, mentor_name: str, mentee_name: str, *, session_number: int,
                    title: str) -> str:
    """One occurrence's title once it carries its own agenda: "Session 3: Generative AI at work · …"."""
    pair = f"{_named(mentor_name)} & {_named(mentee_name)}"
    return one_line(f"Session {session_number}: {one_line(title, 70)} · {pair} · {programme_name}")


def _agenda_block(session_number: int | None, agenda: Agenda | None, topics: Sequence[str]) -> str:
    parts: list[str] = []
    if agenda is not None:
        heading = f"Session {session_number}: {agenda.title}" if session_number else f"Agenda: {agenda.title}"
        parts += [_h(heading), _bullets(list(agenda.items))]
    if topics:
        parts.append(_p("<strong>Your own topics</strong>, to weave in when they fit:", "margin-bottom:4px;"))
        parts.append(_bullets(list(topics)))
    return "".join(parts)


def _curriculum_block(curriculum: Sequence[Agenda], session_number: int | None) -> str:
    if not curriculum:
        return ""
    current = _current_index(session_number, len(curriculum))
    lis = []
    for index, entry in enumerate(curriculum):
        if index == current:
            lis.append(f'<li style="margin:0 0 4px 0;{_HIGHLIGHT}">{_e(entry.title)} '
                       f'<span style="{_MUTED}">&larr; this session</span></li>')
        else:
            lis.append(f'<li style="margin:0 0 4px 0;">{_e(entry.title)}</li>')
    ordered = f'<ol style="margin:0 0 12px 0;padding-left:22px;">{"".join(lis)}</ol>'
    return _h("The programme's curriculum") + ordered


def _series_body(*, programme_name: str, purpose: str | None, mentor: Person, mentee: Person, lead: str,
                 curriculum: Sequence[Agenda], session_number: int | None, agenda: Agenda | None,
                 topics: Sequence[str], join_hint: bool, lead_in: str, moves_declined: bool,
                 greetings: tuple[str, str] = ("", ""), extra: str = "") -> str:
    programme = _e(one_line(programme_name, 200))
    why = _e(purpose.strip()) if purpose and purpose.strip() else (
        f"{programme} pairs a junior colleague with a senior leader to explore digital ways of working "
        "together.")
    who = (f"<strong>{_e(_label(mentor))}</strong> mentors <strong>{_e(_label(mentee))}</strong> on digital "
           f"topics, and {_e(_label(mentee))} shares business experience in return: the learning goes "
           "both ways.")
    join = _p("Join with the Microsoft Teams link in this invitation.") if join_hint else ""
    about = (
        _h("About these sessions")
        + _p(f"They are organised by the {programme} mailbox, so they cannot be moved from your calendar. "
             + ("If you can't make one session, decline just that session: it will be moved to another time "
                "in the same week." if moves_declined else
                "If you can't make one session, decline just that session and the programme lead will be "
                "told."))
        + _p("The sessions are private: what you discuss stays between the two of you.")
        + _p(f"Questions about the programme? Ask {_mailto(lead)}.", _MUTED)
    )
    hello = [one_line(g, 100) or _label(p) for g, p in zip(greetings, (mentor, mentee), strict=True)]
    return (
        _p(f"Hello {_e(hello[0])} and {_e(hello[1])},")
        + _p(lead_in)
        + extra
        + _p(why)
        + _p(who)
        + join
        + _agenda_block(session_number, agenda, topics)
        + _curriculum_block(curriculum, session_number)
        + about
    )


def _dates_block(dates: Sequence[str], no_session: Sequence[tuple[str, str]], *, recut: bool) -> str:
    parts: list[str] = []
    if dates:
        label = ("Your next sessions" if recut else
                 "Your first session" if len(dates) == 1 else "Your sessions")
        if len(dates) == 1:
            parts.append(_p(f"<strong>{label}:</strong> {_e(one_line(dates[0], 200))}"))
        else:
            parts += [_p(f"<strong>{label}:</strong>", "margin-bottom:4px;"), _bullets(list(dates))]
    if no_session:
        parts.append(_h("Dates without a session"))
        parts.append(_bullets([f"{one_line(day, 100)}: {one_line(why, 300)}" for day, why in no_session]))
    return "".join(parts)


def invite_body(*, programme_name: str, purpose: str | None, mentor: PersonLike, mentee: PersonLike,
                lead: str, curriculum: Sequence[AgendaLike], session_number: int | None,
                agenda: AgendaLike | None, topics: Sequence[str], join_hint: bool,
                moves_declined: bool = True, greetings: tuple[str, str] = ("", ""),
                new_rhythm: str | None = None, dates: Sequence[str] = (),
                no_session: Sequence[tuple[str, str]] = ()) -> str:
    """The series' invitation: why the programme exists, who mentors whom, the curriculum, an agenda.

    A pair's first series welcomes them; a series that replaces another (``new_rhythm``: its policy
    changed) says the sessions move to a new rhythm. ``dates`` are its coming sessions as people read
    them (day, date, local time, zone), ``no_session`` the dates it skips or moves and why."""
    programme = _e(one_line(programme_name, 200))
    if new_rhythm:
        lead_in = (f"Your sessions in {programme} move to a new rhythm: {_e(one_line(new_rhythm, 200))}. "
                   "This invitation holds them from now on; the sessions you have held stay in your "
                   "calendars.")
    else:
        lead_in = f"Welcome to {programme}. This invitation holds all your sessions."
    body = _series_body(
        programme_name=programme_name, purpose=purpose, mentor=Person(*mentor), mentee=Person(*mentee),
        lead=lead, curriculum=[Agenda(*c) for c in curriculum], session_number=session_number,
        agenda=Agenda(*agenda) if agenda is not None else None, topics=topics, join_hint=join_hint,
        moves_declined=moves_declined, lead_in=lead_in, greetings=greetings,
        extra=_dates_block(dates, no_session, recut=bool(new_rhythm)),
    )
    return _page(invite_subject(programme_name, mentor[0], mentee[0]), body)


def goodbye_body(*, programme_name: str, mentor: PersonLike, mentee: PersonLike, lead: str,
                 greetings: tuple[str, str] = ("", ""), last_session: str | None = None) -> str:
    """What a pair that leaves the programme reads in their series once it is ended after its last held
    session: that the pairing ended, what happens next, and whom to ask."""
    programme = _e(one_line(programme_name, 200))
    hello = [one_line(g, 100) or _label(p) for g, p in zip(greetings, (mentor, mentee), strict=True)]
    last = (_p(f"Your last session together was on {_e(one_line(last_session, 200))}.")
            if last_session else "")
    body = (
        _p(f"Hello {_e(hello[0])} and {_e(hello[1])},")
        + _p(f"<strong>Your pairing in {programme} has ended.</strong> Thank you both for your time and for "
             "everything you shared with each other.")
        + last
        + _h("What happens next")
        + _bullets([
            "Your remaining sessions are removed from your calendars; the ones you held stay there.",
            "No more invitations or feedback emails will come for this pairing.",
        ])
        + _p(f"Was this unexpected, or would you like a new pairing? Write to {_mailto(lead)}.")
    )
    return _page(invite_subject(programme_name, mentor[0], mentee[0]), body)


def rhythm_end_body(*, programme_name: str, mentor: PersonLike, mentee: PersonLike, lead: str,
                    greetings: tuple[str, str] = ("", ""), new_rhythm: str | None,
                    dates: Sequence[str] = ()) -> str:
    """What an old series says once its policy changed and it was ended after its last held session: the
    sessions move to a new rhythm, held in a new invitation."""
    programme = _e(one_line(programme_name, 200))
    hello = [one_line(g, 100) or _label(p) for g, p in zip(greetings, (mentor, mentee), strict=True)]
    if new_rhythm:
        what = (f"<strong>Your sessions move to a new rhythm: {_e(one_line(new_rhythm, 200))}.</strong> "
                "A new invitation holds them; the sessions you held stay in your calendars.")
    else:
        what = (f"<strong>Your sessions in {programme} move to a new rhythm.</strong> A new invitation "
                "follows as soon as a time suits you both; the sessions you held stay in your calendars.")
    body = (
        _p(f"Hello {_e(hello[0])} and {_e(hello[1])},")
        + _p(what)
        + _dates_block(dates, (), recut=True)
        + _p(f"Questions about {programme}? Ask {_mailto(lead)}.", _MUTED)
    )
    return _page(invite_subject(programme_name, mentor[0], mentee[0]), body)


def session_agenda_body(*, programme_name: str, purpose: str | None, mentor: PersonLike, mentee: PersonLike,
                        lead: str, curriculum: Sequence[AgendaLike], session_number: int, agenda: AgendaLike,
                        topics: Sequence[str], join_hint: bool, moves_declined: bool = True,
                        greetings: tuple[str, str] = ("", ""), moved: str | None = None) -> str:
    """One occurrence's own body, set shortly before it: the same frame, this session's agenda on top.

    ``moved`` (where and why the session moved, with its day, date, local time and zone) makes it the
    body of the update Exchange sends when the session is moved, instead of the series' welcome."""
    agenda = Agenda(*agenda)
    lead_in = f"Here is the agenda of session {session_number}. Take a few minutes to prepare together."
    if moved:
        lead_in = (f"<strong>Session {session_number} has moved: {_e(one_line(moved, 300))}.</strong> "
                   "Here is its agenda.")
    body = _series_body(
        programme_name=programme_name, purpose=purpose, mentor=Person(*mentor), mentee=Person(*mentee),
        lead=lead, curriculum=[Agenda(*c) for c in curriculum], session_number=session_number, agenda=agenda,
        topics=topics, join_hint=join_hint, moves_declined=moves_declined, greetings=greetings,
        lead_in=lead_in,
    )
    title = session_subject(programme_name, mentor[0], mentee[0], session_number=session_number,
                            title=agenda.title)
    return _page(title, body)


# --- after a session: the feedback email ----------------------------------------------------------

def fill_template(template: str, values: Mapping[str, str], *, url: bool = False) -> str:
    """Fill a lead's template (``worker.core.templates``: the grammar ``crossgen validate`` checked), URL-
    encoding the values when ``url``; a template that breaks the grammar is a ``RenderError``."""
    try:
        return templates.fill(template, values, url=url)
    except templates.TemplateError as exc:
        raise RenderError(f"{exc}; known: {sorted(values)}") from None


def form_link(template: str, values: Mapping[str, str]) -> str:
    """The participant's own feedback link: the policy's ``form`` template, filled, URL-encoded, https."""
    return https_url(fill_template(template, values, url=True))


def feedback_subject(template: str, values: Mapping[str, str]) -> str:
    """The policy's ``subject`` template, filled and kept on one line (names may hold line breaks)."""
    return one_line(fill_template(template, {k: _named(v, 100) for k, v in values.items()}))


def _button(url: str, label: str) -> str:
    # A "bulletproof" button: a coloured table cell around a link, which Outlook's Word engine keeps.
    return (
        '<table role="presentation" cellpadding="0" cellspacing="0" border="0" style="margin:8px 0 16px 0;">'
        '<tr><td bgcolor="#0f6cbd" style="background:#0f6cbd;border-radius:4px;padding:10px 18px;">'
        f'<a href="{_e(url)}" style="color:#ffffff;text-decoration:none;font-weight:bold;">{_e(label)}</a>'
        "</td></tr></table>"
    )


def mailto_url(url: str) -> str:
    """``url`` unchanged if it is a ``mailto:`` link to one checked address with only percent-encoded
    headers (so nothing in it can break out of an attribute or add a recipient); else ``RenderError``."""
    if _CONTROL.search(url) or any(c.isspace() or c in _NOT_IN_URLS for c in url):
        raise RenderError("a mailto link contains characters that a URL never holds")
    if not url.startswith("mailto:"):
        raise RenderError("not a mailto link")
    to, _, query = url[len("mailto:"):].partition("?")
    mail_address(to)
    for field_ in query.split("&") if query else []:
        name, _, _value = field_.partition("=")
        if name.lower() not in ("subject", "body"):
            raise RenderError(f"a rating link carries only a subject and a body, not {name!r}")
    return url


def _rating_row(links: Sequence[tuple[int, str]]) -> tuple[str, list[str]]:
    """One cell per value (a table: Outlook's Word engine keeps it), each a mailto link showing its value."""
    if not links:
        return "", []
    cells = "".join(
        '<td bgcolor="#e8f1fb" style="background:#e8f1fb;border:1px solid #0f6cbd;border-radius:4px;'
        'padding:8px 14px;text-align:center;">'
        f'<a href="{_e(mailto_url(url))}" style="color:#0f6cbd;text-decoration:none;font-weight:bold;'
        f'font-size:16px;" title="Rate {int(value)} of 5">{int(value)}</a></td><td style="width:6px;"></td>'
        for value, url in links
    )
    html_ = (
        _p("<strong>Rate this session in one click</strong> (1 = poor, 5 = excellent). Each number opens "
           "an email to the programme; send it as it is, or add a comment first:")
        + '<table role="presentation" cellpadding="0" cellspacing="0" border="0" '
        'style="margin:4px 0 12px 0;">' + f"<tr>{cells}</tr></table>"
    )
    text = ["Rate this session in one click (1 = poor, 5 = excellent): open a link, send the email.",
            *(f"  {int(value)}: {mailto_url(url)}" for value, url in links), ""]
    return html_, text


def feedback_email(*, programme_name: str, recipient_name: str, role: Role, partner_name: str,
                   session_number: int, session_date_local: str, agenda: AgendaLike,
                   next_session: tuple[str, str] | None, form_url: str, lead: str,
                   subject: str, rating_links: Sequence[tuple[int, str]] = ()) -> tuple[str, str]:
    """``(html, text)`` of the email each participant gets once a session was held: a row of one-click
    rating links (``rating_links``: ``(value, mailto URL)``), and one link to the form for longer answers."""
    url = https_url(form_url)
    rating_html, rating_text = _rating_row(rating_links)
    agenda = Agenda(*agenda)
    mail_address(lead)
    programme, name, partner = (one_line(v, 200) for v in (programme_name, recipient_name, partner_name))
    when = one_line(session_date_local, 100)
    thanks = (f"Thank you for mentoring {partner} in session {session_number} on {when}."
              if role is Role.MENTOR else
              f"Thank you for your session {session_number} with your mentor {partner} on {when}.")
    ask = "How did it go? Two minutes of your feedback help shape the programme for everyone."
    label = f"Give feedback on session {session_number}"
    if next_session is None:
        next_html = _p("This was your last session in the programme. Thank you for taking part.")
        next_text = "This was your last session in the programme. Thank you for taking part."
    else:
        next_when, next_title = (one_line(v, 200) for v in next_session)
        next_html = _p(f"<strong>Next session:</strong> {_e(next_when)}: {_e(next_title)}")
        next_text = f"Next session: {next_when}: {next_title}"
    body = (
        _p(f"Hello {_e(name)},")
        + _p(_e(thanks))
        + _p(_e(ask))
        + rating_html
        + _button(url, label)
        + _p(f'If the button does not work, open this link: <a href="{_e(url)}" style="color:#0f6cbd;">'
             f"{_e(url)}</a>", _MUTED)
        + _h(f"As a reminder, session {session_number}: {agenda.title}")
        + _bullets(list(agenda.items))
        + next_html
        + _p(f"Questions about {_e(programme)}? Ask {_mailto(lead)}.", _MUTED)
    )
    text = "\n".join([
        f"Hello {name},",
        "",
        thanks,
        ask,
        "",
        *rating_text,
        f"{label}:",
        url,
        "",
        f"As a reminder, session {session_number}: {one_line(agenda.title, 200)}",
        *_text_bullets(list(agenda.items)),
        "",
        next_text,
        "",
        f"Questions about {programme}? Ask {lead}.",
        "",
    ])
    return _page(one_line(subject), body), text


# --- to the lead: escalations ----------------------------------------------------------------------

# reason -> (subject after the programme tag, what happened, what crossgen does next); {mentor}/{mentee}
# are filled with escaped names in HTML and plain names in text.
_ESCALATIONS: dict[EscalationReason, tuple[str, str, str]] = {
    EscalationReason.NO_SLOT: (
        "No time found for {mentor} and {mentee}",
        "crossgen could not find a time that suits both {mentor} and {mentee} within their policy's days, "
        "hours and look-ahead, so the pair is not booked yet.",
        "crossgen tries again on every run and books the pair as soon as a time appears; you will hear about "
        "this pair at most once a week.",
    ),
    EscalationReason.REPORTING_LINE: (
        "Pair refused: {mentor} and {mentee} share a reporting line",
        "One of {mentor} and {mentee} is in the other's management chain, so the pair was refused and "
        "nothing was booked: reverse mentoring needs an openness that a reporting line gets in the way of.",
        "Please pair each of them with someone outside their reporting line.",
    ),
    EscalationReason.CONFLICT_KEPT: (
        "A session of {mentor} and {mentee} is double-booked",
        "A coming session of {mentor} and {mentee} now collides with other commitments or was declined. "
        "Their policy keeps sessions where they are (on_conflict: keep), so crossgen left it in place.",
        "You may want to check with them whether the session will take place.",
    ),
    EscalationReason.CANNOT_MOVE: (
        "A session of {mentor} and {mentee} could not be moved",
        "A coming session of {mentor} and {mentee} was declined or now collides with other commitments, "
        "and crossgen could not move it.",
        "The session stays where it is; you may want to agree a time with them directly.",
    ),
    EscalationReason.DISENGAGED: (
        "{mentor} and {mentee} may have stalled",
        "The sessions of {mentor} and {mentee} have not been taking place, or their ratings say they are not "
        "going well (the details say which).",
        "A short, friendly check-in with both of them often gets a pairing going again.",
    ),
    EscalationReason.PARTIAL: (
        "Not every session of {mentor} and {mentee} could be booked",
        "crossgen booked the sessions of {mentor} and {mentee} that have a time that suits both of them, "
        "but not all of them: the details say which ones and why.",
        "The booked sessions go ahead. The others need a decision: other hours, another day or policy, "
        "or fewer sessions for this pair.",
    ),
    EscalationReason.UNKNOWN_PERSON: (
        "Unknown person in the pair {mentor} and {mentee}",
        "crossgen could not find one of {mentor} and {mentee} in the directory, so the pair cannot be "
        "served.",
        "Please check the address in the programme's pairs file.",
    ),
}


def _with_address(person: PersonLike | str) -> str:
    if isinstance(person, str):
        return one_line(person, 200)
    name, address = person
    return f"{one_line(name, 200)} <{one_line(address, 200)}>" if name.strip() else one_line(address, 200)


def escalation_email(*, reason: EscalationReason, programme_name: str,
                     pair: tuple[PersonLike | str, PersonLike | str], detail: str,
                     suggestions: Sequence[str]) -> tuple[str, str, str]:
    """``(subject, html, text)`` telling the lead that a pair needs a human, and why."""
    mentor, mentee = (_label(p) for p in pair)
    who = " → ".join(_with_address(p) for p in pair)
    subject_t, what_t, next_t = _ESCALATIONS[reason]
    programme = one_line(programme_name, 100)
    plain = {"mentor": mentor, "mentee": mentee}
    escaped = {k: f"<strong>{_e(v)}</strong>" for k, v in plain.items()}
    subject = one_line(f"[{programme}] {subject_t.format(**{k: _named(v, 200) for k, v in plain.items()})}")
    detail_lines = [line.rstrip() for line in detail.strip().splitlines() if line.strip()]
    detail_html = ""
    if detail_lines:
        detail_html = _h("Details") + _p("<br>".join(_e(line) for line in detail_lines),
                                         "background:#f5f7fa;padding:8px 12px;border-left:3px solid #9aa5b1;")
    suggestion_html = (_h("What you could do") + _bullets(list(suggestions))) if suggestions else ""
    body = (
        _p(f"{_e(programme)}: {what_t.format(**escaped)}")
        + _p(f"Pair (mentor → mentee): {_e(who)}", _MUTED)
        + detail_html
        + suggestion_html
        + _p(_e(next_t), _MUTED)
    )
    text_lines = [f"{programme}: {what_t.format(**plain)}", f"Pair (mentor → mentee): {who}", ""]
    if detail_lines:
        text_lines += ["Details:", *(f"  {line}" for line in detail_lines), ""]
    if suggestions:
        text_lines += ["What you could do:", *_text_bullets(list(suggestions)), ""]
    text_lines += [next_t, ""]
    return subject, _page(subject, body), "\n".join(text_lines)


# --- cancelling: the comment Outlook shows with the cancellation ---------------------------------------

_CANCEL_COMMENTS: dict[CancelReason, str] = {
    CancelReason.PAIR_REMOVED: "Your pairing in {programme} has ended: your remaining sessions are "
                               "cancelled, the ones you held stay in your calendar, and no more emails will "
                               "come for it. Thank you both for your time and for everything you shared.",
    CancelReason.PROGRAMME_ENDED: "{programme} has come to an end, so the remaining sessions are cancelled. "
                                  "Thank you both for your time and for everything you learned together.",
    CancelReason.POLICY_CHANGED: "Your sessions in {programme} are moving to a new rhythm: these are "
                                 "cancelled and a new invitation with the new times follows. Thank you!",
    CancelReason.DUPLICATE: "This was a duplicate invitation for your sessions in {programme}; your sessions "
                            "continue in the other one. Sorry for the noise.",
    CancelReason.BLACKOUT: "No session this week: {programme} takes a break on these days. Your sessions "
                           "continue as planned afterwards. Thank you!",
}


def cancellation_comment(reason: CancelReason, programme_name: str, *, lead: str = "", when: str = "",
                         why: str = "", new_rhythm: str = "", next_session: str = "") -> str:
    """The short, kind note sent with a cancellation. Plain text: Graph's cancel comment is not HTML.

    ``when`` and ``why`` name the one session a cancellation removes (day, date, local time and zone; a
    blackout's reason, someone's absence); ``new_rhythm`` says where a re-cut pair's sessions go;
    ``lead`` is whom to ask."""
    programme = one_line(programme_name, 100)
    ask = f" Questions? Write to {one_line(lead, 200)}." if lead else ""
    if reason is CancelReason.BLACKOUT and when:
        because = one_line(why, 300) if why.strip() else f"{programme} takes a break that week"
        after = (f" Your next session: {one_line(next_session, 200)}." if next_session else
                 " Your sessions continue as planned afterwards.")
        return f"No session on {one_line(when, 200)}: {because}.{after}{ask}"
    if reason is CancelReason.POLICY_CHANGED and new_rhythm:
        first = f", from {one_line(next_session, 200)}" if next_session else ""
        return (f"Your sessions in {programme} move to a new rhythm: {one_line(new_rhythm, 200)}{first}. "
                f"These are cancelled and a new invitation with the new dates follows. Thank you!{ask}")
    return _CANCEL_COMMENTS[reason].format(programme=programme) + ask
