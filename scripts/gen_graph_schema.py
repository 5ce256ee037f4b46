"""Generate ``worker/sandbox/graph_schema.json`` from Microsoft's Graph v1.0 CSDL.

Why: the sandbox refuses what Graph refuses, so it validates request bodies against Microsoft's own
schema rather than a hand-written copy. The CSDL is 3.5 MB, vendored gzip-compressed with its MIT licence
in ``vendor/msgraph/graph-v1.0-csdl.xml.gz`` (not shipped in the package); this script distils the part
the product touches into a small, deterministic JSON file that is committed and shipped as package data.
A test regenerates it and compares, so the committed file cannot drift from the script.

What is kept: the closure of types reachable from ``ROOT_TYPES`` and ``ACTIONS`` through structural
properties, the navigation properties Graph lets a client write inline (``INLINE_NAVIGATION``), and the
derived types of every type used in a slot (so ``@odata.type`` can name e.g. ``customTimeZone``). Every
type lists its properties with inherited ones already merged, so the validator never walks base types.

Usage: ``python scripts/gen_graph_schema.py [CSDL] [-o OUT]`` (CSDL: ``.xml`` or ``.xml.gz``, the
vendored copy by default).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import xml.etree.ElementTree as ET  # the input is Microsoft's metadata file, vendored in this repository
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CSDL = REPO / "vendor" / "msgraph" / "graph-v1.0-csdl.xml.gz"
DEFAULT_OUT = REPO / "worker" / "sandbox" / "graph_schema.json"

EDM = "{http://docs.oasis-open.org/odata/ns/edm}"
NAMESPACE = "microsoft.graph"
ALIAS = "graph"

# Types the sandbox validates or that its responses are built from; the rest follows by closure.
ROOT_TYPES = (
    "user",
    "mailboxSettings",
    "workingHours",
    "timeZoneBase",
    "customTimeZone",
    "standardTimeZoneOffset",
    "daylightTimeZoneOffset",
    "event",
    "attendee",
    "attendeeBase",
    "recipient",
    "emailAddress",
    "responseStatus",
    "itemBody",
    "dateTimeTimeZone",
    "location",
    "physicalAddress",
    "outlookGeoCoordinates",
    "patternedRecurrence",
    "recurrencePattern",
    "recurrenceRange",
    "onlineMeetingInfo",
    "phone",
    "singleValueLegacyExtendedProperty",
    "multiValueLegacyExtendedProperty",
    "message",
    "internetMessageHeader",
    "attachment",
    "fileAttachment",
    "scheduleInformation",
    "scheduleItem",
    "freeBusyError",
    "openTypeExtension",
    "timeSlot",
    "organization",
    "verifiedDomain",
    "domain",
)

# Action name -> the binding type we mean (the CSDL overloads names such as ``cancel`` across many types).
ACTIONS = {
    "getSchedule": "calendar",
    "cancel": "event",
    "accept": "event",
    "decline": "event",
    "tentativelyAccept": "event",
    "forward": "event",
    "sendMail": "user",
    "send": "message",
    "findMeetingTimes": "user",
}

# Navigation properties a client may send inline in a POST/PATCH body (deep insert into the item).
INLINE_NAVIGATION = frozenset(
    {"singleValueExtendedProperties", "multiValueExtendedProperties", "attachments", "extensions"}
)

# The CSDL marks event, message and user as OpenType, yet the service refuses unknown properties on them
# with RequestBodyRead ("The property 'x' does not exist on type ..."; msgraph-sdk-dotnet#450,
# msgraph-sdk-javascript#212). Only open extensions really carry free-form properties.
HONOURED_OPEN_TYPES = frozenset({"extension", "openTypeExtension"})

# Bases every entity shares; listing all of their derived types would pull in the whole directory.
NO_DERIVED_EXPANSION = frozenset({"entity", "directoryObject", "outlookItem"})


@dataclass
class RawType:
    name: str
    kind: str  # "entity" | "complex"
    base: str | None
    abstract: bool
    open: bool
    properties: dict[str, dict[str, object]] = field(default_factory=dict)
    navigation: dict[str, dict[str, object]] = field(default_factory=dict)


def qualify(type_ref: str) -> tuple[str, bool]:
    """Turn ``Collection(graph.x)`` into (``microsoft.graph.x``, True)."""
    collection = type_ref.startswith("Collection(")
    inner = type_ref[len("Collection(") : -1] if collection else type_ref
    if inner.startswith(ALIAS + "."):
        inner = NAMESPACE + inner[len(ALIAS) :]
    return inner, collection


def local(qualified: str) -> str | None:
    """The short name of a microsoft.graph type, or None for Edm and other namespaces."""
    prefix = NAMESPACE + "."
    if qualified.startswith(prefix) and "." not in qualified[len(prefix) :]:
        return qualified[len(prefix) :]
    return None


def describe(elem: ET.Element) -> dict[str, object]:
    type_name, collection = qualify(elem.get("Type", ""))
    return {"type": type_name, "collection": collection, "nullable": elem.get("Nullable", "true") != "false"}


def read_csdl(path: Path) -> tuple[dict[str, RawType], dict[str, dict[str, object]], list[ET.Element]]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as stream:
        root = ET.parse(stream).getroot()  # noqa: S314 - Microsoft's metadata, vendored here, not user input
    schema = next(s for s in root.iter(EDM + "Schema") if s.get("Namespace") == NAMESPACE)
    types: dict[str, RawType] = {}
    enums: dict[str, dict[str, object]] = {}
    for elem in schema:
        tag = elem.tag.removeprefix(EDM)
        if tag in ("EntityType", "ComplexType"):
            base = elem.get("BaseType")
            raw = RawType(
                name=elem.get("Name", ""),
                kind="entity" if tag == "EntityType" else "complex",
                base=local(qualify(base)[0]) if base else None,
                abstract=elem.get("Abstract") == "true",
                open=elem.get("OpenType") == "true",
            )
            for child in elem:
                child_tag = child.tag.removeprefix(EDM)
                if child_tag == "Property":
                    raw.properties[child.get("Name", "")] = describe(child)
                elif child_tag == "NavigationProperty":
                    raw.navigation[child.get("Name", "")] = describe(child)
            types[raw.name] = raw
        elif tag == "EnumType":
            enums[elem.get("Name", "")] = {
                "flags": elem.get("IsFlags") == "true",
                "members": [m.get("Name") for m in elem.findall(EDM + "Member")],
            }
    actions = [a for a in schema.findall(EDM + "Action")]
    return types, enums, actions


def bases_of(types: dict[str, RawType], name: str) -> list[str]:
    chain: list[str] = []
    current = types[name].base
    while current is not None:
        chain.append(current)
        current = types[current].base
    return chain


def pick_actions(actions: list[ET.Element]) -> dict[str, dict[str, object]]:
    chosen: dict[str, dict[str, object]] = {}
    for action in actions:
        name = action.get("Name", "")
        if name not in ACTIONS:
            continue
        params = action.findall(EDM + "Parameter")
        if not params or qualify(params[0].get("Type", ""))[0] != f"{NAMESPACE}.{ACTIONS[name]}":
            continue
        chosen[name] = {
            "bound_to": f"{NAMESPACE}.{ACTIONS[name]}",
            "parameters": {p.get("Name", ""): describe(p) for p in params[1:]},
        }
    missing = set(ACTIONS) - set(chosen)
    if missing:
        raise SystemExit(f"actions not found in the CSDL: {sorted(missing)}")
    return chosen


def closure(types: dict[str, RawType], actions: dict[str, dict[str, object]]) -> tuple[set[str], set[str]]:
    """Types and enums reachable from the roots, plus derived types of every slot type."""
    derived: dict[str, list[str]] = {}
    for raw in types.values():
        if raw.base:
            derived.setdefault(raw.base, []).append(raw.name)
    seen_types: set[str] = set()
    seen_enums: set[str] = set()
    pending: list[tuple[str, bool]] = [(name, True) for name in ROOT_TYPES]
    for action in actions.values():
        for param in action["parameters"].values():  # type: ignore[attr-defined]
            pending.append((str(param["type"]), True))

    def visit(ref: str, slot: bool) -> None:
        pending.append((ref, slot))

    while pending:
        ref, slot = pending.pop()
        name = local(ref) if "." in ref else ref
        if name is None:
            continue
        if name not in types:
            seen_enums.add(name)
            continue
        if slot and name not in NO_DERIVED_EXPANSION:
            for child in derived.get(name, []):
                if child not in seen_types:
                    visit(child, True)
        if name in seen_types:
            continue
        seen_types.add(name)
        raw = types[name]
        if raw.base:
            visit(raw.base, False)
        for prop in raw.properties.values():
            visit(str(prop["type"]), True)
        for nav_name, nav in raw.navigation.items():
            if nav_name in INLINE_NAVIGATION:
                visit(str(nav["type"]), True)
    return seen_types, seen_enums


def build(csdl: Path) -> dict[str, object]:
    types, enums, raw_actions = read_csdl(csdl)
    actions = pick_actions(raw_actions)
    keep_types, keep_enums = closure(types, actions)
    derived_all: dict[str, set[str]] = {name: set() for name in keep_types}
    for name in keep_types:
        for base in bases_of(types, name):
            if base in derived_all:
                derived_all[base].add(name)
    out_types: dict[str, object] = {}
    for name in sorted(keep_types):
        raw = types[name]
        chain = bases_of(types, name)
        properties: dict[str, object] = {}
        navigation: dict[str, object] = {}
        for owner in [*reversed(chain), name]:
            properties.update(types[owner].properties)
            navigation.update({k: v for k, v in types[owner].navigation.items() if k in INLINE_NAVIGATION})
        out_types[name] = {
            "kind": raw.kind,
            "abstract": raw.abstract,
            "open": raw.open and name in HONOURED_OPEN_TYPES,
            "bases": chain,
            "derived": sorted(derived_all[name]),
            "properties": properties,
            "navigation": navigation,
        }
    unknown = keep_enums - set(enums)
    if unknown:
        raise SystemExit(f"referenced types missing from the CSDL: {sorted(unknown)}")
    return {
        "namespace": NAMESPACE,
        "source": "microsoftgraph/msgraph-metadata clean_v10_metadata/cleanMetadata.xml",
        "generator": "scripts/gen_graph_schema.py",
        "types": out_types,
        "enums": {name: enums[name] for name in sorted(keep_enums)},
        "actions": actions,
    }


def render(schema: dict[str, object]) -> str:
    return json.dumps(schema, sort_keys=True, indent=1) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csdl", nargs="?", type=Path, default=DEFAULT_CSDL)
    parser.add_argument("-o", "--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args(argv)
    text = render(build(args.csdl))
    args.out.write_text(text, encoding="utf-8")
    print(f"wrote {args.out} ({len(text.encode()) // 1024} KB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
