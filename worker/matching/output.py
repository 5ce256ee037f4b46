"""The proposal as a ``pairs.yaml`` that ``crossgen validate`` accepts, each pair with a comment saying why.

Values are written as YAML flow scalars through JSON's quoting (a JSON string is a valid YAML one), so
a topic or a name can hold any character; comments are kept to one line each. People are named as the
directory names them, accents kept.
"""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from worker.core.matching import Profile
from worker.matching.propose import Proposal, Proposed
from worker.report.cells import when


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _who(p: Profile, zone: str) -> str:
    facts = [x for x in (p.job_title, p.department, p.office, zone) if x]
    return f"{p.name} ({', '.join(facts)})" if facts else p.name


def _why(pair: Proposed) -> str:
    parts = [f"{_who(pair.mentor, pair.zones[0])} with {_who(pair.mentee, pair.zones[1])}"]
    parts.append(f"shared topics: {', '.join(pair.topics)}" if pair.topics else "no shared topic")
    if pair.sessions and pair.zone_name:
        first = when(pair.sessions[0].start, ZoneInfo(pair.zone_name))
        parts.append(f"first possible session {first} {pair.zone_name}")
        parts.append(f"{len(pair.sessions)} sessions bookable")
    return _one_line("; ".join(parts))


def _entry(pair: Proposed, default_policy: str) -> list[str]:
    lines = [
        f"  - mentor: {pair.mentor.address}",
        f"    mentee: {pair.mentee.address}",
    ]
    if pair.policy != default_policy:
        lines.append(f"    policy: {pair.policy}")
    if pair.topics:
        lines.append(f"    topics: [{', '.join(json.dumps(t, ensure_ascii=False) for t in pair.topics)}]")
    if pair.start is not None:
        lines.append(f"    start: {pair.start.isoformat()}")
    return lines


def render_pairs(proposal: Proposal, *, pool_file: str, now: datetime) -> str:
    out = [
        "# yaml-language-server: $schema=./schema/pairs.schema.json",
        f"# Proposed by `crossgen match` from {_one_line(pool_file)} as of {now.isoformat()}.",
        "# Read it, change what you like, then run `crossgen validate` and `crossgen forecast`.",
        "pairs:" if proposal.pairs else "pairs: []",
    ]
    for pair in proposal.pairs:
        if pair.kept:
            names = _one_line(f"{pair.mentor.name} with {pair.mentee.name}")
            warning = f"; {_one_line(pair.warning)}" if pair.warning else ""
            out.append(f"  # kept from pairs.yaml: {names}{warning}")
        else:
            out.append(f"  # {_why(pair)}")
        out += _entry(pair, proposal.default_policy)
    if proposal.dropped:
        out.append("# Not kept from pairs.yaml (the pool's rules forbid them):")
        for dropped, why in proposal.dropped:
            out.append(f"# - {dropped.mentor} with {dropped.mentee}: {_one_line(why)}")
    if proposal.unmatched:
        out.append("# Left unmatched:")
        for person in proposal.unmatched:
            who = f"{person.person.name} <{person.person.address}>, {person.role}"
            out.append(f"# - {_one_line(who)}: {_one_line(person.why)}")
    return "\n".join(out) + "\n"
