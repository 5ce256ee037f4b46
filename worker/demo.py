"""``crossgen demo``: the whole programme on the seeded sandbox tenant, in-process, with simulated time.

The story a new user sees, in under half a minute and with no Microsoft account:
1. the example programme is validated, and ``crossgen match`` shows who it would pair from the
   example pool (``config/pool.yaml``) and why the others are left out;
2. the plan for the first run (nothing written);
3. the run books every pair it can, and a week view shows who meets when, in each person's time;
4. a week later one mentee declines a session and an "urgent" meeting lands on another; the next run
   moves both sessions within their week;
5. six weeks in, the sessions that took place have their feedback emails, one per participant;
6. participants rate their sessions with one click (one adds a comment, one forwards their email to a
   colleague who tries to rate with it); the next run counts the genuine ratings and ignores the forged;
7. the programme report for the lead, with the ratings, and the company summary.
Everything goes through the real worker: MSAL, msgraph-sdk, pacing, the planner and the apply step,
against the sandbox's Graph over in-process transports.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from worker.core.actions import Book, Move
from worker.core.types import Interval, OccurrenceInfo
from worker.reconcile.run import RunResult

START = datetime(2027, 1, 4, 7, 0, tzinfo=UTC)  # the Monday before the example programme starts


@dataclass
class Story:
    """What the demo did, for the terminal and for ``--json``."""

    steps: list[dict[str, Any]] = field(default_factory=list)

    def add(self, name: str, **data: Any) -> dict[str, Any]:
        step = {"step": name, **data}
        self.steps.append(step)
        return step


def default_config() -> Path:
    """The example programme shipped beside the package (the repository's ``config/``)."""
    return Path(__file__).resolve().parent.parent / "config"


def _zone_of(result: RunResult, address: str) -> ZoneInfo | Any:
    sched = result.observed.schedules.get(address)
    return sched.working_hours.zone if sched and sched.working_hours else result.desired.zone


def _local(at: datetime, zone: Any) -> str:
    return at.astimezone(zone).strftime("%a %d %b %H:%M")


def week_view(result: RunResult) -> list[dict[str, Any]]:
    """Each booked pair's first session, in the mentor's and the mentee's own local time."""
    rows = []
    pairs = {p.id: p for p in result.desired.pairs}
    for action in result.plan.actions:
        if not isinstance(action, Book):
            continue
        pair = pairs[action.pair]
        first = action.sessions[0]
        rows.append(
            {
                "pair": pair.id,
                "mentor": pair.mentor.name,
                "mentee": pair.mentee.name,
                "cadence": str(action.spec.recurrence.cadence),
                "sessions": len(action.sessions),
                "start_utc": first.start.isoformat(),
                "mentor_local": _local(first.start, _zone_of(result, pair.mentor.address)),
                "mentee_local": _local(first.start, _zone_of(result, pair.mentee.address)),
                "mentor_zone": str(_zone_of(result, pair.mentor.address)),
                "mentee_zone": str(_zone_of(result, pair.mentee.address)),
            }
        )
    rows.sort(key=lambda r: r["start_utc"])
    return rows


async def _upcoming(gateway: Any, result: RunResult, pair_id: str, after: datetime) -> OccurrenceInfo | None:
    """The pair's first occurrence starting after ``after`` (outside the freeze window)."""
    for series in result.observed.series or ():
        if series.key == pair_id:
            break
    else:
        found = await gateway.find_series(
            next(p.organizer for p in result.desired.pairs if p.id == pair_id), pair_id
        )
        if not found:
            return None
        series = found[0]
    window_end = after + timedelta(days=28)
    occurrences = await gateway.occurrences(series.organizer, series.id, Interval(after, window_end))
    return next((o for o in occurrences if o.start > after and not o.is_cancelled), None)


async def _match(config: Path, gateway: Any, now: datetime) -> dict[str, Any]:
    """``crossgen match`` on the example pool, as for a new programme (its pairs.yaml set aside):
    who it would pair, and who it leaves out and why. Nothing is written; the demo then goes on with
    the example's own pairs."""
    import dataclasses

    from worker.matching.pool import load_pool
    from worker.matching.propose import propose
    from worker.policies.load import load_programme

    programme = dataclasses.replace(load_programme(config), pairs=())
    proposal = await propose(programme, load_pool(config / "pool.yaml", programme), gateway=gateway, now=now)
    return {
        "pairs": [
            {"mentor": p.mentor.name, "mentee": p.mentee.name, "topics": list(p.topics),
             "first": p.sessions[0].start.isoformat() if p.sessions else None}
            for p in proposal.pairs
        ],
        "unmatched": [{"who": u.person.name, "role": u.role, "why": u.why} for u in proposal.unmatched],
    }


async def run_demo(*, config: Path | None = None, seed: int = 0, echo: Any = None) -> Story:
    """Play the story; ``echo(kind, data)`` is told of each step as it happens (the terminal view)."""
    from worker.inprocess import Participant, SimulatedTime, connect
    from worker.policies.load import load_programme
    from worker.reconcile.run import programme_report, reconcile
    from worker.sandbox.app import create_app

    config = config or default_config()
    say = echo or (lambda kind, data: None)
    story = Story()
    app = create_app(seed=seed)
    clock = SimulatedTime(app, START)
    gateway = connect(app, time=clock)
    person = Participant(app)
    at = clock.set

    try:
        with tempfile.TemporaryDirectory(prefix="crossgen-demo-") as state:
            state_path = Path(state)
            programme = load_programme(config)
            say(
                "validate",
                story.add(
                    "validate",
                    programme=programme.program.name,
                    pairs=len(programme.pairs),
                    policies=sorted(programme.policies),
                    config=str(config),
                ),
            )

            if (config / "pool.yaml").exists():
                say("match", story.add("match", **await _match(config, gateway, clock.now)))

            planned = await reconcile(
                config, gateway=gateway, now=clock.now, dry_run=True, state_path=state_path
            )
            say(
                "plan", story.add("plan", at=clock.now.isoformat(), result=planned, summary=planned.summary())
            )

            booked = await reconcile(config, gateway=gateway, now=clock.now, state_path=state_path)
            say(
                "run",
                story.add(
                    "book",
                    at=clock.now.isoformat(),
                    summary=booked.summary(),
                    week=week_view(booked),
                    statuses=[
                        {"pair": s.pair, "state": s.state, "detail": s.detail} for s in booked.plan.statuses
                    ],
                ),
            )

            # A week later: a mentee declines a session, and an "urgent" meeting lands on another.
            at(START + timedelta(days=7))
            events: list[dict[str, Any]] = []
            booked_pairs = [a.pair for a in booked.plan.actions if isinstance(a, Book)]
            pairs = {p.id: p for p in booked.desired.pairs}
            repaired = None
            if booked_pairs:
                first = pairs[booked_pairs[0]]
                occ = await _upcoming(gateway, booked, first.id, clock.now + timedelta(days=2))
                if occ is not None:
                    await person.respond(
                        first.mentee.address,
                        occ.id,
                        "decline",
                        comment="Board meeting moved onto this slot, sorry.",
                    )
                    events.append(
                        {
                            "what": "declined",
                            "by": first.mentee.name,
                            "pair": first.id,
                            "start": occ.start.isoformat(),
                        }
                    )
            movable = [p for p in booked_pairs[1:] if pairs[p].rules.on_conflict == "move"]
            if movable:
                second = pairs[movable[0]]
                occ = await _upcoming(gateway, booked, second.id, clock.now + timedelta(days=2))
                if occ is not None:
                    await person.add_meeting(
                        second.mentor.address,
                        "Urgent: customer escalation",
                        occ.start - timedelta(minutes=15),
                        occ.end + timedelta(minutes=15),
                    )
                    events.append(
                        {
                            "what": "double-booked",
                            "by": second.mentor.name,
                            "pair": second.id,
                            "start": occ.start.isoformat(),
                        }
                    )
            repaired = await reconcile(config, gateway=gateway, now=clock.now, state_path=state_path)
            moves = [
                {
                    "pair": a.pair,
                    "session": a.session,
                    "reason": a.reason.value,
                    "from": a.old_start.isoformat(),
                    "to": a.new.start.isoformat(),
                    "mentor": pairs[a.pair].mentor.name,
                    "mentee": pairs[a.pair].mentee.name,
                }
                for a in repaired.plan.actions
                if isinstance(a, Move)
            ]
            say(
                "repair",
                story.add(
                    "repair",
                    at=clock.now.isoformat(),
                    events=events,
                    moves=moves,
                    summary=repaired.summary(),
                    zone=programme.program.zone_name,
                ),
            )

            # Six weeks in: the sessions that took place get their feedback emails.
            at(START + timedelta(weeks=6))
            followed = await reconcile(config, gateway=gateway, now=clock.now, state_path=state_path)
            sent = await person.sent_items(programme.program.organizer)
            mails = [
                {
                    "to": ", ".join(r["emailAddress"]["address"] for r in m.get("toRecipients", [])),
                    "subject": m.get("subject", ""),
                }
                for m in sent
            ]
            # Feedback goes to participants, escalations to the lead: counted apart, listed apart.
            lead = programme.program.lead.lower()
            escalations = [m for m in mails if m["to"].lower() == lead]
            feedback = [m for m in mails if m["to"].lower() != lead]
            say(
                "feedback",
                story.add(
                    "feedback",
                    at=clock.now.isoformat(),
                    summary=followed.summary(),
                    emails=feedback,
                    escalations=escalations,
                    feedback=len(feedback),
                ),
            )

            again = await reconcile(config, gateway=gateway, now=clock.now, state_path=state_path)
            say("steady", story.add("steady", at=clock.now.isoformat(), summary=again.summary()))

            # The day after: people rate their sessions in one click, from their mail client.
            at(clock.now + timedelta(days=1))
            clicks = await _rate(person, again)
            rated = await reconcile(config, gateway=gateway, now=clock.now, state_path=state_path)
            say(
                "ratings",
                story.add("ratings", at=clock.now.isoformat(), clicks=clicks, summary=rated.summary()),
            )

            report = await programme_report(config, gateway=gateway, now=clock.now, state_path=state_path)
            from worker.report.company import render_company_md
            from worker.report.render_md import render_md

            say(
                "report",
                story.add(
                    "report",
                    at=clock.now.isoformat(),
                    markdown=render_md(report),
                    company=render_company_md(report),
                    report=report,
                ),
            )
            say(
                "requests",
                story.add(
                    "requests", per_mailbox=gateway.requests_made, total=sum(gateway.requests_made.values())
                ),
            )
    finally:
        await person.aclose()
        await gateway.aclose()
    return story


_RATING_LINK = re.compile(r'<a href="(mailto:[^"]+)"[^>]*title="Rate (\d) of 5">')
_COMMENTS = (
    "Loved the part on how younger customers search: I will try it with my team.",
    "Hard to find the time this month, but worth it.",
)


async def _rate(person: Any, result: RunResult) -> list[dict[str, Any]]:
    """Each participant opens their feedback emails and clicks a rating (most of them, not all: some
    never answer); two add a comment; one forwards their email to a colleague, who clicks in it."""
    clicks: list[dict[str, Any]] = []
    people = sorted({a for p in result.desired.pairs for a in (p.mentor.address, p.mentee.address)})
    forged = False
    for index, address in enumerate(people):
        if index % 4 == 3:
            continue  # this one does not answer
        for mail in await person.inbox(address):
            links = {int(v): html.unescape(u) for u, v in _RATING_LINK.findall(mail["body"]["content"])}
            if not links:
                continue
            value = (3, 4, 5, 5, 4, 2)[(index + len(clicks)) % 6]
            comment = _COMMENTS[len(clicks) % 2] if len(clicks) < 2 else ""
            await person.send_mailto(address, links[value], comment=comment)
            clicks.append({"by": address, "value": value, "comment": bool(comment)})
            if not forged:  # a colleague gets the forwarded email and tries its "1"
                colleague = people[(index + 1) % len(people)]
                await person.send_mailto(colleague, links[1])
                clicks.append({"by": colleague, "value": 1, "forged": True})
                forged = True
    return clicks


def story_json(story: Story) -> str:
    """The story for machines: plain JSON, run results reduced to their summaries."""

    from worker.report.model import ProgrammeReport

    def clean(step: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in step.items() if not isinstance(v, RunResult | ProgrammeReport)}

    steps = {"steps": [clean(s) for s in story.steps]}
    return json.dumps(steps, default=str, sort_keys=True, ensure_ascii=False)  # "Léa", not escapes
