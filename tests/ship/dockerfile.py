"""Just enough of a Dockerfile reader to check what the image promises: stages, USER, ENV, ENTRYPOINT, CMD.

Static on purpose (no Docker engine runs on our machines): the tests read the same file the image is
built from. Handles comments, backslash continuations, exec-form JSON arrays and ``KEY=VALUE`` ENV lists;
anything cleverer in the Dockerfile would be a reason to simplify the Dockerfile, not this reader.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    keyword: str
    value: str
    line: int


@dataclass
class Stage:
    base: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def last(self, keyword: str) -> Instruction:
        found = self.all(keyword)
        if not found:
            raise LookupError(f"stage {self.name or self.base} has no {keyword}")
        return found[-1]

    def env(self) -> dict[str, str]:
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            for token in shlex.split(instruction.value):
                key, sep, value = token.partition("=")
                if not sep:
                    raise ValueError(f"line {instruction.line}: use ENV KEY=VALUE, not the legacy form")
                values[key] = value
        return values


def instructions(text: str) -> list[Instruction]:
    result: list[Instruction] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not pending):
            continue
        if not pending:
            start = number
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical = pending + stripped
        pending = ""
        keyword, _, value = logical.partition(" ")
        result.append(Instruction(keyword.upper(), " ".join(value.split()), start))
    return result


def stages(path: Path) -> list[Stage]:
    parsed: list[Stage] = []
    for instruction in instructions(path.read_text(encoding="utf-8")):
        if instruction.keyword == "FROM":
            words = instruction.value.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else None
            parsed.append(Stage(base=words[0], name=name))
        elif parsed:
            parsed[-1].instructions.append(instruction)
    return parsed


def exec_form(instruction: Instruction) -> list[str]:
    """ENTRYPOINT/CMD in exec form (a JSON array); the shell form would put a shell in front of crossgen."""
    value = json.loads(instruction.value)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"line {instruction.line}: {instruction.keyword} is not a JSON array of strings")
    return value
