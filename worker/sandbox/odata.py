"""The OData query options the Outlook endpoints honour: ``$filter``, ``$select``, ``$orderby``, ``$top``,
``$skip`` and ``@odata.nextLink`` paging.

``$filter`` is a small recursive-descent parser over what Outlook and directory clients send:
comparisons (``eq ne gt ge lt le``), ``in (...)`` lists, ``and``/``or``/``not``, parentheses,
``contains``/``startswith``/``endswith``, and ``any``/``all`` lambdas, notably
``singleValueExtendedProperties/Any(ep: ep/id eq '...' and ep/value eq '...')``. Strings use OData
quoting (``''`` is a quote). Per the extended-properties docs, the property *name* inside ``ep/id`` is
matched case-sensitively while values (and, as in Exchange, other strings) match case-insensitively.
Anything else gets Graph's 400 for an invalid filter clause instead of being silently ignored.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from worker.sandbox.errors import GraphError

Predicate = Callable[[dict[str, Any]], bool]

_TOKEN = re.compile(
    r"(?P<str>'(?:[^']|'')*')"
    r"|(?P<dt>\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)"
    r"|(?P<num>-?\d+(?:\.\d+)?)"
    r"|(?P<punct>[(),:])"
    r"|(?P<word>[A-Za-z_@#$][\w./@#{}$-]*)"
)
_COMPARE = {"eq", "ne", "gt", "ge", "lt", "le"}


def invalid_filter(detail: str) -> GraphError:
    return GraphError(400, "BadRequest", f"Invalid filter clause: {detail}")


@dataclass
class _Tok:
    kind: str
    text: str


def _tokenize(text: str) -> list[_Tok]:
    out: list[_Tok] = []
    pos = 0
    while pos < len(text):
        if text[pos].isspace():
            pos += 1
            continue
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise invalid_filter(f"syntax error at position {pos} in '{text}'.")
        kind = m.lastgroup or "word"
        out.append(_Tok(kind, m.group(kind).strip()))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.toks = _tokenize(text)
        self.i = 0

    def peek(self, offset: int = 0) -> _Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def take(self, text: str | None = None) -> _Tok:
        tok = self.peek()
        if tok is None or (text is not None and tok.text.lower() != text):
            raise invalid_filter(f"expected '{text}' in '{self.text}'.")
        self.i += 1
        return tok

    def is_word(self, word: str) -> bool:
        tok = self.peek()
        return tok is not None and tok.kind == "word" and tok.text.lower() == word

    def parse(self) -> Any:
        node = self.expr()
        if self.peek() is not None:
            raise invalid_filter(f"unexpected '{self.peek().text}' in '{self.text}'.")  # type: ignore[union-attr]
        return node

    def expr(self) -> Any:
        node = self.conj()
        while self.is_word("or"):
            self.take()
            node = ("or", node, self.conj())
        return node

    def conj(self) -> Any:
        node = self.neg()
        while self.is_word("and"):
            self.take()
            node = ("and", node, self.neg())
        return node

    def neg(self) -> Any:
        if self.is_word("not"):
            self.take()
            return ("not", self.neg())
        return self.comparison()

    def comparison(self) -> Any:
        left = self.operand()
        if self.is_word("in"):  # mail in ('a','b'): a list of literals
            self.take()
            self.take("(")
            values = [self.operand()]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take(",")
                values.append(self.operand())
            self.take(")")
            if any(v[0] != "lit" for v in values):
                raise invalid_filter(f"the 'in' operator takes a list of literals in '{self.text}'.")
            # The literals as a set as well, compared as "eq" compares them: `mail in (...)` over the whole
            # directory is otherwise people x values comparisons (a bench run's manager-chain reads).
            return ("in", left, values, frozenset(_norm(v[1]) for v in values))
        tok = self.peek()
        if tok is not None and tok.kind == "word" and tok.text.lower() in _COMPARE:
            self.take()
            return ("cmp", tok.text.lower(), left, self.operand())
        return left

    def operand(self) -> Any:
        tok = self.take()
        if tok.kind == "punct" and tok.text == "(":
            node = self.expr()
            self.take(")")
            return node
        if tok.kind == "str":
            return ("lit", tok.text[1:-1].replace("''", "'"))
        if tok.kind == "dt":
            return ("lit", tok.text)
        if tok.kind == "num":
            return ("lit", float(tok.text) if "." in tok.text else int(tok.text))
        low = tok.text.lower()
        if low in ("true", "false"):
            return ("lit", low == "true")
        if low == "null":
            return ("lit", None)
        nxt = self.peek()
        if nxt is not None and nxt.text == "(":
            self.take("(")
            if "/" in tok.text and low.rsplit("/", 1)[1] in ("any", "all"):
                collection, kind = tok.text.rsplit("/", 1)
                if self.peek() is not None and self.peek().text == ")":  # type: ignore[union-attr]
                    self.take(")")
                    return ("nonempty", collection)
                var = self.take().text
                self.take(":")
                body = self.expr()
                self.take(")")
                return ("lambda", kind.lower(), collection, var, body)
            args = [self.expr()]
            while self.peek() is not None and self.peek().text == ",":  # type: ignore[union-attr]
                self.take(",")
                args.append(self.expr())
            self.take(")")
            return ("call", low, args)
        return ("path", tok.text)


def _resolve(path: str, item: dict[str, Any], env: dict[str, Any]) -> Any:
    parts = path.split("/")
    value: Any = env[parts[0]] if parts[0] in env else item.get(parts[0])
    for part in parts[1:]:
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _norm(value: Any) -> Any:
    return value.lower() if isinstance(value, str) else value


@functools.lru_cache(maxsize=4096)  # the same few property ids are compared for every event listed
def ext_id_key(value: str) -> tuple[str, str]:
    # "String {guid} Name PairId": type and GUID are case-insensitive, the name is case-sensitive
    head, sep, name = value.partition(" Name ")
    return head.lower(), name if sep else value.lower()


def _compare(op: str, left: Any, right: Any, *, ext_id: bool) -> bool:
    if ext_id and isinstance(left, str) and isinstance(right, str):
        left, right = ext_id_key(left), ext_id_key(right)
    else:
        left, right = _norm(left), _norm(right)
    if op == "eq":
        return bool(left == right)
    if op == "ne":
        return bool(left != right)
    if left is None or right is None:
        return False
    try:
        return bool({"gt": left > right, "ge": left >= right, "lt": left < right, "le": left <= right}[op])
    except TypeError:
        return False


def _eval(node: Any, item: dict[str, Any], env: dict[str, Any]) -> Any:
    kind = node[0]
    if kind == "lit":
        return node[1]
    if kind == "path":
        return _resolve(node[1], item, env)
    if kind == "and":
        return bool(_eval(node[1], item, env)) and bool(_eval(node[2], item, env))
    if kind == "or":
        return bool(_eval(node[1], item, env)) or bool(_eval(node[2], item, env))
    if kind == "not":
        return not _eval(node[1], item, env)
    if kind == "cmp":
        left, right = node[2], node[3]
        # An extended property's id (ep/id in a lambda, or id inside $expand's filter): name case-sensitive.
        ext_id = any(
            n[0] == "path" and (n[1] == "id" or (n[1].split("/")[0] in env and n[1].endswith("/id")))
            for n in (left, right)
        )
        return _compare(node[1], _eval(left, item, env), _eval(right, item, env), ext_id=ext_id)
    if kind == "in":
        value = _norm(_eval(node[1], item, env))
        try:
            return value in node[3]
        except TypeError:  # an unhashable value (a collection) equals no literal
            return False
    if kind == "nonempty":
        return bool(_resolve(node[1], item, env))
    if kind == "lambda":
        _, quantifier, collection, var, body = node
        values = _resolve(collection, item, env) or []

        def test(v: Any) -> bool:
            return bool(_eval(body, item, {**env, var: v}))

        return any(map(test, values)) if quantifier == "any" else all(map(test, values))
    if kind == "call":
        name, args = node[1], [_eval(a, item, env) for a in node[2]]
        if name in ("contains", "startswith", "endswith") and len(args) == 2:
            hay, needle = _norm(args[0]), _norm(args[1])
            if not isinstance(hay, str) or not isinstance(needle, str):
                return False
            return {
                "contains": needle in hay,
                "startswith": hay.startswith(needle),
                "endswith": hay.endswith(needle),
            }[name]
        if name in ("tolower", "toupper") and len(args) == 1:
            return _norm(args[0])
        if name == "cast" and len(args) == 2:
            try:
                return int(args[0])
            except (TypeError, ValueError):
                return None
        raise invalid_filter(f"the function '{name}' is not supported.")
    raise invalid_filter("unsupported expression.")


def in_prefilter(text: str | None) -> tuple[str, frozenset[Any]] | None:
    """(path, normalised literals) when the whole filter is ``path in (...)``: a caller holding an index
    may narrow its candidates to those values before applying the filter itself."""
    if not text or not text.strip():
        return None
    tree = _parse(text)
    if tree[0] == "in" and tree[1][0] == "path":
        return str(tree[1][1]), tree[3]
    return None


@functools.lru_cache(maxsize=256)
def _parse(text: str) -> Any:
    """The filter's tree, parsed once per text: clients send the same filters again and again, and one
    request may ask several questions of its filter (the ``in`` limits, the narrowing, the predicate).
    The tree is never modified after parsing."""
    return _Parser(text).parse()


def compile_filter(text: str | None) -> Predicate | None:
    if not text or not text.strip():
        return None
    tree = _parse(text)
    return lambda item: bool(_eval(tree, item, {}))


@functools.lru_cache(maxsize=256)
def id_alternatives(text: str) -> frozenset[tuple[str, str]] | None:
    """``ext_id_key`` of each literal when the filter is only ``id eq '..' or id eq '..' ...`` (the
    ``$expand=singleValueExtendedProperties($filter=...)`` the worker sends with every listing), so a
    property is kept by a set lookup instead of the interpreter: the same answer as ``compile_filter``'s
    (``_compare`` with ``ext_id``), about 100 times faster per property. None for any other filter."""
    found: set[tuple[str, str]] = set()
    stack = [_parse(text)]
    while stack:
        node = stack.pop()
        if node[0] == "or":
            stack += [node[1], node[2]]
            continue
        if node[0] != "cmp" or node[1] != "eq":
            return None
        sides = {node[2][0]: node[2], node[3][0]: node[3]}
        path, lit = sides.get("path"), sides.get("lit")
        if path is None or lit is None or path[1] != "id" or not isinstance(lit[1], str):
            return None
        found.add(ext_id_key(lit[1]))
    return frozenset(found)


def extended_property_match(text: str) -> tuple[str, str] | None:
    """(id, value) when the filter is exactly ``singleValueExtendedProperties/Any(ep: ep/id eq '..' and
    ep/value eq '..')``, the lookup the worker makes on every run, so callers can skip the interpreter."""
    tree = _parse(text)
    if tree[0] != "lambda" or tree[1] != "any" or tree[2].lower() != "singlevalueextendedproperties":
        return None
    var, body = tree[3], tree[4]
    if body[0] != "and":
        return None
    found: dict[str, str] = {}
    for cmp in (body[1], body[2]):
        if cmp[0] != "cmp" or cmp[1] != "eq" or cmp[2][0] != "path" or cmp[3][0] != "lit":
            return None
        if not isinstance(cmp[3][1], str) or cmp[2][1] not in (f"{var}/id", f"{var}/value"):
            return None
        found[cmp[2][1].rsplit("/", 1)[1]] = cmp[3][1]
    if set(found) != {"id", "value"}:
        return None
    return found["id"], found["value"]


def ext_matches(ext: dict[str, str], wanted: tuple[str, str]) -> bool:
    """``extended_property_match``'s test: the id's name part case-sensitive, the value case-insensitive."""
    key, value = ext_id_key(wanted[0]), wanted[1].lower()
    return any(v.lower() == value and ext_id_key(k) == key for k, v in ext.items())


def expand_extended(expand: str, ext: dict[str, str], *, entity: str) -> list[dict[str, str]]:
    """``$expand=singleValueExtendedProperties($filter=id eq '...' [or id eq '...'])``: only the ids asked.

    "You cannot use the REST API to get all the extended properties of a specific instance in one
    call", so an expand without a filter returns none. Any other navigation is Graph's 400.
    """
    head, _, inner = expand.partition("(")
    if head.strip().lower() != "singlevalueextendedproperties":
        raise GraphError(
            400, "BadRequest", f"Could not find a property named '{head.strip()}' on type '{entity}'."
        )
    inner = inner.strip()
    inner = inner[:-1] if inner.endswith(")") else inner
    option, _, clause = inner.partition("=")
    if not clause or option.strip().lower() != "$filter":
        return []
    predicate = compile_filter(clause)
    if predicate is None:
        return []
    wanted = []
    for pid, value in ext.items():
        # ids compare with the name part case-sensitive: test with our own key, not plain equality
        if predicate({"id": pid}):
            wanted.append({"id": pid, "value": value})
    return wanted


def filter_roots(text: str) -> set[str]:
    """The top-level properties a filter reads (lower-case), lambda variables excluded."""
    roots: set[str] = set()

    def walk(node: Any, bound: frozenset[str]) -> None:
        kind = node[0]
        if kind == "path":
            head = node[1].split("/")[0]
            if head not in bound:
                roots.add(head.lower())
        elif kind in ("and", "or"):
            walk(node[1], bound)
            walk(node[2], bound)
        elif kind == "not":
            walk(node[1], bound)
        elif kind == "cmp":
            walk(node[2], bound)
            walk(node[3], bound)
        elif kind == "in":
            walk(node[1], bound)
        elif kind == "nonempty":
            roots.add(node[1].split("/")[0].lower())
        elif kind == "lambda":
            roots.add(node[2].split("/")[0].lower())
            walk(node[4], bound | {node[3]})
        elif kind == "call":
            for arg in node[2]:
                walk(arg, bound)

    walk(_parse(text), frozenset())
    return roots


def in_values(text: str | None) -> int:
    """How many values the filter's ``in (...)`` lists hold in all (Graph allows 15 by default)."""
    if not text or not text.strip():
        return 0

    def count(node: Any) -> int:
        kind = node[0]
        if kind == "in":
            return len(node[2])
        if kind in ("and", "or"):
            return count(node[1]) + count(node[2])
        if kind == "not":
            return count(node[1])
        if kind == "lambda":
            return count(node[4])
        return 0

    return count(_parse(text))


def select_fields(text: str | None) -> list[str] | None:
    if not text:
        return None
    return [f.strip() for f in text.split(",") if f.strip()]


def sort(items: list[dict[str, Any]], orderby: str | None) -> list[dict[str, Any]]:
    if not orderby:
        return items
    for clause in reversed([c.strip() for c in orderby.split(",") if c.strip()]):
        path, _, direction = clause.partition(" ")
        reverse = direction.strip().lower() == "desc"

        def key(item: dict[str, Any], path: str = path) -> tuple[bool, Any]:
            value = _norm(_resolve(path, item, {}))
            return (value is None, value if value is not None else "")

        items = sorted(items, key=key, reverse=reverse)
    return items


def page(
    items: list[Any],
    *,
    query: dict[str, str],
    base_url: str,
    path: str,
    default_size: int,
    max_page_size: int | None = None,
) -> tuple[list[Any], str | None]:
    """One page and the ``@odata.nextLink`` to the next (``$top`` is Outlook's page size)."""
    try:
        skip = int(query.get("$skip", "0"))
        size = int(query.get("$top", str(max_page_size or default_size)))
    except ValueError as exc:
        raise GraphError(400, "BadRequest", "Invalid value for $top or $skip.") from exc
    if size < 0 or skip < 0:
        raise GraphError(400, "BadRequest", "Invalid value for $top or $skip.")
    size = min(size, 1000)
    chunk = items[skip : skip + size]
    if skip + size >= len(items) or size == 0:
        return chunk, None
    nxt = dict(query)
    nxt["$skip"] = str(skip + size)
    encoded = urlencode(nxt, quote_via=quote, safe="$,/:()'")
    return chunk, f"{base_url}{path}?{encoded}"


def project(
    item: dict[str, Any], fields: list[str] | None, *, always: tuple[str, ...] = ("id",)
) -> dict[str, Any]:
    """Apply ``$select``: the asked fields plus the etag and id, as Graph returns them."""
    if fields is None:
        return item
    wanted = {f.lower() for f in fields} | {a.lower() for a in always}
    return {k: v for k, v in item.items() if k.startswith("@odata.") or k.lower() in wanted}
