"""Request-body validation against Microsoft's Graph schema, as the service's OData reader does it.

Where it sits: the sandbox's handlers call ``check_entity``/``check_action`` on every POST/PATCH body
before touching the store, so a body Graph would refuse is refused here with Graph's 400 shape
(``RequestBodyRead``), and a body Graph accepts is never refused. The types come from
``graph_schema.json``, generated from the CSDL by ``scripts/gen_graph_schema.py``.

What Graph refuses (and so do we): unknown properties, wrong JSON kinds, unknown enum members,
collection/single mismatches, malformed Edm literals, ``@odata.type`` naming a type that does not fit the
slot, null for non-nullable slots. What Graph accepts (and so do we): enum members in any case, numbers
and booleans sent as strings, ``@odata.type`` with or without ``#`` naming the slot's type or a derived
one, other instance and property annotations, and action parameters in camelCase or PascalCase.

The messages copy ODataLib's wording where it is known from real error reports; the report keeps only
the first problem in its message, as the service does, and all of them in ``problems``.

Storing canonically: ``canonical_entity``/``canonical_action`` return a copy of a validated body with
enum members in their schema spelling, Edm numbers and booleans as JSON numbers and booleans, and
action parameters under their camelCase names, so the store never holds ``"HTML"`` or ``"15"``.
"""

from __future__ import annotations

import base64
import binascii
import calendar
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from worker.sandbox.errors import GraphError

NAMESPACE = "microsoft.graph"
_ANNOTATION_TYPE = "@odata.type"


@dataclass(frozen=True, slots=True)
class Problem:
    """One reason a body is refused: where (a JSON path, ``recurrence.pattern.daysOfWeek[0]``) and why."""

    path: str
    message: str


class SchemaViolation(GraphError):
    """A body Graph would refuse: HTTP 400 ``RequestBodyRead`` carrying the first problem's message."""

    def __init__(self, problems: list[Problem]) -> None:
        if not problems:
            raise ValueError("a SchemaViolation needs at least one problem")
        super().__init__(400, "RequestBodyRead", problems[0].message)
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class Slot:
    """What a property or parameter holds: a qualified type name, collection or not, nullable or not."""

    type: str
    collection: bool = False
    nullable: bool = True

    @classmethod
    def of(cls, spec: Mapping[str, Any]) -> Slot:
        return cls(str(spec["type"]), bool(spec["collection"]), bool(spec["nullable"]))


@cache
def graph_schema() -> dict[str, Any]:
    """The generated schema, loaded once from package data."""
    text = resources.files("worker.sandbox").joinpath("graph_schema.json").read_text(encoding="utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def short_name(type_name: str) -> str:
    """``microsoft.graph.event``, ``#microsoft.graph.event`` or ``event`` -> ``event``."""
    name = type_name.removeprefix("#")
    return name.removeprefix(NAMESPACE + ".")


def qualified(type_name: str) -> str:
    return f"{NAMESPACE}.{short_name(type_name)}"


def entity_type(type_name: str) -> dict[str, Any]:
    """The schema entry of an entity or complex type; KeyError for a type the sandbox does not know."""
    types: dict[str, Any] = graph_schema()["types"]
    return types[short_name(type_name)]  # type: ignore[no-any-return]


# --- Edm literals -------------------------------------------------------------------------------------

_INTEGER_RANGES = {
    "Edm.Byte": (0, 255),
    "Edm.SByte": (-128, 127),
    "Edm.Int16": (-(2**15), 2**15 - 1),
    "Edm.Int32": (-(2**31), 2**31 - 1),
    "Edm.Int64": (-(2**63), 2**63 - 1),
}
_FLOATING = frozenset({"Edm.Double", "Edm.Single", "Edm.Decimal"})
_INTEGER = re.compile(r"[+-]?\d+\Z")
_FLOAT = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\Z|INF\Z|-INF\Z|NaN\Z")
_DATE = r"(?P<y>-?\d{4,})-(?P<mo>\d{2})-(?P<d>\d{2})"
_TIME = r"(?P<h>\d{2}):(?P<mi>\d{2})(:(?P<s>\d{2})(\.\d{1,7})?)?"
_DATE_ONLY = re.compile(_DATE + r"\Z")
_TIME_ONLY = re.compile(_TIME + r"\Z")
# Offsets are optional: the service reads an offset-less instant as UTC, as for calendarView's bounds.
_DATE_TIME = re.compile(_DATE + "T" + _TIME + r"(Z|[+-]\d{2}:\d{2})?\Z", re.IGNORECASE)
# ODataLib reads xs:dayTimeDuration: days, hours, minutes, seconds; no years or months.
_DURATION = re.compile(r"-?P(?=\d|T\d)(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?\Z")
_GUID = re.compile(r"[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}\Z")


def _valid_date(m: re.Match[str]) -> bool:
    year, month, day = int(m["y"]), int(m["mo"]), int(m["d"])
    return 1 <= month <= 12 and 1 <= day <= calendar.monthrange(max(year, 1), month)[1]


def _valid_time(m: re.Match[str]) -> bool:
    return int(m["h"]) <= 23 and int(m["mi"]) <= 59 and int(m["s"] or 0) <= 59


def check_literal(edm_type: str, value: Any) -> str | None:
    """None if ``value`` is a JSON primitive Graph accepts for ``edm_type``, else ODataLib's message."""
    refused = f"Cannot convert the literal '{_literal(value)}' to the expected type '{edm_type}'."
    if edm_type == "Edm.String":
        if isinstance(value, str):
            return None
        return (
            f"Cannot convert a primitive value to the expected type '{edm_type}'. "
            "See the inner exception for more details."
        )
    if edm_type == "Edm.Boolean":
        ok = isinstance(value, bool) or (isinstance(value, str) and value.lower() in ("true", "false"))
        return None if ok else refused
    if edm_type in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[edm_type]
        if isinstance(value, bool):
            return refused
        if isinstance(value, int) or (isinstance(value, str) and _INTEGER.match(value)):
            return None if low <= int(value) <= high else refused
        if isinstance(value, float) and value.is_integer():
            return None if low <= int(value) <= high else refused
        return refused
    if edm_type in _FLOATING:
        if isinstance(value, bool):
            return refused
        ok = isinstance(value, int | float) or (isinstance(value, str) and bool(_FLOAT.match(value)))
        return None if ok else refused
    if not isinstance(value, str):
        return refused if edm_type not in ("Edm.Untyped", "Edm.Stream") else None
    if edm_type == "Edm.DateTimeOffset":
        m = _DATE_TIME.match(value)
        return None if m and _valid_date(m) and _valid_time(m) else refused
    if edm_type == "Edm.Date":
        m = _DATE_ONLY.match(value)
        return None if m and _valid_date(m) else refused
    if edm_type == "Edm.TimeOfDay":
        m = _TIME_ONLY.match(value)
        return None if m and _valid_time(m) else refused
    if edm_type == "Edm.Duration":
        return None if _DURATION.match(value) else refused
    if edm_type == "Edm.Guid":
        return None if _GUID.match(value) else refused
    if edm_type == "Edm.Binary":
        try:
            base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            return refused
        return None
    return None  # Edm.Untyped, Edm.Stream, geography types: the sandbox stores them as given


# --- enums and primitive coercion ---------------------------------------------------------------------


def enum_members(type_name: str) -> list[str]:
    members: list[str] = graph_schema()["enums"][short_name(type_name)]["members"]
    return members


def normalize_enum(type_name: str, value: str) -> str:
    """The schema spelling of an enum member matched case-insensitively (``"HTML"`` -> ``"html"``).

    Flags enums take comma-separated members, as OData writes them. Raises ``SchemaViolation`` with
    ODataLib's "Requested value ... was not found." for anything else.
    """
    spec = graph_schema()["enums"][short_name(type_name)]
    by_folded = {m.lower(): m for m in spec["members"]}
    parts = [p.strip() for p in value.split(",")] if spec["flags"] else [value]
    canonical = [by_folded.get(p.lower()) for p in parts]
    if not value or any(c is None for c in canonical):
        raise SchemaViolation([Problem("", f"Requested value '{value}' was not found.")])
    return ",".join(c for c in canonical if c is not None)


def coerce_primitive(edm_type: str, value: Any) -> Any:
    """A validated Edm value in its JSON-native form: ``"15"`` -> 15, ``"false"`` -> False."""
    if isinstance(value, str):
        if edm_type == "Edm.Boolean":
            return value.lower() == "true"
        if edm_type in _INTEGER_RANGES:
            return int(value)
        if edm_type in _FLOATING:
            return float(value)
    if edm_type in _FLOATING and isinstance(value, int) and not isinstance(value, bool):
        return value  # 47 stays 47: Graph echoes integral doubles without a fraction
    return value


# --- the walker ---------------------------------------------------------------------------------------


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _node(value: Any) -> str:
    """ODataLib's name for the JSON node a value starts with."""
    if isinstance(value, dict):
        return "StartObject"
    if isinstance(value, list):
        return "StartArray"
    return "PrimitiveValue"


def _type_label(slot: Slot) -> str:
    return f"Collection({slot.type})" if slot.collection else slot.type


class _Walker:
    """Walks a JSON body against the schema; collects problems and, if asked, a canonical copy."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append(Problem(path, message))

    def slot(self, path: str, name: str, slot: Slot, value: Any) -> Any:
        if value is None:
            if slot.collection or not slot.nullable:
                label = f"{_type_label(slot)}[Nullable=False]"
                self.fail(
                    path,
                    f"A null value was found for the property named '{name}', which has the expected type "
                    f"'{label}'. The expected type '{label}' does not allow null values.",
                )
            return None
        if slot.collection:
            if not isinstance(value, list):
                self.fail(
                    path,
                    f"An unexpected '{_node(value)}' node was found when reading from the JSON reader. "
                    "A 'StartArray' node was expected.",
                )
                return value
            element = Slot(slot.type, False, slot.nullable)
            return [self.slot(f"{path}[{i}]", name, element, item) for i, item in enumerate(value)]
        return self.single(path, slot.type, value)

    def single(self, path: str, type_name: str, value: Any) -> Any:
        if type_name.startswith("Edm."):
            return self.primitive(path, type_name, value)
        short = short_name(type_name)
        schema = graph_schema()
        if short in schema["enums"]:
            return self.enum(path, short, value)
        if short in schema["types"]:
            return self.structured(path, short, value, root=False, for_create=True)
        return value  # a type outside the generated closure: nothing to check it against

    def primitive(self, path: str, edm_type: str, value: Any) -> Any:
        if isinstance(value, dict | list):
            self.fail(
                path,
                f"An unexpected '{_node(value)}' node was found when reading from the JSON reader. "
                "A 'PrimitiveValue' node was expected.",
            )
            return value
        message = check_literal(edm_type, value)
        if message:
            self.fail(path, message)
            return value
        return coerce_primitive(edm_type, value)

    def enum(self, path: str, enum_name: str, value: Any) -> Any:
        if not isinstance(value, str):
            if isinstance(value, dict | list):
                self.fail(
                    path,
                    f"An unexpected '{_node(value)}' node was found when reading from the JSON reader. "
                    "A 'PrimitiveValue' node was expected.",
                )
            else:
                self.fail(path, f"Cannot read the value '{_literal(value)}' as a quoted JSON string value.")
            return value
        try:
            return normalize_enum(enum_name, value)
        except SchemaViolation as refused:
            self.fail(path, refused.message)
            return value

    def structured(self, path: str, type_name: str, value: Any, *, root: bool, for_create: bool) -> Any:
        if not isinstance(value, dict):
            self.fail(
                path,
                f"An unexpected '{_node(value)}' node was found when reading from the JSON reader. "
                "A 'StartObject' node was expected.",
            )
            return value
        actual = self.resolve_annotation(path, type_name, value.get(_ANNOTATION_TYPE))
        if actual is None:
            return value
        spec = entity_type(actual)
        if spec["abstract"] and (for_create or not root):
            self.fail(
                path,
                f"Cannot create an abstract type '{qualified(actual)}'. Specify '@odata.type' with a "
                "concrete derived type.",  # [unverified] wording; the refusal itself is ODataLib's
            )
        out: dict[str, Any] = {}
        if _ANNOTATION_TYPE in value:
            out[_ANNOTATION_TYPE] = "#" + qualified(actual)
        for key, item in value.items():
            if "@" in key:
                continue  # instance annotations (@odata.etag) and property annotations (x@odata.type)
            where = _join(path, key)
            # Property names are matched exactly: the service refuses "Subject" for "subject"
            # (microsoft-graph-docs#37, "sendMail has case-sensitive JSON properties").
            if key in spec["properties"]:
                out[key] = self.slot(where, key, Slot.of(spec["properties"][key]), item)
            elif key in spec["navigation"]:
                out[key] = self.slot(where, key, Slot.of(spec["navigation"][key]), item)
            elif spec["open"]:
                out[key] = item
            else:
                self.fail(
                    where,
                    f"The property '{key}' does not exist on type '{qualified(actual)}'. Make sure to only "
                    "use property names that are defined by the type or mark the type as open type.",
                )
        return out

    def resolve_annotation(self, path: str, expected: str, annotation: Any) -> str | None:
        """The type to validate against: the slot's own, or the derived one ``@odata.type`` names."""
        if annotation is None:
            return expected
        where = _join(path, _ANNOTATION_TYPE)
        if not isinstance(annotation, str):
            self.fail(where, "The '@odata.type' instance annotation value must be a string.")
            return None
        named = annotation.removeprefix("#")
        short = short_name(named)
        if not named.startswith(NAMESPACE + ".") or short not in graph_schema()["types"]:
            self.fail(
                where,
                f"A type named '{named}' could not be resolved by the model. When a model is available, "
                "each type name must resolve to a valid type.",
            )
            return None
        if short != expected and short not in entity_type(expected)["derived"]:
            self.fail(
                where,
                f"A resource with type '{qualified(short)}' was found, but it is not assignable to the "
                f"expected type '{qualified(expected)}'. The type specified in the resource must be equal "
                "to either the expected type or a derived type.",
            )
            return None
        return short


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# --- public entry points ------------------------------------------------------------------------------


def _entity(type_name: str, body: Any, *, for_create: bool) -> tuple[list[Problem], Any]:
    walker = _Walker()
    canonical = walker.structured("", short_name(type_name), body, root=True, for_create=for_create)
    return walker.problems, canonical


def validate_entity(type_name: str, body: Any, *, for_create: bool) -> list[Problem]:
    """Problems Graph would report for ``body`` as a POST (``for_create``) or PATCH of ``type_name``.

    On PATCH the root may omit ``@odata.type`` even for an abstract type (the stored item fixes it);
    on create it must name a concrete type, as for an attachment.
    """
    return _entity(type_name, body, for_create=for_create)[0]


def check_entity(type_name: str, body: Any, *, for_create: bool) -> None:
    """``validate_entity`` for handlers: raise ``SchemaViolation`` (Graph's 400) on the first problem."""
    problems = validate_entity(type_name, body, for_create=for_create)
    if problems:
        raise SchemaViolation(problems)


def canonical_entity(type_name: str, body: Any, *, for_create: bool = True) -> dict[str, Any]:
    """A validated copy of ``body`` in canonical form; raises ``SchemaViolation`` if Graph would refuse it."""
    problems, canonical = _entity(type_name, body, for_create=for_create)
    if problems:
        raise SchemaViolation(problems)
    result: dict[str, Any] = canonical
    return result


def _camel(name: str) -> str:
    return name[:1].lower() + name[1:]


def _action(action_name: str, body: Any) -> tuple[list[Problem], dict[str, Any]]:
    walker = _Walker()
    spec = graph_schema()["actions"].get(action_name)
    if spec is None:
        raise KeyError(f"the sandbox has no schema for action {action_name!r}")
    if not isinstance(body, dict):
        walker.fail(
            "",
            f"An unexpected '{_node(body)}' node was found when reading from the JSON reader. "
            "A 'StartObject' node was expected.",
        )
        return walker.problems, {}
    # The service matches parameter names whatever the case of their first letter: the docs send
    # "schedules" and "availabilityViewInterval", the SDK sends the CSDL's "Schedules" and "SaveToSentItems".
    by_variant: dict[str, str] = {}
    for name in spec["parameters"]:
        by_variant[name] = name
        by_variant[_camel(name)] = name
        by_variant[name[:1].upper() + name[1:]] = name
    seen: dict[str, str] = {}
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("@"):
            continue
        name = by_variant.get(key)
        if name is None:
            walker.fail(
                key,
                f"The parameter '{key}' in the request payload is not a valid parameter for the "
                f"operation '{action_name}'.",
            )
            continue
        if name in seen:
            walker.fail(key, f"Multiple parameters with the name '{name}' were found in the request payload.")
            continue
        seen[name] = key
        out[_camel(name)] = walker.slot(key, key, Slot.of(spec["parameters"][name]), value)
    return walker.problems, out


def validate_action(action_name: str, body: Any) -> list[Problem]:
    """Problems Graph would report for the JSON body of a bound action such as ``getSchedule``."""
    return _action(action_name, body)[0]


def check_action(action_name: str, body: Any) -> None:
    """``validate_action`` for handlers: raise ``SchemaViolation`` on the first problem."""
    problems = validate_action(action_name, body)
    if problems:
        raise SchemaViolation(problems)


def canonical_action(action_name: str, body: Any) -> dict[str, Any]:
    """Parameters under camelCase names with canonical values; raises ``SchemaViolation`` if refused."""
    problems, out = _action(action_name, body)
    if problems:
        raise SchemaViolation(problems)
    return out


__all__ = [
    "Problem",
    "SchemaViolation",
    "Slot",
    "canonical_action",
    "canonical_entity",
    "check_action",
    "check_entity",
    "coerce_primitive",
    "entity_type",
    "enum_members",
    "graph_schema",
    "normalize_enum",
    "validate_action",
    "validate_entity",
]
