"""Checks across values and files, and the resolution of ``extends``: the loader's third pass.

Each model has already checked its values on their own; what is left needs two values (a window and
a duration, a start and an end) or two files (a pair naming a policy, an address against
``mailbox_domains``). Problems point at the value that has to change, in the file that holds it.
``extends`` is resolved key by key, ``protect`` field by field, child over parent.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from worker.policies.errors import Problem
from worker.policies.models import DEFAULTS, PairsFile, PoliciesFile, PolicySection, ProgramFile
from worker.policies.programme import (
    Agenda,
    AgendaItem,
    Blackout,
    FeedbackTemplate,
    Pair,
    Policy,
    ProgramInfo,
    Programme,
    Protect,
    pair_id,
)
from worker.policies.values import TimeWindow, did_you_mean, format_duration, parse_duration, parse_window
from worker.policies.yamlpos import PathKey, YamlDoc, dotted

REQUIRED = ("cadence", "duration", "sessions")
_PROTECT_KEYS = ("show_as", "sensitivity", "allow_new_time_proposals", "reminder")


class _Collector:
    def __init__(self, docs: dict[str, YamlDoc]) -> None:
        self.docs = docs
        self.problems: list[Problem] = []

    def add(self, file: str, path: PathKey, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.docs[file].problem(path, f"{dotted(path)}: {message}", at_key=at_key))


def check_and_resolve(
    docs: dict[str, YamlDoc],
    *,
    program: ProgramFile | None,
    policies: PoliciesFile | None,
    pairs: PairsFile | None,
) -> tuple[Programme | None, list[Problem]]:
    """Check what spans values and files; return the resolved programme when nothing is wrong."""
    out = _Collector(docs)
    raw_names = _raw_policy_names(docs.get("policies.yaml"))
    names = frozenset(policies.policies) if policies is not None else raw_names
    info = _check_program(out, program, names) if program is not None else None
    resolved = _resolve_policies(out, policies) if policies is not None else None
    if policies is not None:
        _check_blackouts(out, policies)
    pair_list = _check_pairs(out, pairs, info, names) if pairs is not None else None
    if (
        out.problems
        or info is None
        or resolved is None
        or pair_list is None
        or policies is None
        or pairs is None
    ):
        return None, out.problems
    programme = Programme(
        program=info,
        policies=resolved,
        blackouts=tuple(Blackout(b.start, b.end, b.reason) for b in policies.blackouts),
        feedback={
            name: FeedbackTemplate(f.form, f.send_after, f.subject, name)
            for name, f in policies.feedback.items()
        },
        agendas={
            name: Agenda(name, tuple(AgendaItem(i.title, i.items) for i in items))
            for name, items in policies.agendas.items()
        },
        pairs=pair_list,
        sources={name: doc.file for name, doc in docs.items()},
        names={address: person.name.strip() for address, person in pairs.people.items()},
    )
    return programme, out.problems


def _raw_policy_names(doc: YamlDoc | None) -> frozenset[str] | None:
    """Policy names from a policies.yaml that failed its model: references can still be checked."""
    raw = doc.value.get("policies") if doc is not None and isinstance(doc.value, dict) else None
    return frozenset(raw) if isinstance(raw, dict) else None


def _check_program(out: _Collector, model: ProgramFile, policies: frozenset[str] | None) -> ProgramInfo:
    p = model.program
    file = "program.yaml"
    if p.end < p.start:
        out.add(file, ("program", "end"), f"{p.end} is before program.start {p.start}")
    for i, box in enumerate(p.organizer):
        where: PathKey = ("program", "organizer", i) if len(p.organizer) > 1 else ("program", "organizer")
        _check_domain(out, file, where, box, p.mailbox_domains)
    _check_domain(out, file, ("program", "lead"), p.lead, p.mailbox_domains)
    if policies is not None and p.default_policy not in policies:
        out.add(
            file,
            ("program", "default_policy"),
            f"no policy named {p.default_policy!r} in policies.yaml"
            f"{did_you_mean(p.default_policy, policies)}",
        )
    return ProgramInfo(
        name=p.name,
        key=p.key,
        organizers=p.organizer,
        lead=p.lead,
        zone=ZoneInfo(p.timezone),
        zone_name=p.timezone,
        start=p.start,
        end=p.end,
        mailbox_domains=p.mailbox_domains,
        default_policy=p.default_policy,
        reject_reporting_lines=p.reject_reporting_lines,
    )


def _check_domain(out: _Collector, file: str, path: PathKey, address: str, domains: tuple[str, ...]) -> None:
    domain = address.rpartition("@")[2]
    if domain not in domains:
        out.add(file, path, f"{address} is outside the programme's mailbox_domains ({', '.join(domains)})")


def _check_blackouts(out: _Collector, model: PoliciesFile) -> None:
    for i, blackout in enumerate(model.blackouts):
        if blackout.end < blackout.start:
            out.add(
                "policies.yaml",
                ("blackouts", i, "to"),
                f"{blackout.end} is before its `from` {blackout.start}",
            )


# --- policies and extends ----------------------------------------------------------------------------


def _lineage(out: _Collector, model: PoliciesFile, name: str) -> list[str] | None:
    """[name, parent, grandparent, ...]; None (with a problem) for an unknown parent or a cycle."""
    chain = [name]
    while (parent := model.policies[chain[-1]].extends) is not None:
        path = ("policies", chain[-1], "extends")
        if parent not in model.policies:
            if chain[-1] == name:
                out.add(
                    "policies.yaml", path, f"no policy named {parent!r}{did_you_mean(parent, model.policies)}"
                )
            return None
        if parent in chain:
            if parent == name:  # each member of a cycle reports it once, at its own `extends`
                cycle = " -> ".join([*chain, name])
                out.add("policies.yaml", ("policies", name, "extends"), f"extends forms a cycle: {cycle}")
            return None
        chain.append(parent)
    return chain


def _resolve_policies(out: _Collector, model: PoliciesFile) -> dict[str, Policy] | None:
    resolved: dict[str, Policy] = {}
    failed = False
    for name in model.policies:
        chain = _lineage(out, model, name)
        if chain is None:
            failed = True
            continue
        policy = _resolve_one(out, model, chain)
        if policy is None:
            failed = True
        else:
            resolved[name] = policy
    return None if failed else resolved


def _pick(model: PoliciesFile, chain: list[str], key: str) -> tuple[Any, str | None]:
    """The nearest value of ``key`` along the chain, and the policy that set it."""
    for name in chain:
        value = getattr(model.policies[name], key)
        if value is not None:
            return value, name
    return None, None


def _pick_protect(model: PoliciesFile, chain: list[str], key: str) -> Any:
    for name in chain:
        protect = model.policies[name].protect
        if protect is not None and getattr(protect, key) is not None:
            return getattr(protect, key)
    default = DEFAULTS[f"protect.{key}"]
    return parse_duration(default) if key == "reminder" else default


def _default(key: str) -> Any:
    raw = DEFAULTS[key]
    if key == "days":
        return frozenset(range(5))
    if key == "hours":
        return parse_window(raw)
    if key == "avoid":
        return ()
    if key in ("buffer", "lookahead", "freeze", "agenda_lead"):
        return parse_duration(raw)
    return raw


def _resolve_one(out: _Collector, model: PoliciesFile, chain: list[str]) -> Policy | None:
    name = chain[0]
    base: PathKey = ("policies", name)
    values: dict[str, Any] = {}
    origin: dict[str, str | None] = {}
    ok = True
    for key in PolicySection.model_fields:
        if key in ("extends", "protect"):
            continue
        value, origin[key] = _pick(model, chain, key)
        if value is None:
            if key in REQUIRED:
                via = f" (nor in {', '.join(chain[1:])}, which it extends)" if len(chain) > 1 else ""
                out.add("policies.yaml", (*base, key), f"missing; every policy needs {key}{via}", at_key=True)
                ok = False
                continue
            value = _default(key)
        values[key] = value

    def problem(keys: tuple[str, ...], message: str) -> None:
        """Report at the first of ``keys`` this policy writes itself. When it writes none of them, the
        nearest policy it extends that writes one sees the same values and reports it there."""
        nonlocal ok
        ok = False
        own = [key for key in keys if origin.get(key) == name]
        if own:
            out.add("policies.yaml", (*base, own[0]), message)

    if not ok:
        return None
    duration: timedelta = values["duration"]
    hours: TimeWindow = values["hours"]
    if duration <= timedelta(0):
        problem(("duration",), "a session must last longer than 0m")
    elif duration > hours.length:
        problem(
            ("hours", "duration"),
            f"hours {hours} ({format_duration(hours.length)}) are shorter than the "
            f"duration {format_duration(duration)}",
        )
    elif not _room_left(hours, values["avoid"], duration):
        problem(
            ("avoid", "hours", "duration"),
            f"avoid {', '.join(map(str, values['avoid']))} leaves no stretch of {format_duration(duration)} "
            f"inside hours {hours}",
        )
    if values["lookahead"] <= timedelta(0):
        problem(("lookahead",), "must be longer than 0m")
    if values["feedback"] is not None and values["feedback"] not in model.feedback:
        problem(
            ("feedback",),
            f"no feedback template named {values['feedback']!r}"
            f"{did_you_mean(values['feedback'], model.feedback)}",
        )
    if values["agenda"] is not None and values["agenda"] not in model.agendas:
        problem(
            ("agenda",),
            f"no agenda named {values['agenda']!r}{did_you_mean(values['agenda'], model.agendas)}",
        )
    if not ok:
        return None
    protect = Protect(**{key: _pick_protect(model, chain, key) for key in _PROTECT_KEYS})
    return Policy(name=name, protect=protect, lineage=tuple(chain), **values)


def _room_left(hours: TimeWindow, avoid: tuple[TimeWindow, ...], duration: timedelta) -> bool:
    """Whether ``hours`` minus every ``avoid`` window still holds one stretch of ``duration``."""
    day = date(2000, 1, 3)
    cursor = datetime.combine(day, hours.start)
    end = datetime.combine(day, hours.end)
    for window in sorted(avoid):
        w_start, w_end = datetime.combine(day, window.start), datetime.combine(day, window.end)
        if w_end <= cursor:
            continue
        if min(w_start, end) - cursor >= duration:
            return True
        cursor = max(cursor, w_end)
        if cursor >= end:
            return False
    return end - cursor >= duration


# --- pairs -----------------------------------------------------------------------------------------


def _check_pairs(
    out: _Collector, model: PairsFile, info: ProgramInfo | None, policies: frozenset[str] | None
) -> tuple[Pair, ...] | None:
    file = "pairs.yaml"
    seen: dict[frozenset[str], int] = {}
    pairs: list[Pair] = []
    for i, raw in enumerate(model.pairs):
        base: PathKey = ("pairs", i)
        if raw.mentor == raw.mentee:
            out.add(
                file,
                (*base, "mentee"),
                f"{raw.mentee} cannot mentor themselves (mentor and mentee are the same)",
            )
        people = frozenset((raw.mentor, raw.mentee))
        if people in seen and len(people) == 2:
            first = model.pairs[seen[people]]
            swapped = " (roles swapped)" if first.mentor != raw.mentor else ""
            out.add(
                file, base, f"the same pair as pairs[{seen[people]}]{swapped}: {raw.mentor} and {raw.mentee}"
            )
        seen.setdefault(people, i)
        policy = raw.policy
        if info is not None:
            for role in ("mentor", "mentee"):
                address = getattr(raw, role)
                _check_domain(out, file, (*base, role), address, info.mailbox_domains)
                if address in info.organizers:
                    out.add(file, (*base, role), f"{address} is the programme mailbox, not a participant")
            policy = policy or info.default_policy
            if raw.start is not None and info.start <= info.end and not info.start <= raw.start <= info.end:
                out.add(
                    file,
                    (*base, "start"),
                    f"{raw.start} is outside the programme ({info.start} to {info.end})",
                )
        if policies is not None and raw.policy is not None and raw.policy not in policies:
            out.add(
                file, (*base, "policy"), f"no policy named {raw.policy!r}{did_you_mean(raw.policy, policies)}"
            )
        if policy is not None:
            pairs.append(
                Pair(pair_id(raw.mentor, raw.mentee), raw.mentor, raw.mentee, policy, raw.topics, raw.start)
            )
    in_pairs = {a for raw in model.pairs for a in (raw.mentor, raw.mentee)}
    for address in model.people:
        if address not in in_pairs:
            out.add(file, ("people", address), f"{address} is in no pair (a typo?)", at_key=True)
    return tuple(pairs) if info is not None else None
