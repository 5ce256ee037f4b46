"""Checks across values and files, and the resolution of ``extends``: the loader's third pass.

Each model has already checked its values on their own; what is left needs two values (a window and
a duration, a start and an end) or two files (a pair naming a policy, an address against
``mailbox_domains``). Problems point at the value that has to change, in the file that holds it.
``extends`` is resolved key by key, ``protect`` field by field, child over parent.

The models may be *salvaged* ones (``load.salvage``): values that failed their own check are gone and
their paths are in ``dropped``, list entries that failed are ``None``. A check that would only repeat
such a mistake (a policy "missing" the cadence that was misspelt) stays silent; every other check runs.
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
    def __init__(self, docs: dict[str, YamlDoc], dropped: dict[str, set[PathKey]] | None = None) -> None:
        self.docs = docs
        self.dropped = dropped or {}
        self.problems: list[Problem] = []
        self.warnings: list[Problem] = []

    def add(self, file: str, path: PathKey, message: str, *, at_key: bool = False) -> None:
        self.problems.append(self.docs[file].problem(path, f"{dotted(path)}: {message}", at_key=at_key))

    def warn(self, file: str, path: PathKey, message: str) -> None:
        self.warnings.append(self.docs[file].problem(path, f"warning: {dotted(path)}: {message}"))

    def line(self, file: str, path: PathKey) -> int:
        return self.docs[file].pos(path).line

    def already_reported(self, file: str, path: PathKey) -> bool:
        """Whether the value at ``path`` failed its own check, or sits where a syntax error was."""
        doc = self.docs.get(file)
        return path in self.dropped.get(file, ()) or (doc is not None and doc.damaged_within(path))


def check_and_resolve(
    docs: dict[str, YamlDoc],
    *,
    program: ProgramFile | None,
    policies: PoliciesFile | None,
    pairs: PairsFile | None,
    dropped: dict[str, set[PathKey]] | None = None,
    program_fields: dict[str, Any] | None = None,
) -> tuple[Programme | None, list[Problem], list[Problem]]:
    """Check what spans values and files; return the resolved programme when nothing is wrong, the
    problems, and the warnings (allowed, perhaps not meant).

    ``program_fields`` are program.yaml's values that passed their own checks, used even when the file
    as a whole did not (the pairs are still checked against its domains and dates).
    """
    out = _Collector(docs, dropped)
    raw_names = _raw_policy_names(docs.get("policies.yaml"))
    names = raw_names if raw_names is not None else (frozenset(policies.policies) if policies else None)
    fields = (
        program_fields
        if program_fields is not None
        else (dict(program.program) if program is not None else {})
    )
    _check_program(out, fields, names)
    info = _program_info(program) if program is not None and "program.yaml" not in out.dropped else None
    resolved = _resolve_policies(out, policies, names) if policies is not None else None
    if policies is not None:
        _check_blackouts(out, policies)
    pair_list = _check_pairs(out, pairs, fields, names) if pairs is not None else None
    if (
        out.problems
        or info is None
        or resolved is None
        or pair_list is None
        or policies is None
        or pairs is None
    ):
        return None, out.problems, out.warnings
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
        warnings=tuple(sorted(out.warnings)),
        names={address: person.name.strip() for address, person in pairs.people.items()},
    )
    return programme, out.problems, out.warnings


def _raw_policy_names(doc: YamlDoc | None) -> frozenset[str] | None:
    """Policy names from a policies.yaml that failed its model: references can still be checked."""
    raw = doc.value.get("policies") if doc is not None and isinstance(doc.value, dict) else None
    return frozenset(raw) if isinstance(raw, dict) else None


def _check_program(out: _Collector, fields: dict[str, Any], policies: frozenset[str] | None) -> None:
    """The checks of program.yaml that span its values, on whichever of them passed their own check."""
    file = "program.yaml"
    start, end, domains = fields.get("start"), fields.get("end"), fields.get("mailbox_domains")
    if start is not None and end is not None and end < start:
        out.add(file, ("program", "end"), f"{end} is before program.start {start}")
    if domains is not None:
        organizers = fields.get("organizer") or ()
        for i, box in enumerate(organizers):
            where: PathKey = ("program", "organizer", i) if len(organizers) > 1 else ("program", "organizer")
            _check_domain(out, file, where, box, domains)
        if fields.get("lead") is not None:
            _check_domain(out, file, ("program", "lead"), fields["lead"], domains)
    default = fields.get("default_policy")
    if policies is not None and default is not None and default not in policies:
        out.add(
            file,
            ("program", "default_policy"),
            f"no policy named {default!r} in policies.yaml{did_you_mean(default, policies)}",
        )


def _program_info(model: ProgramFile) -> ProgramInfo:
    p = model.program
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
        if blackout is not None and blackout.end < blackout.start:
            out.add(
                "policies.yaml",
                ("blackouts", i, "to"),
                f"{blackout.end} is before its `from` {blackout.start}",
            )


# --- policies and extends ----------------------------------------------------------------------------


def _lineage(out: _Collector, model: PoliciesFile, name: str, written: frozenset[str]) -> list[str] | None:
    """[name, parent, grandparent, ...]; None (with a problem) for an unknown parent or a cycle.

    ``written`` holds every policy name in the file, including those whose section failed its checks:
    extending one of those is not reported again."""
    chain = [name]
    while (parent := model.policies[chain[-1]].extends) is not None:
        path = ("policies", chain[-1], "extends")
        if parent not in model.policies:
            if chain[-1] == name and parent not in written:
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


def _resolve_policies(
    out: _Collector, model: PoliciesFile, written: frozenset[str] | None
) -> dict[str, Policy] | None:
    resolved: dict[str, Policy] = {}
    failed = False
    for name in model.policies:
        chain = _lineage(out, model, name, written or frozenset())
        if chain is None:
            failed = True
            # The checks that need no parent still run: a missing agenda is reported now, not next time.
            chain = [name]
            while (parent := model.policies[chain[-1]].extends) in model.policies and parent not in chain:
                chain.append(parent)
            _resolve_one(out, model, chain, partial=True)
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


def _resolve_one(
    out: _Collector, model: PoliciesFile, chain: list[str], *, partial: bool = False
) -> Policy | None:
    """The policy ``chain[0]`` with its lineage applied, or None after reporting what is wrong.

    ``partial``: the chain is cut short (an unknown or cyclic ``extends``, already reported); only the
    checks that cannot be wrong for lack of a parent run."""
    name = chain[0]
    base: PathKey = ("policies", name)
    values: dict[str, Any] = {}
    origin: dict[str, str | None] = {}
    ok = not partial
    unknown: set[str] = set()  # keys whose value failed its own check somewhere along the chain
    shadowed = any(out.already_reported("policies.yaml", ("policies", c)) for c in chain) or any(
        out.already_reported("policies.yaml", ("policies", c, "extends")) for c in chain
    )
    for key in PolicySection.model_fields:
        if key in ("extends", "protect"):
            continue
        value, origin[key] = _pick(model, chain, key)
        if value is None and (
            shadowed or any(out.already_reported("policies.yaml", ("policies", c, key)) for c in chain)
        ):
            unknown.add(key)
            ok = False
            continue
        if value is None:
            if key in REQUIRED:
                if not partial:
                    via = f" (nor in {', '.join(chain[1:])}, which it extends)" if len(chain) > 1 else ""
                    out.add(
                        "policies.yaml", (*base, key), f"missing; every policy needs {key}{via}", at_key=True
                    )
                unknown.add(key)
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

    timing = {"duration", "hours", "avoid"}
    if partial:
        timing.update(("duration",))  # a parent may set what this one lacks: leave the window checks to it
        unknown.add("duration")
    duration: timedelta | None = values.get("duration")
    hours: TimeWindow = values.get("hours", _default("hours"))
    if duration is None or unknown & timing:
        pass
    elif duration <= timedelta(0):
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
    if "lookahead" in values and values["lookahead"] <= timedelta(0):
        problem(("lookahead",), "must be longer than 0m")
    if values.get("feedback") is not None and values["feedback"] not in _written(
        out, "feedback", model.feedback
    ):
        problem(
            ("feedback",),
            f"no feedback template named {values['feedback']!r}"
            f"{did_you_mean(values['feedback'], model.feedback)}",
        )
    if values.get("agenda") is not None and values["agenda"] not in _written(out, "agendas", model.agendas):
        problem(
            ("agenda",),
            f"no agenda named {values['agenda']!r}{did_you_mean(values['agenda'], model.agendas)}",
        )
    if not ok:
        return None
    protect = Protect(**{key: _pick_protect(model, chain, key) for key in _PROTECT_KEYS})
    return Policy(name=name, protect=protect, lineage=tuple(chain), **values)


def _written(out: _Collector, section: str, kept: Any) -> set[str]:
    """The names written under ``section`` of policies.yaml, including those whose content failed."""
    doc = out.docs.get("policies.yaml")
    raw = doc.value.get(section) if doc is not None and isinstance(doc.value, dict) else None
    return set(kept) | (set(map(str, raw)) if isinstance(raw, dict) else set())


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
    out: _Collector, model: PairsFile, program: dict[str, Any], policies: frozenset[str] | None
) -> tuple[Pair, ...] | None:
    file = "pairs.yaml"
    seen: dict[frozenset[str], int] = {}
    roles: dict[str, dict[str, int]] = {"mentor": {}, "mentee": {}}  # address -> first pair in that role
    pairs: list[Pair] = []
    domains = program.get("mailbox_domains")
    organizers = program.get("organizer") or ()
    start, end = program.get("start"), program.get("end")
    default_policy = program.get("default_policy")
    for i, raw in enumerate(model.pairs):
        if raw is None:  # failed its own checks, already reported
            continue
        base: PathKey = ("pairs", i)
        if raw.mentor == raw.mentee:
            out.add(
                file,
                (*base, "mentee"),
                f"{raw.mentee} cannot mentor themselves (mentor and mentee are the same)",
            )
        people = frozenset((raw.mentor, raw.mentee))
        if people in seen and len(people) == 2:
            j = seen[people]
            first = model.pairs[j]
            swapped = " (roles swapped)" if first is not None and first.mentor != raw.mentor else ""
            out.add(
                file,
                base,
                f"the same pair as {dotted(('pairs', j))} at line {out.line(file, ('pairs', j))}{swapped}: "
                f"{raw.mentor} and {raw.mentee}",
            )
        seen.setdefault(people, i)
        for role in ("mentor", "mentee"):
            roles[role].setdefault(getattr(raw, role), i)
        for role in ("mentor", "mentee"):
            address = getattr(raw, role)
            if domains is not None:
                _check_domain(out, file, (*base, role), address, domains)
            if address in organizers:
                out.add(file, (*base, role), f"{address} is the programme mailbox, not a participant")
        if _outside(raw.start, start, end):
            out.add(file, (*base, "start"), f"{raw.start} is outside the programme ({start} to {end})")
        if policies is not None and raw.policy is not None and raw.policy not in policies:
            out.add(
                file, (*base, "policy"), f"no policy named {raw.policy!r}{did_you_mean(raw.policy, policies)}"
            )
        policy = raw.policy or default_policy
        if policy is not None:
            pairs.append(
                Pair(pair_id(raw.mentor, raw.mentee), raw.mentor, raw.mentee, policy, raw.topics, raw.start)
            )
    _warn_both_roles(out, model, roles)
    if all(raw is not None for raw in model.pairs):  # a dropped pair's people are unknown here
        in_pairs = {a for raw in model.pairs if raw is not None for a in (raw.mentor, raw.mentee)}
        for address in model.people:
            if address not in in_pairs:
                out.add(file, ("people", address), f"{address} is in no pair (a typo?)", at_key=True)
    if default_policy is None or any(p is None for p in model.pairs):
        return None
    return tuple(pairs)


def _outside(day: date | None, start: date | None, end: date | None) -> bool:
    """Whether a pair's ``start`` lies outside the programme's dates (when all three are known)."""
    if day is None or start is None or end is None or end < start:
        return False
    return not start <= day <= end


def _warn_both_roles(out: _Collector, model: PairsFile, roles: dict[str, dict[str, int]]) -> None:
    """Someone who mentors in one pair and is mentored in another: allowed (a manager may coach on
    one thing and learn another), but more often a copy-paste slip; said once, at the later pair."""
    for address, as_mentor in roles["mentor"].items():
        as_mentee = roles["mentee"].get(address)
        if as_mentee is None or as_mentee == as_mentor:
            continue
        first_pair, second_pair = model.pairs[as_mentor], model.pairs[as_mentee]
        if (
            first_pair is not None
            and second_pair is not None
            and {first_pair.mentor, first_pair.mentee}
            == {
                second_pair.mentor,
                second_pair.mentee,
            }
        ):
            continue  # the same two people twice: reported as a duplicate pair
        later, role = (as_mentee, "mentee") if as_mentee > as_mentor else (as_mentor, "mentor")
        other, other_role = (as_mentor, "mentor") if role == "mentee" else (as_mentee, "mentee")
        out.warn(
            "pairs.yaml",
            ("pairs", later, role),
            f"{address} is {role} here and {other_role} in {dotted(('pairs', other))} "
            f"(line {out.line('pairs.yaml', ('pairs', other))}); allowed, but check the roles are meant",
        )
