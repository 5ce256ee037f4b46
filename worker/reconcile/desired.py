"""From the programme YAML's resolved model to the planner's ``Desired``, for one shard.

Scale-out: ``program.organizer`` may list several programme mailboxes; each pair belongs to one of
them (rendezvous hashing, ``Programme.organizer_for``), so it stays put when a mailbox is added. With
``--shard i/n`` a worker serves only the pairs whose organiser mailbox falls in its shard (mailbox
index mod n), so shards never share a mailbox's request budget; with fewer mailboxes than shards,
pairs are split by their own hash instead. No coordination is needed beyond Graph itself.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from worker.core.desired import (
    AgendaEntry,
    Desired,
    FeedbackRules,
    PairDesired,
    Participant,
    Rules,
    shard_owns,
)
from worker.policies.programme import Pair, Policy, Programme


@dataclass(frozen=True, slots=True)
class Shard:
    index: int
    count: int

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index}/{self.count}: expected 0 <= i < n")

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


class ShardError(ValueError):
    """The shard this worker should serve cannot be told: ``crossgen run`` exits 2 before any Graph call."""


def shard_from(option: str | None, environ: Mapping[str, str]) -> Shard | None:
    """The shard to serve: ``--shard i/n``, else the Indexed Job's ``JOB_COMPLETION_INDEX`` of
    ``CROSSGEN_SHARDS``, else the whole programme (None).

    Kubernetes tells each pod of an Indexed Job its index and nothing else, so the shard count is read
    from one place, ``CROSSGEN_SHARDS``, which the manifest sets to the Job's ``completions``. What one
    pod can see of a mismatch is refused: an index with no count (every pod would serve every pair) and
    an index at or past the count (``completions`` larger than ``CROSSGEN_SHARDS``). The other way round,
    a count larger than ``completions``, leaves shards that no pod runs; no pod can see that, so
    ``tests/ship`` holds the manifest's three numbers equal.
    """
    if option:
        try:
            i, n = (int(x) for x in option.split("/"))
            return Shard(i, n)
        except ValueError as exc:
            raise ShardError(f"--shard {option!r}: expected i/n with 0 <= i < n, e.g. 0/4 ({exc})") from exc
    index_text = environ.get("JOB_COMPLETION_INDEX", "").strip()
    count_text = environ.get("CROSSGEN_SHARDS", "").strip()
    if not index_text and not count_text:
        return None
    try:
        count = int(count_text) if count_text else None
        index = int(index_text) if index_text else None
    except ValueError as exc:
        raise ShardError(
            f"JOB_COMPLETION_INDEX={index_text!r}, CROSSGEN_SHARDS={count_text!r}: expected whole numbers"
        ) from exc
    if count is None:
        raise ShardError(
            f"JOB_COMPLETION_INDEX={index} (an Indexed Job) but CROSSGEN_SHARDS is not set: set it to the "
            "Job's completions, or every pod would serve every pair"
        )
    if count < 1:
        raise ShardError(f"CROSSGEN_SHARDS={count}: expected 1 or more")
    if index is None:
        if count == 1:
            return None
        raise ShardError(
            f"CROSSGEN_SHARDS={count} but JOB_COMPLETION_INDEX is not set: outside an Indexed Job, "
            f"say which shard with --shard i/{count}"
        )
    if not 0 <= index < count:
        raise ShardError(
            f"JOB_COMPLETION_INDEX={index} is not below CROSSGEN_SHARDS={count}: the Job's completions "
            "and CROSSGEN_SHARDS must be the same number"
        )
    return Shard(index, count)


def programme_key(programme: Programme) -> str:
    """The key tagging everything the programme writes: ``program.key``, else a slug of its name.

    Series and emails are found by it, so changing it starts a new programme; the example config sets
    one, so that the name can be edited freely.
    """
    if programme.program.key:
        return programme.program.key.lower()
    slug = re.sub(r"[^a-z0-9]+", "-", programme.program.name.lower()).strip("-")
    return slug[:60] or "programme"


def display_name(address: str) -> str:
    """A readable name from an address when neither pairs.yaml nor the directory gives one (the planner
    takes the directory's displayName, read with the people, over this): lea.martin@… -> Lea Martin."""
    local = address.split("@", 1)[0]
    return " ".join(part.capitalize() for part in re.split(r"[._-]+", local) if part) or address


def _rules(programme: Programme, policy: Policy) -> Rules:
    feedback = None
    if policy.feedback:
        template = programme.feedback[policy.feedback]
        feedback = FeedbackRules(form=template.form, subject=template.subject, send_after=template.send_after)
    agenda: tuple[AgendaEntry, ...] = ()
    if policy.agenda:
        agenda = tuple(AgendaEntry(i.title, tuple(i.items)) for i in programme.agendas[policy.agenda].items)
    return Rules(
        name=policy.name,
        cadence=policy.cadence,
        duration=policy.duration,
        sessions=policy.sessions,
        days=policy.days,
        hours=(policy.hours.start, policy.hours.end),
        avoid=tuple((a.start, a.end) for a in policy.avoid),
        buffer=policy.buffer,
        lookahead=policy.lookahead,
        protection=policy.protection(),
        teams_meeting=policy.teams_meeting,
        on_conflict=policy.on_conflict,
        freeze=policy.freeze,
        max_moves=policy.max_moves,
        max_exceptions=policy.max_exceptions,
        agenda_lead=policy.agenda_lead,
        feedback=feedback,
        agenda=agenda,
    )


def desired_from(
    programme: Programme, *, shard: Shard | None = None, names: Mapping[str, str] | None = None
) -> Desired:
    names = {**programme.names, **(names or {})}
    info = programme.program
    rules = {name: _rules(programme, policy) for name, policy in programme.policies.items()}

    def person(address: str) -> Participant:
        if name := names.get(address):
            return Participant(address, name, named=True)
        return Participant(address, display_name(address))

    slot = (shard.index, shard.count) if shard else (0, 1)
    pairs = []
    for pair in programme.pairs:
        organizer = programme.organizer_for(pair)
        if not shard_owns(slot, organizer=organizer, organizers=info.organizers, pair=pair.id):
            continue
        pairs.append(_pair(programme, pair, organizer, rules[pair.policy], person))
    organizers = tuple(
        o
        for o in info.organizers
        if len(info.organizers) < slot[1] or info.organizers.index(o) % slot[1] == slot[0]
    )
    return Desired(
        key=programme_key(programme),
        name=info.name,
        lead=info.lead,
        zone=info.zone,
        start=info.start,
        end=info.end,
        blackouts=tuple((b.start, b.end) for b in programme.blackouts),
        blackout_reasons=tuple((b.start, b.end, b.reason) for b in programme.blackouts),
        reject_reporting_lines=info.reject_reporting_lines,
        pairs=tuple(pairs),
        organizers=organizers,
        shard=slot,
        all_organizers=info.organizers,
        all_pairs=frozenset(p.id for p in programme.pairs),
    )


def _pair(
    programme: Programme, pair: Pair, organizer: str, rules: Rules, person: Callable[[str], Participant]
) -> PairDesired:
    return PairDesired(
        id=pair.id,
        mentor=person(pair.mentor),
        mentee=person(pair.mentee),
        organizer=organizer,
        rules=rules,
        fingerprint=programme.fingerprint(pair),
        start=programme.start_of(pair),
        topics=pair.topics,
    )
