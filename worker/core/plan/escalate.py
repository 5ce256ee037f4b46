"""Telling the programme lead, at most once per episode (a deterministic key on the email)."""

from __future__ import annotations

from worker.core import render
from worker.core.actions import (
    Escalate,
    EscalationReason,
)
from worker.core.desired import (
    PairDesired,
)
from worker.core.plan.state import _Run
from worker.core.types import (
    MailSpec,
)


def _escalate(run: _Run, pair: PairDesired, reason: EscalationReason, detail: str, *, period: str) -> None:
    """Tell the lead, at most once per ``period`` ("once", "week", or a named episode)."""
    if period == "week":
        year, week, _ = run.now.isocalendar()
        period = f"{year}-W{week:02d}"
    key = f"{run.desired.key}/{pair.id}/escalate/{reason.value}/{period}"
    if key in run.observed.sent:
        return  # the lead already knows; the pair's status still says so
    subject, html, text = render.escalation_email(
        reason=reason,
        programme_name=run.desired.name,
        pair=((pair.mentor.name, pair.mentor.address), (pair.mentee.name, pair.mentee.address)),
        detail=detail,
        suggestions=[],
    )
    mail = MailSpec(
        sender=pair.organizer, key=key, to=(run.desired.lead,), subject=subject, html=html, text=text
    )
    run.actions.append(Escalate(pair.id, reason, detail, mail))
