"""``plan(desired, observed, now)``: one reconcile pass decided, with no side effects.

A purely computational function (kopf's word): it reads the programme as it should be and the
calendars as they are, and returns the actions that make them match, as values. It touches no
network, no clock and no logger; ``worker.reconcile.apply`` is the only code that writes.

Per pair, in this order:
1. refuse a pair inside one reporting line (and retire its series);
2. send the feedback owed for sessions that took place (oldest first), and notice disengagement;
3. with no live series, find the best recurring slot and book it, or escalate "no slot";
4. with a live series whose policy changed, end it after its last past session and book anew;
5. otherwise repair it: a declined or double-booked future session moves within its week (or the
   lead is told), and each upcoming session gets its own agenda shortly before it.
Series whose pair has left the programme are cancelled with a kind message.
Every write carries a deterministic key, so applying the same plan twice changes nothing.

The package: ``state`` (the plan and its values), ``pair`` (one pair, in order), ``book``, ``lifecycle``
(re-cut and goodbye), ``repair``, ``feedback`` (and disengagement), ``series`` (reading our series),
``escalate``. Each is pure, as the whole is.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime

from worker.core.actions import SKIPPED_BECAUSE, Action, CancelReason
from worker.core.desired import PROP_PROGRAMME, Desired, Observed, PairDesired, shard_owns
from worker.core.plan.book import transaction_id
from worker.core.plan.feedback import DISENGAGED_AFTER, held_numbers
from worker.core.plan.lifecycle import _retire
from worker.core.plan.pair import _isolated
from worker.core.plan.series import _series_order
from worker.core.plan.state import PROP_ENDED, PairState, PairStatus, Plan, _Run
from worker.core.types import SeriesInfo


def plan(desired: Desired, observed: Observed, now: datetime) -> Plan:
    """Decide one reconcile pass. ``now`` is aware; nothing here reads the clock."""
    planner = Planner(desired, observed, now)
    for pair in desired.pairs:
        planner.pair(pair)
    planner.retirements()
    return planner.plan()


class Planner:
    """``plan`` one pair at a time, for a run that starts writing while it is still reading.

    Pairs are decided in the programme's order, as ``plan`` decides them, each with the sessions that
    earlier pairs committed to its people. ``observed`` must hold every series (and occurrence) read;
    its schedules and chains may still be filling, as long as a pair's two people are in before
    :meth:`pair` is called for it. So a run that feeds pairs as their reads arrive makes the very
    decisions ``plan`` would have made over the finished reads.
    """

    def __init__(self, desired: Desired, observed: Observed, now: datetime) -> None:
        if now.tzinfo is None:
            raise ValueError("now must be timezone-aware")
        self._run = _Run(desired, observed, now.astimezone(UTC))
        ours = [s for s in observed.series if s.properties.get(PROP_PROGRAMME, desired.key) == desired.key]
        self._by_pair: dict[str, list[SeriesInfo]] = defaultdict(list)
        for series in ours:
            self._by_pair[series.key].append(series)
        self._statuses: list[PairStatus] = []

    def pair(self, pair: PairDesired) -> tuple[PairStatus, list[Action]]:
        """Decide ``pair``; its status, and its actions in the order they are to be carried out."""
        run = self._run
        before = len(run.actions)
        pair = pair.from_directory(run.observed.people)  # people as the directory names them
        status = _isolated(run, pair, sorted(self._by_pair.get(pair.id, []), key=_series_order))
        self._statuses.append(status)
        return status, run.actions[before:]

    def retirements(self) -> list[Action]:
        """Cancel the series of pairs gone from the whole programme (another shard's pair is not ours
        to cancel). Called once, after the last pair."""
        run, desired = self._run, self._run.desired
        before = len(run.actions)
        wanted = {p.id for p in desired.pairs} | desired.all_pairs
        for key in sorted(set(self._by_pair) - wanted):
            if not shard_owns(
                desired.shard,
                organizer=self._by_pair[key][0].organizer,
                organizers=desired.all_organizers or desired.organizers,
                pair=key,
            ):
                continue
            for series in sorted(self._by_pair[key], key=_series_order):
                _retire(run, key, series, CancelReason.PAIR_REMOVED)
        return run.actions[before:]

    def plan(self) -> Plan:
        """Everything decided so far, as one ``Plan``."""
        return Plan(tuple(self._run.actions), tuple(self._statuses))


__all__ = [
    "DISENGAGED_AFTER",
    "PROP_ENDED",
    "SKIPPED_BECAUSE",
    "PairState",
    "PairStatus",
    "Plan",
    "Planner",
    "held_numbers",
    "plan",
    "transaction_id",
]
