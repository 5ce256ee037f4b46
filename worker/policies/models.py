"""The three programme files as strict pydantic models: what a lead may write, and nothing else.

These models check each value on its own (types, units, spelling, unknown keys) and are the source of
the JSON Schemas editors use. Checks that need several values or several files (a window too short
for the duration, a policy that does not exist, a pair outside the programme's dates) happen in
``worker.policies.load``, which also applies ``extends``; the rest of the worker uses the resolved
``worker.policies.programme.Programme``, never these models.

In a policy every key is optional, so that ``extends`` can inherit it; after resolving, ``cadence``,
``duration`` and ``sessions`` are required and the rest take the defaults written in ``DEFAULTS``.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainValidator,
    StrictBool,
    StrictInt,
    StrictStr,
    WithJsonSchema,
)

from worker.policies.templates import PLACEHOLDERS, check_form, check_subject
from worker.policies.values import (
    Address,
    CadenceValue,
    Day,
    Days,
    Domain,
    Duration,
    Name,
    Organizers,
    Window,
    ZoneName,
    choice,
)

SHOW_AS = ("free", "tentative", "busy", "oof", "workingElsewhere")
SENSITIVITY = ("normal", "personal", "private", "confidential")
ON_CONFLICT = ("move", "keep")

# Defaults of a resolved policy, for what neither it nor any policy it extends sets.
DEFAULTS: dict[str, Any] = {
    "days": "[mon, tue, wed, thu, fri]",
    "hours": "09:00-17:00",
    "avoid": "[]",
    "buffer": "0m",
    "lookahead": "2 weeks",
    "teams_meeting": True,
    "on_conflict": "move",
    "freeze": "24h",
    "max_moves": 2,
    "max_exceptions": None,  # half the series' sessions
    "agenda_lead": "2 days",
    "category": "Reverse mentoring",
    "feedback": None,  # no feedback email after sessions
    "agenda": None,  # no curriculum: invitations carry the pair's topics only
    "protect.show_as": "busy",
    "protect.sensitivity": "private",
    "protect.allow_new_time_proposals": False,
    "protect.reminder": "15m",
}


ShowAs = Annotated[str, PlainValidator(choice(*SHOW_AS)), WithJsonSchema({"enum": list(SHOW_AS)})]
Sensitivity = Annotated[
    str, PlainValidator(choice(*SENSITIVITY)), WithJsonSchema({"enum": list(SENSITIVITY)})
]
OnConflict = Annotated[str, PlainValidator(choice(*ON_CONFLICT)), WithJsonSchema({"enum": list(ON_CONFLICT)})]


_PLACEHOLDER_NOTE = "Placeholders: " + ", ".join("{" + p + "}" for p in PLACEHOLDERS) + "."
Text = Annotated[StrictStr, Field(min_length=1)]


class _Strict(BaseModel):
    # Lax only so that YAML lists become tuples; scalars are strict (StrictInt, StrictBool, StrictStr):
    # `sessions: "10"` or `teams_meeting: "yes"` is a mistake to point at, not to coerce.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProgramSection(_Strict):
    name: Text = Field(description="The programme's name, shown in emails and reports.")
    key: Name | None = Field(
        None,
        description=(
            "A stable identifier that tags every series and email of the programme; default: derived from "
            "the name. Set it before the first run if the name may change: a new key is a new programme."
        ),
    )
    organizer: Organizers = Field(
        description="The programme mailbox that organises every series and sends every email; "
        "a list of mailboxes spreads the pairs across them."
    )
    lead: Address = Field(description="Receives escalations (no slot found, a stalled pair) and reports.")
    timezone: ZoneName = Field(description="The zone of the dates written in these files (IANA, or Windows).")
    start: Day = Field(description="No session before this day.")
    end: Day = Field(description="No session after this day.")
    mailbox_domains: Annotated[tuple[Domain, ...], Field(min_length=1)] = Field(
        description="Any address in another domain is a configuration error."
    )
    default_policy: Name = Field(description="The policy of pairs that name none.")
    reject_reporting_lines: StrictBool = Field(
        True,
        description=(
            "Refuse a mentor inside the mentee's management chain (either way, any depth): "
            "such a pair is reported, never booked."
        ),
    )


class ProgramFile(_Strict):
    """program.yaml"""

    program: ProgramSection


class ProtectSection(_Strict):
    show_as: ShowAs | None = Field(None, description="Outlook's show-as; default busy.")
    sensitivity: Sensitivity | None = Field(None, description="Default private.")
    allow_new_time_proposals: StrictBool | None = Field(None, description="Default false.")
    reminder: Duration | None = Field(None, description="Reminder before each session; default 15m.")


class PolicySection(_Strict):
    extends: Name | None = Field(None, description="Take every key from this policy, then these.")
    cadence: CadenceValue | None = Field(
        None,
        description=(
            "weekly | every N weeks | monthly (same weekday of the month, e.g. 2nd Tuesday) | every N months."
        ),
    )
    duration: Duration | None = Field(None, description="Length of each session, e.g. 45m or 1h.")
    sessions: Annotated[StrictInt, Field(ge=1, le=200)] | None = Field(
        None, description=("The series ends after this many sessions, or at program.end.")
    )
    days: Days | None = Field(None, description="Days a session may fall on; default mon..fri.")
    hours: Window | None = Field(
        None,
        description=(
            "Wall-clock window in EACH participant's own mailbox zone; default 09:00-17:00. The session "
            "must also lie inside both people's Outlook working hours."
        ),
    )
    avoid: tuple[Window, ...] | None = Field(None, description="Local windows never booked (e.g. lunch).")
    buffer: Duration | None = Field(
        None, description="Both people free this long before and after; default 0m."
    )
    lookahead: Duration | None = Field(
        None,
        description=(
            "The first session is searched in this window from the start (or today); default 2 weeks."
        ),
    )
    protect: ProtectSection | None = None
    teams_meeting: StrictBool | None = Field(None, description="Add a Teams meeting; default true.")
    on_conflict: OnConflict | None = Field(
        None,
        description=(
            "A future session that became double-booked or was declined: move = move it to another mutual "
            "slot the same week; keep = leave it and tell the lead. Default move."
        ),
    )
    feedback: Name | None = Field(None, description="A feedback template sent after each session held.")
    agenda: Name | None = Field(None, description="An agenda: session n uses item n, the last repeats.")
    freeze: Duration | None = Field(
        None, description="Sessions starting sooner than this are never moved; default 24h."
    )
    max_moves: Annotated[StrictInt, Field(ge=0, le=20)] | None = Field(
        None, description=("Moves allowed per session before the lead is told instead; default 2.")
    )
    max_exceptions: Annotated[StrictInt, Field(ge=0, le=100)] | None = Field(
        None,
        description=(
            "Sessions of a series that may be exceptions (moved within their week, or cancelled when the "
            "week has no common time) before the series stops and the lead is told which sessions need a "
            "decision; default half the series' sessions."
        ),
    )
    agenda_lead: Duration | None = Field(
        None, description=("How long before a session its own agenda is written into it; default 2 days.")
    )
    category: Text | None = Field(
        None, description="Outlook category on every session; default Reverse mentoring."
    )


class BlackoutSection(_Strict):
    model_config = ConfigDict(populate_by_name=False)

    start: Day = Field(alias="from", description="First day without sessions.")
    end: Day = Field(alias="to", description="Last day without sessions (inclusive).")
    reason: StrictStr = Field("", description="Shown to the lead in reports.")


_Form = Annotated[
    str,
    PlainValidator(check_form),
    WithJsonSchema(
        {"type": "string", "pattern": "^https://", "description": "https link. " + _PLACEHOLDER_NOTE}
    ),
]
_Subject = Annotated[
    str,
    PlainValidator(check_subject),
    WithJsonSchema(
        {"type": "string", "pattern": "^[^\\r\\n]*$", "maxLength": 255, "description": _PLACEHOLDER_NOTE}
    ),
]


class FeedbackSection(_Strict):
    form: _Form = Field(description="The form link. " + _PLACEHOLDER_NOTE + " Values are URL-encoded.")
    send_after: Duration = Field(
        timedelta(minutes=30),
        json_schema_extra={"default": "30m"},
        description=("After the session's end, and only if it was not cancelled; default 30m."),
    )
    subject: _Subject = Field(
        "How did session {session} with {partner} go?", description=("One line. " + _PLACEHOLDER_NOTE)
    )


class AgendaItemSection(_Strict):
    title: Text
    items: tuple[Text, ...] = ()


class PoliciesFile(_Strict):
    """policies.yaml"""

    policies: Annotated[dict[Name, PolicySection], Field(min_length=1)]
    blackouts: tuple[BlackoutSection, ...] = Field(
        (), description="No session is booked or moved into these days."
    )
    feedback: dict[Name, FeedbackSection] = Field(default_factory=dict)
    agendas: dict[Name, Annotated[tuple[AgendaItemSection, ...], Field(min_length=1)]] = Field(
        default_factory=dict,
        description="Session n uses item n; the last item repeats if there are more sessions.",
    )


class PairSection(_Strict):
    mentor: Address = Field(description="The junior, digital-native employee.")
    mentee: Address = Field(description="The senior leader.")
    policy: Name | None = Field(None, description="Default: program.default_policy.")
    topics: tuple[Text, ...] = ()
    start: Day | None = Field(None, description="When this pair joins, if later than program.start.")


class PersonSection(_Strict):
    name: Text = Field(
        description="How invitations, emails and reports name this person, accents and all; "
        "default: the directory's displayName."
    )


class PairsFile(_Strict):
    """pairs.yaml"""

    pairs: tuple[PairSection, ...]
    people: dict[Address, PersonSection] = Field(
        default_factory=dict,
        description="Optional, by address: a name that overrides the directory's (each one in some pair).",
    )
