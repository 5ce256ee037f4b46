"""The pool file (``pool.yaml``): the volunteers before anyone is paired, checked like the programme files.

Errors are ``FILE:LINE:COL: key: message`` as ``crossgen validate`` prints them: YAML and types by the
same reader and pydantic mapping (``worker.policies``), then what spans values: addresses inside the
programme's ``mailbox_domains``, nobody listed twice or in both lists, policies that exist, ``never``
entries of two different people.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt, ValidationError

from worker.policies.errors import ConfigError, Problem
from worker.policies.load import problems_from
from worker.policies.programme import Programme
from worker.policies.values import Address, Name
from worker.policies.yamlpos import PathKey, YamlDoc, YamlRefused, dotted, load_yaml

Text = Annotated[str, Field(min_length=1, strict=True)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class MentorSection(_Strict):
    address: Address = Field(description="A junior, digital-native colleague who teaches.")
    offers: tuple[Text, ...] = Field((), description="Topics they can teach.")
    capacity: Annotated[StrictInt, Field(ge=1, le=20)] = Field(1, description="Mentees at once; default 1.")


class MenteeSection(_Strict):
    address: Address = Field(description="A senior leader who learns.")
    wants: tuple[Text, ...] = Field((), description="Topics they want to learn.")
    policy: Name | None = Field(None, description="The policy of their pair; default program.default_policy.")


class RulesSection(_Strict):
    not_in_reporting_line: StrictBool = Field(True, description="Never pair people in one reporting line.")
    not_same_department: StrictBool = Field(False, description="Never pair people of one department.")
    never: tuple[Annotated[tuple[Address, Address], Field()], ...] = Field(
        (), description="Pairs the lead rules out, as [a, b] in either order."
    )
    keep_existing: StrictBool = Field(True, description="Pairs already in pairs.yaml stay.")
    min_sessions: Annotated[StrictInt, Field(ge=1, le=200)] | None = Field(
        None,
        description="A pair must be able to hold at least this many sessions; default half its policy's.",
    )


class PoolFile(_Strict):
    """pool.yaml"""

    mentors: tuple[MentorSection, ...] = ()
    mentees: tuple[MenteeSection, ...] = ()
    rules: RulesSection = RulesSection()


@dataclass(frozen=True, slots=True)
class Mentor:
    address: str
    offers: tuple[str, ...]
    capacity: int


@dataclass(frozen=True, slots=True)
class Mentee:
    address: str
    wants: tuple[str, ...]
    policy: str


@dataclass(frozen=True, slots=True)
class Pool:
    mentors: tuple[Mentor, ...]
    mentees: tuple[Mentee, ...]
    not_in_reporting_line: bool
    not_same_department: bool
    never: frozenset[frozenset[str]]
    keep_existing: bool
    min_sessions: int | None
    file: str

    def people(self) -> list[str]:
        return [*(m.address for m in self.mentors), *(m.address for m in self.mentees)]


def load_pool(path: Path, programme: Programme) -> Pool:
    """Read and check ``path`` against ``programme``; raises ``ConfigError`` with every problem."""
    name = str(path)
    try:
        doc = load_yaml(path, name)
    except YamlRefused as refused:
        raise ConfigError(refused.problems) from None
    try:
        model = PoolFile.model_validate(doc.value)
    except ValidationError as exc:
        raise ConfigError(problems_from(exc, doc, PoolFile)) from None
    problems = _cross_checks(doc, model, programme)
    if problems:
        raise ConfigError(problems)
    info = programme.program
    return Pool(
        mentors=tuple(Mentor(m.address, m.offers, m.capacity) for m in model.mentors),
        mentees=tuple(Mentee(m.address, m.wants, m.policy or info.default_policy) for m in model.mentees),
        not_in_reporting_line=model.rules.not_in_reporting_line,
        not_same_department=model.rules.not_same_department,
        never=frozenset(frozenset(pair) for pair in model.rules.never),
        keep_existing=model.rules.keep_existing,
        min_sessions=model.rules.min_sessions,
        file=name,
    )


def _cross_checks(doc: YamlDoc, model: PoolFile, programme: Programme) -> list[Problem]:
    problems: list[Problem] = []

    def add(path: PathKey, message: str) -> None:
        problems.append(doc.problem(path, f"{dotted(path)}: {message}"))

    domains = programme.program.mailbox_domains
    seen: dict[str, PathKey] = {}
    listed = [(("mentors", i, "address"), m.address) for i, m in enumerate(model.mentors)]
    listed += [(("mentees", i, "address"), m.address) for i, m in enumerate(model.mentees)]
    for path, address in listed:
        if address.rpartition("@")[2] not in domains:
            add(path, f"{address} is outside the programme's mailbox_domains ({', '.join(domains)})")
        if address in seen:
            add(path, f"{address} is already listed at {dotted(seen[address])}")
        else:
            seen[address] = path
    for i, mentee in enumerate(model.mentees):
        if mentee.policy is not None and mentee.policy not in programme.policies:
            known = ", ".join(sorted(programme.policies))
            message = f"no policy {mentee.policy!r} in policies.yaml; expected one of: {known}"
            add(("mentees", i, "policy"), message)
    for i, (a, b) in enumerate(model.rules.never):
        if a == b:
            add(("rules", "never", i), f"names {a} twice; expected two different people")
    return problems
