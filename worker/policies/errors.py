"""The one error the programme loader raises, and the problems it carries.

Loading never stops at the first mistake: every file is read, every value checked, and each mistake
becomes a ``Problem`` that points at the exact place in the YAML (``FILE:LINE:COL: message``), so a
programme lead fixes them all in one pass. ``ConfigError`` is raised once, at the end, with the list.
Lines and columns are 1-based, as editors count them, and so are list entries (``pairs[1]`` is the
first pair). A *warning* is a ``Problem`` whose message starts ``warning:``: something allowed that may
not be meant (one person mentor in one pair and mentee in another); it never makes a file invalid.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One mistake in one file, at one place; ``message`` names the key (``policies.x.duration: ...``)."""

    file: str
    line: int
    col: int
    message: str

    def __str__(self) -> str:
        # One problem, one line: a key or value quoted from the file may hold a line break.
        message = self.message.replace("\r", "\\r").replace("\n", "\\n")
        return f"{self.file}:{self.line}:{self.col}: {message}"


class ConfigError(Exception):
    """The programme's configuration is invalid; ``problems`` lists every mistake found, in file order."""

    def __init__(self, problems: list[Problem], warnings: list[Problem] | tuple[Problem, ...] = ()) -> None:
        self.problems = sorted(set(problems))
        self.warnings = sorted(set(warnings))  # what is allowed but looks unintended; never fails alone
        super().__init__("\n".join(str(p) for p in self.problems))
