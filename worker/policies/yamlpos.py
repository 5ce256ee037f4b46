"""Read a programme YAML file into plain Python values, remembering where every value was written.

PyYAML's constructors throw positions away, keep the last of two duplicate keys and expand aliases
without limit, so we only let PyYAML *compose* the node graph (safe loader, libyaml when present) and
build the values ourselves. Along the way we refuse what a programme file never needs and what would
hide a mistake: duplicate keys, non-string keys, merge keys, tags beyond YAML's standard scalars and
collections, and alias expansion beyond a small node budget (a "billion laughs" file is stopped after
a few thousand nodes, not expanded). Every refusal is a ``Problem`` with its line and column.

The result is a ``YamlDoc``: the value plus ``positions``, a map from a path such as
``("policies", "fortnightly", "days", 2)`` to where that value (and its key) was written.

A file with mistakes is still read as far as it can be, so that one ``validate`` lists every mistake:
a syntax error is reported, its line is set aside (or, for a tab that indents it, re-indented with
spaces when that lets the rest parse) and the file is parsed again, up to ``MAX_REPAIRS`` times.
``YamlRefused.doc`` then holds what could be read, with ``damaged`` naming the lines set aside, so the
later passes check the rest without echoing what the damage removed. ``h:mm`` scalars, which YAML 1.1
reads as base-60 numbers (``1:30`` is 90), are kept as the text the lead wrote.

Lists are numbered from 1 in messages (``pairs[1]`` is the first pair), as a lead counts them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from worker.policies.errors import Problem

try:  # libyaml's composer is faster and just as safe: it only builds nodes, never objects
    from yaml import CSafeLoader as _Loader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Loader  # type: ignore[assignment,unused-ignore]

PathKey = tuple[str | int, ...]

MAX_BYTES = 2 * 1024 * 1024  # a programme of thousands of pairs fits in far less
MAX_NODES = 20_000  # nodes built after alias expansion; a billion-laughs file hits this in milliseconds
MAX_REPAIRS = 20  # syntax errors reported per file before the rest of it is given up on

_TAG = "tag:yaml.org,2002:"
_SCALAR_TAGS = {f"{_TAG}{t}" for t in ("str", "int", "float", "bool", "null", "timestamp")}
_SEQ_TAG = f"{_TAG}seq"
_MAP_TAG = f"{_TAG}map"
_MERGE_TAG = f"{_TAG}merge"


@dataclass(frozen=True, slots=True)
class Pos:
    """Where a value was written (1-based), and where its key was, for values inside a mapping."""

    line: int
    col: int
    key_line: int | None = None
    key_col: int | None = None

    @property
    def key(self) -> tuple[int, int]:
        """The key's position when there is one: unknown-key messages point at the key, not its value."""
        if self.key_line is not None and self.key_col is not None:
            return self.key_line, self.key_col
        return self.line, self.col


@dataclass(slots=True)
class YamlDoc:
    file: str
    value: Any
    positions: dict[PathKey, Pos] = field(default_factory=dict)
    ends: dict[PathKey, int] = field(default_factory=dict)  # last line of each mapping and list
    damaged: frozenset[int] = frozenset()  # lines set aside after a syntax error (1-based)

    def damaged_within(self, path: PathKey) -> bool:
        """Whether a line set aside lies inside the value at ``path``: what is missing there may be
        missing only because of that line, and is not reported again."""
        if not self.damaged:
            return False
        start = self.pos(path)
        first = start.key_line or start.line
        last = self.ends.get(path, first)
        return any(first - 1 <= line <= last + 1 for line in self.damaged)

    def pos(self, path: PathKey) -> Pos:
        """The position of ``path``, or of its nearest written ancestor (a missing key's parent)."""
        while path:
            found = self.positions.get(path)
            if found is not None:
                return found
            path = path[:-1]
        return self.positions.get((), Pos(1, 1))

    def problem(self, path: PathKey, message: str, *, at_key: bool = False) -> Problem:
        pos = self.pos(path)
        line, col = pos.key if at_key else (pos.line, pos.col)
        return Problem(self.file, line, col, message)


class YamlRefused(Exception):
    """The file cannot be read as a programme file; ``problems`` says where and why.

    ``doc`` is what could still be read (None when nothing could), for the checks that follow.
    """

    def __init__(self, problems: list[Problem], doc: YamlDoc | None = None) -> None:
        self.problems = problems
        self.doc = doc
        super().__init__("; ".join(str(p) for p in problems))


def _mark(node: Node) -> tuple[int, int]:
    return node.start_mark.line + 1, node.start_mark.column + 1


def dotted(path: PathKey) -> str:
    """``policies.fortnightly.avoid[1]``: how a message names the key; list entries count from 1."""
    out = ""
    for part in path:
        out += f"[{part + 1}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


class _Builder:
    """Turns a composed node graph into values and positions, counting every node it builds."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.positions: dict[PathKey, Pos] = {}
        self.ends: dict[PathKey, int] = {}
        self.problems: list[Problem] = []
        self.budget = MAX_NODES
        self.active: set[int] = set()  # nodes being built: an alias back into one of them is a cycle
        self.scalars = SafeConstructor()

    def refuse(self, node: Node, message: str) -> None:
        line, col = _mark(node)
        self.problems.append(Problem(self.file, line, col, message))

    def build(self, node: Node, path: PathKey, key_node: Node | None = None) -> Any:
        self.budget -= 1
        if self.budget < 0:
            # Raised, not collected: continuing would only expand the bomb further. Reported at the
            # top-level key being built: the composed graph keeps the anchor's mark, not the alias's.
            top = self.positions.get(path[:1], Pos(*_mark(node)))
            self.problems.append(
                Problem(
                    self.file,
                    *top.key,
                    f"{dotted(path[:1])}: aliases expand to "
                    f"more than {MAX_NODES} values (an alias bomb?); refused",
                )
            )
            raise YamlRefused(self.problems)
        line, col = _mark(node)
        key_line, key_col = _mark(key_node) if key_node is not None else (None, None)
        self.positions.setdefault(path, Pos(line, col, key_line, key_col))
        if not isinstance(node, ScalarNode):
            self.ends.setdefault(path, node.end_mark.line + 1)
        if id(node) in self.active:
            self.refuse(node, f"{dotted(path)}: an alias refers to itself")
            return None
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode):
                if node.tag != _SEQ_TAG:
                    self.refuse(node, f"{dotted(path)}: tag {node.tag} is not allowed here")
                    return None
                return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, path)
        finally:
            self.active.discard(id(node))
        self.refuse(node, f"{dotted(path)}: unsupported YAML node")  # pragma: no cover - PyYAML has 3 kinds
        return None

    def _scalar(self, node: ScalarNode, path: PathKey) -> Any:
        if node.tag not in _SCALAR_TAGS:
            self.refuse(node, f"{dotted(path)}: tag {node.tag} is not allowed in a programme file")
            return None
        kind = node.tag.removeprefix(_TAG)
        if kind in ("int", "float") and ":" in node.value and not node.style:
            return node.value  # YAML 1.1's base 60 (1:30 is 90): keep what was written, e.g. for `1:30`
        try:
            return getattr(self.scalars, f"construct_yaml_{kind}")(node)
        except (ValueError, yaml.YAMLError) as exc:  # e.g. !!int "ten", or an impossible date 2027-02-30
            self.refuse(node, f"{dotted(path)}: {node.value!r} is not a valid {kind} ({exc})")
            return None

    def _mapping(self, node: MappingNode, path: PathKey) -> dict[str, Any]:
        if node.tag != _MAP_TAG:
            self.refuse(node, f"{dotted(path)}: tag {node.tag} is not allowed here")
            return {}
        out: dict[str, Any] = {}
        first_seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                self.refuse(
                    key_node,
                    f"{dotted(path)}: merge keys (<<) are not supported; "
                    "write the keys out, or use `extends` between policies",
                )
                continue
            if not isinstance(key_node, ScalarNode) or key_node.tag != f"{_TAG}str":
                shown = key_node.value if isinstance(key_node, ScalarNode) else "a collection"
                self.refuse(key_node, f"{dotted(path)}: key {shown!r} must be text (quote it)")
                continue
            key = str(key_node.value)
            if key in first_seen:
                self.refuse(
                    key_node,
                    f"{dotted((*path, key))}: duplicate key (first written at line "
                    f"{first_seen[key]}); YAML would silently keep only one",
                )
                continue
            first_seen[key] = key_node.start_mark.line + 1
            out[key] = self.build(value_node, (*path, key), key_node)
        return out


def _decode(data: bytes, file: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = data[: exc.start]
        line = before.count(b"\n") + 1
        line_start = before.rfind(b"\n") + 1
        col = len(before[line_start:].decode("utf-8", errors="replace")) + 1
        raise YamlRefused(
            [
                Problem(
                    file,
                    line,
                    col,
                    f"not UTF-8: byte 0x{data[exc.start]:02x} cannot be decoded; save the file as UTF-8",
                )
            ]
        ) from None


def _error_position(exc: yaml.YAMLError, text: str) -> tuple[int, int]:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    if mark is not None:
        return mark.line + 1, mark.column + 1
    position = getattr(exc, "position", None)  # ReaderError: a character index
    if isinstance(position, int):
        before = text[:position]
        return before.count("\n") + 1, position - (before.rfind("\n") + 1) + 1
    return 1, 1


def parse_yaml(data: bytes, file: str) -> YamlDoc:
    """Parse one file's bytes; raise ``YamlRefused`` with every problem found (and what could be read)."""
    if len(data) > MAX_BYTES:
        raise YamlRefused([Problem(file, 1, 1, f"file is larger than {MAX_BYTES // 1024} KiB; refused")])
    text = _decode(data, file)
    problems: list[Problem] = []
    lines = text.split("\n")
    damaged: set[int] = set()
    root: Node | None = None
    for _ in range(MAX_REPAIRS + 1):
        try:
            root = yaml.compose("\n".join(lines), Loader=_Loader)
            break
        except yaml.YAMLError as exc:
            line, _col, problem = _syntax_problem(exc, "\n".join(lines), lines, file)
            if damaged and line <= max(damaged):
                # Setting a line aside broke what came before it: what follows would be echoes.
                raise YamlRefused(problems) from None
            problems.append(problem)
            if len(problems) > MAX_REPAIRS or not 1 <= line <= len(lines) or not lines[line - 1].strip():
                raise YamlRefused(problems) from None
            damaged.add(line)
            lines[line - 1] = _repair(lines, line - 1)
    if root is None:
        if problems:
            raise YamlRefused(problems)
        raise YamlRefused([Problem(file, 1, 1, "file is empty (it holds no YAML value)")])
    builder = _Builder(file)
    value = builder.build(root, ())
    doc = YamlDoc(file, value, builder.positions, builder.ends, frozenset(damaged))
    if problems or builder.problems:
        raise YamlRefused(problems + builder.problems, doc)
    return doc


def _leading_tab(line: str) -> int | None:
    """The 0-based column of a tab among the line's leading whitespace, if there is one."""
    for col, char in enumerate(line):
        if char == "\t":
            return col
        if char != " ":
            return None
    return None


def _syntax_problem(exc: yaml.YAMLError, text: str, lines: list[str], file: str) -> tuple[int, int, Problem]:
    """The line to set aside, and the problem as the lead reads it: at the line that is wrong."""
    line, col = _error_position(exc, text)
    reason = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    context = getattr(exc, "context", None)
    context_mark = getattr(exc, "context_mark", None)
    tab = _leading_tab(lines[line - 1]) if 1 <= line <= len(lines) else None
    if tab is not None or "\t" in str(reason) or "tab" in str(reason):
        if tab is None:
            tab = max(lines[line - 1].find("\t"), 0) if 1 <= line <= len(lines) else col - 1
        message = "YAML syntax error: a tab character indents this line; YAML indents with spaces only"
        return line, tab + 1, Problem(file, line, tab + 1, message + " (replace the tab with spaces)")
    if (
        context_mark is not None
        and context_mark.line + 1 < line
        and not str(context).startswith("while parsing a block")
    ):
        # An unclosed quote or bracket, a key without its colon: the line that opened it is the one to fix
        # (a block's context is only the mapping or list that holds the mistake).
        line, col = context_mark.line + 1, context_mark.column + 1
    detail = f"{context}, {reason}" if context else reason
    return line, col, Problem(file, line, col, f"YAML syntax error: {detail}")


def _repair(lines: list[str], index: int) -> str:
    """What replaces a line that does not parse: for a tab that indents it, the same line indented with
    the number of spaces that lets the most of the file parse; otherwise nothing (the line is set aside)."""
    line = lines[index]
    if _leading_tab(line) is None:
        # Keep the indentation and any `- ` that opens a list entry: the lines after it stay put.
        stripped = line.lstrip(" ")
        keep = line[: len(line) - len(stripped)]
        while stripped.startswith("- ") or stripped == "-":
            keep += "- "
            stripped = stripped[2:].lstrip(" ")
        return keep.rstrip() if keep.strip() else ""
    stripped = line.lstrip(" \t")
    indent = line[: len(line) - len(stripped)]
    best, best_reach = "", -1
    for width in (2, 4, 8):
        candidate = indent.replace("\t", " " * width) + stripped
        trial = [*lines[:index], candidate, *lines[index + 1 :]]
        try:
            yaml.compose("\n".join(trial), Loader=_Loader)
            return candidate
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            reach = mark.line if mark is not None else -1
            if reach > index and reach > best_reach:
                best, best_reach = candidate, reach
    return best


def load_yaml(path: Path, file: str | None = None) -> YamlDoc:
    """Read and parse ``path``; ``file`` is the name problems carry (defaults to the path)."""
    name = file or str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise YamlRefused([Problem(name, 1, 1, "file not found")]) from None
    except OSError as exc:
        raise YamlRefused([Problem(name, 1, 1, f"cannot read the file: {exc.strerror or exc}")]) from None
    return parse_yaml(data, name)
