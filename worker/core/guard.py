"""The mass-cancel guard: refuse a pass that would cancel most of the programme's booked pairs at once.

crossgen cancels the series of a pair that is gone from ``pairs.yaml``. That makes what is *missing*
from its input destructive: a ConfigMap truncated in transit, a bad merge or a trial copy of the
programme folder (same ``key``, other pairs) would cancel, in one pass, sessions that participants have
planned around. So, as Argo CD and Flux make pruning opt-in and Terraform shows destroys first, a pass
whose retirements look like such an accident is refused as a whole (``crossgen run`` exits 2 and
writes nothing) until someone confirms it (``--confirm-cancel``).

What counts, decided here with no I/O from what one pass read (``Observed``) and what the programme
says (``Desired``), for the pairs this shard serves:

- the pairs *booked*: those whose live series of this programme still has sessions to come, i.e. the
  pairs an emptied ``pairs.yaml`` would cancel. A programme past its ``end`` has none, so ending on
  time is never a mass cancel;
- the pairs *cancelled*: those the planner retires because they left the programme (``Cancel`` with
  reason ``pair_removed``, from ``Planner.retirements``: the same decision, not a copy of it).
  Pairs refused for a reporting line are cancelled pair by pair, while the run writes, and are not
  counted: they depend on the directory, not on what is missing from pairs.yaml.

The pass is refused when it cancels at least ``MIN_PAIRS`` pairs and more than half (``SHARE``) of the
booked ones. When the programme also keeps none of its booked pairs while naming pairs of its own, it
looks like another programme under the same key (a copied folder), and the refusal says so.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime

from worker.core.actions import Cancel, CancelReason
from worker.core.desired import PROP_PROGRAMME, Desired, Observed
from worker.core.plan import PROP_ENDED, Planner
from worker.core.types import SeriesInfo

# A pass cancelling fewer pairs than this is never refused: a lead removing a pair or two from a small
# programme must not need a flag. An emptied pairs.yaml is refused when it is loaded, whatever the size.
MIN_PAIRS = 3
# ... and at least this share of the booked pairs must be cancelled at once (strictly more than half).
SHARE = 0.5


class Suspicion(enum.Enum):
    MOST_PAIRS_REMOVED = "most_pairs_removed"  # a truncated or emptied pairs.yaml, a bad merge
    OTHER_PROGRAMME = "other_programme"  # none of the booked pairs is in this config: a copied folder?


@dataclass(frozen=True, slots=True)
class Removal:
    """One pair this pass would cancel, with the people its series names (the config no longer does)."""

    pair: str
    people: tuple[str, ...]
    series: int  # how many of its series would be cancelled or cut short


@dataclass(frozen=True, slots=True)
class CancelGuard:
    """The guard's verdict on one pass: what it would cancel, out of what is booked, and whether that
    looks like an accident (``suspicion``)."""

    booked: int  # pairs with sessions still to come in this programme's series
    kept: int  # of those, pairs the programme still names
    new: int  # pairs the programme names that have no series yet
    removals: tuple[Removal, ...]  # pairs this pass cancels because they left the programme
    key: str = ""

    @property
    def cancelling(self) -> int:
        return len(self.removals)

    @property
    def suspicion(self) -> Suspicion | None:
        if self.cancelling < MIN_PAIRS or self.cancelling <= SHARE * self.booked:
            return None
        if self.kept == 0 and self.new > 0:
            return Suspicion.OTHER_PROGRAMME
        return Suspicion.MOST_PAIRS_REMOVED

    @property
    def refuses(self) -> bool:
        return self.suspicion is not None

    def as_json(self) -> dict[str, object]:
        return {
            "refuses": self.refuses,
            "suspicion": self.suspicion.value if self.suspicion else None,
            "booked": self.booked,
            "kept": self.kept,
            "new": self.new,
            "cancelling": [{"pair": r.pair, "people": list(r.people)} for r in self.removals],
        }

    def headline(self) -> str:
        """One sentence for a log line or the first line of a refusal."""
        head = (
            f"this pass would cancel the sessions of {self.cancelling} of the {self.booked} pairs booked "
            f"under programme key {self.key!r}"
        )
        if self.suspicion is Suspicion.OTHER_PROGRAMME:
            return (
                f"{head}, and book {self.new} pairs of its own: this configuration shares no booked pair "
                "with the programme that booked them, so it looks like another programme (a copied "
                "folder?) under the same key"
            )
        return f"{head}; only {self.kept} booked pairs are still in pairs.yaml"

    def explain(self, *, config: str = "DIR", preview: bool = False) -> list[str]:
        """The whole refusal, line by line: what, which pairs, and how to proceed. ``preview``: said by
        ``plan``, which writes nothing anyway, of what ``run`` would refuse."""
        first = "warning: `crossgen run` would refuse this pass" if preview else "refused"
        lines = [f"{first}: {self.headline()}.", "It would cancel:"]
        for removal in self.removals:
            who = " and ".join(removal.people) or "(no attendees listed)"
            lines.append(f"  {removal.pair}: {who}")
        lines += [
            "To proceed:" if preview else "Nothing was written. To proceed:",
            "  - if pairs.yaml was truncated or emptied by mistake, restore it; the next pass goes on as "
            "before;",
            "  - to trial a copy of a programme, give the copy its own `key` in program.yaml and use "
            "`crossgen plan` or `crossgen run --dry-run`;",
            f"  - if these pairs really leave the programme, run once: crossgen run --config {config} "
            "--confirm-cancel",
            "    (the next passes need no flag: the cancelled pairs are no longer booked)",
        ]
        return lines


def judge(desired: Desired, observed: Observed, now: datetime) -> CancelGuard:
    """The guard's verdict on the pass ``plan(desired, observed, now)`` would make. Needs only the
    series and their occurrences, so a run that writes asks it before its first write."""
    # What an emptied programme would cancel: every pair with sessions to come, as the planner sees them.
    # The pairs this programme cancels are those of them it no longer names (``retirements`` decides each
    # pair alone, so asking once with no pairs wanted gives both; each series' pattern is expanded once).
    nothing = replace(desired, pairs=(), all_pairs=frozenset())
    everything = Planner(nothing, observed, now).retirements()
    booked = {a.pair for a in everything}
    named = {p.id for p in desired.pairs} | desired.all_pairs
    removed = [a for a in everything if a.pair not in named]
    ours = {s.key for s in observed.series if _ours(s, desired) and PROP_ENDED not in s.properties}
    by_pair: dict[str, list[Cancel]] = {}
    for action in removed:
        if isinstance(action, Cancel) and action.reason is CancelReason.PAIR_REMOVED:
            by_pair.setdefault(action.pair, []).append(action)
    series = {s.id: s for s in observed.series}
    removals = tuple(
        Removal(pair, _people([series[c.event_id] for c in cancels if c.event_id in series]), len(cancels))
        for pair, cancels in sorted(by_pair.items())
    )
    return CancelGuard(
        booked=len(booked),
        kept=len(booked & named),
        new=len({p.id for p in desired.pairs} - ours),
        removals=removals,
        key=desired.key,
    )


def _ours(series: SeriesInfo, desired: Desired) -> bool:
    return series.properties.get(PROP_PROGRAMME, desired.key) == desired.key


def _people(series: list[SeriesInfo]) -> tuple[str, ...]:
    """The pair's two people as the series names them (display name and address), organiser left out."""
    seen: dict[str, str] = {}
    for s in series:
        for attendee in s.attendees:
            if attendee.address.lower() != s.organizer.lower():
                seen.setdefault(attendee.address.lower(), attendee.name or attendee.address)
    return tuple(f"{name} <{address}>" if name != address else address for address, name in seen.items())
