"""``load_programme``: read the three programme files, check everything, return a resolved ``Programme``.

Three passes, each collecting problems instead of stopping:
1. YAML (``yamlpos``): syntax, encoding, duplicate keys, alias bombs;
2. each file against its pydantic model (``models``): types, units, spelling, unknown keys;
3. across values and files (``checks``): references, ``extends``, windows against durations, dates,
   addresses against the programme's domains, duplicate pairs.
Every pass runs on whatever the one before it could read, so one ``validate`` lists every mistake:
a file with a syntax error is read around the bad line (``yamlpos``), and a file that fails its model
is *salvaged*: each value that passes its own check is kept, each one that fails is dropped and its
path remembered, so the third pass checks the rest (a duplicate pair, an address outside the domains,
an unknown agenda) without echoing the mistakes already reported. Pydantic's error locations are
mapped back to YAML positions here.
"""

from __future__ import annotations

import difflib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError

from worker.policies.checks import check_and_resolve
from worker.policies.errors import ConfigError, Problem
from worker.policies.models import PairsFile, PoliciesFile, ProgramFile, ProgramSection
from worker.policies.programme import Programme
from worker.policies.values import did_you_mean, show
from worker.policies.yamlpos import PathKey, YamlDoc, YamlRefused, dotted, load_yaml

FILES: dict[str, type[BaseModel]] = {
    "program.yaml": ProgramFile,
    "policies.yaml": PoliciesFile,
    "pairs.yaml": PairsFile,
}


# Why a programme with no pairs is refused: every series it booked would be cancelled on the strength of
# what is missing from the file (a truncated ConfigMap, a bad merge), so it takes a confirmation.
NO_PAIRS = (
    "pairs: the list is empty; a pass would cancel every series this programme booked. If the programme "
    "really has no pairs any more, run once with `crossgen run --confirm-cancel`"
)


def load_programme(
    config_dir: Path, *, allow_no_pairs: bool = False, pairs_optional: bool = False
) -> Programme:
    """Load program.yaml, policies.yaml and pairs.yaml from ``config_dir``.

    Raises ``ConfigError`` with every problem found, across all three files. A pairs file that is missing,
    empty or unreadable is a problem like any other, never "no pairs"; ``pairs: []`` is one too, unless
    ``allow_no_pairs`` (``--confirm-cancel``: the lead means it). With ``pairs_optional`` (``crossgen
    match`` on a new programme) a missing pairs.yaml reads as one with no pairs.
    """
    problems: list[Problem] = []
    docs: dict[str, YamlDoc] = {}
    models: dict[str, Any] = {}
    dropped: dict[str, set[PathKey]] = {}
    if not config_dir.is_dir():
        raise ConfigError(
            [
                Problem(
                    str(config_dir), 1, 1, "not a folder holding program.yaml, policies.yaml and pairs.yaml"
                )
            ]
        )
    for name, model in FILES.items():
        path = config_dir / name
        absent = not path.exists() and not path.with_suffix(".yml").exists()
        if pairs_optional and name == "pairs.yaml" and absent:
            docs[name], models[name] = YamlDoc(str(path), {"pairs": []}), PairsFile(pairs=())
            continue
        if not path.exists() and path.with_suffix(".yml").exists():
            problems.append(Problem(str(path), 1, 1, f"file not found; rename {name[:-5]}.yml to {name}"))
            continue
        try:
            doc = load_yaml(path, str(path))
        except YamlRefused as refused:
            problems.extend(refused.problems)
            if refused.doc is None:
                continue
            doc = refused.doc
        docs[name] = doc
        try:
            models[name] = model.model_validate(doc.value)
        except ValidationError as exc:
            problems.extend(problems_from(exc, doc, model))
            dropped[name] = set()
            models[name] = salvage(model, doc.value, (), dropped[name])
            continue
        empty = isinstance(models[name], PairsFile) and not models[name].pairs
        if empty and not (allow_no_pairs or pairs_optional):
            problems.append(doc.problem(("pairs",), NO_PAIRS))
    programme, more, warnings = check_and_resolve(
        docs,
        program=models.get("program.yaml"),
        policies=models.get("policies.yaml"),
        pairs=models.get("pairs.yaml"),
        dropped=dropped,
        program_fields=_program_fields(docs.get("program.yaml"), dropped),
    )
    problems.extend(more)
    if problems or programme is None:
        raise ConfigError(
            problems or [Problem(str(config_dir), 1, 1, "the programme could not be loaded")], warnings
        )
    return programme


# --- salvage: what passed its own check, from a file that failed its model ---------------------------

_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}
_DROPPED = object()


def _adapter(annotation: Any, metadata: tuple[Any, ...]) -> TypeAdapter[Any]:
    key = (annotation, metadata)
    if key not in _ADAPTERS:
        _ADAPTERS[key] = TypeAdapter(typing.Annotated[annotation, *metadata] if metadata else annotation)
    return _ADAPTERS[key]


def salvage(model: type[BaseModel], raw: Any, path: PathKey, dropped: set[PathKey]) -> Any:
    """``model`` built from the values of ``raw`` that pass their own checks; the paths of those that
    do not (or of the whole value, when a required key cannot be kept) are added to ``dropped``."""
    try:
        return model.model_validate(raw)
    except ValidationError:
        pass
    if not isinstance(raw, dict):
        dropped.add(path)
        return None
    values: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if key not in raw:
            continue
        value = _salvage_value(info.annotation, tuple(info.metadata), raw[key], (*path, key), dropped)
        if value is not _DROPPED:
            values[key] = value
    if any(f.is_required() and (f.alias or n) not in values for n, f in model.model_fields.items()):
        dropped.add(path)
        return None
    return model.model_construct(**values)


def _salvage_value(
    annotation: Any, metadata: tuple[Any, ...], raw: Any, path: PathKey, dropped: set[PathKey]
) -> Any:
    try:
        return _adapter(annotation, metadata).validate_python(raw)
    except ValidationError:
        pass
    inner = _unwrap(annotation)
    origin, args = typing.get_origin(inner), typing.get_args(inner)
    if isinstance(inner, type) and issubclass(inner, BaseModel):
        value = salvage(inner, raw, path, dropped)
        return _DROPPED if value is None else value
    if origin is dict and isinstance(raw, dict):
        out = {}
        for key, item in raw.items():
            try:
                name = _adapter(args[0], ()).validate_python(key)
            except ValidationError:
                dropped.add((*path, key))
                continue
            value = _salvage_value(args[1], (), item, (*path, key), dropped)
            if value is not _DROPPED:
                out[name] = value
        return out
    item_type = _unwrap(args[0]) if args else None
    if (
        origin is tuple
        and isinstance(raw, list)
        and isinstance(item_type, type)
        and issubclass(item_type, BaseModel)
    ):
        # A dropped entry stays as None, so the others keep their positions (pairs[3] is still the third).
        kept = [_salvage_value(args[0], (), item, (*path, i), dropped) for i, item in enumerate(raw)]
        return tuple(None if value is _DROPPED else value for value in kept)
    dropped.add(path)
    return _DROPPED


def _program_fields(doc: YamlDoc | None, dropped: dict[str, set[PathKey]]) -> dict[str, Any]:
    """program.yaml's values that passed their own checks, even when the file as a whole did not: the
    pairs are still checked against its domains, mailboxes and dates."""
    raw = doc.value.get("program") if doc is not None and isinstance(doc.value, dict) else None
    if not isinstance(raw, dict):
        return {}
    out: dict[str, Any] = {}
    for name, info in ProgramSection.model_fields.items():
        if name in raw:
            try:
                out[name] = _adapter(info.annotation, tuple(info.metadata)).validate_python(raw[name])
            except ValidationError:
                continue
    return out


# --- pydantic errors -> FILE:LINE:COL --------------------------------------------------------------


def problems_from(exc: ValidationError, doc: YamlDoc, model: type[BaseModel]) -> list[Problem]:
    """Pydantic's errors for ``doc`` as FILE:LINE:COL problems (also used for the matching pool file)."""
    out: list[Problem] = []
    errors = exc.errors(include_url=False)
    # A misspelt key is also a missing one: report it once, as the misspelling with its hint.
    hinted: set[PathKey] = set()
    for error in errors:
        if error["type"] == "extra_forbidden":
            path = _path_in(doc, tuple(error["loc"]))
            close = difflib.get_close_matches(str(path[-1]), _allowed_keys(model, path[:-1]), n=1, cutoff=0.6)
            hinted.update((*path[:-1], key) for key in close)
    for error in errors:
        loc = tuple(error["loc"])
        at_key = False
        if "[key]" in loc:  # a bad mapping key (e.g. a policy name): point at the key itself
            loc, at_key = loc[: loc.index("[key]")], True
        path = _path_in(doc, loc)
        kind = error["type"]
        if kind == "extra_forbidden":
            allowed = _allowed_keys(model, path[:-1])
            message = f"unknown key{did_you_mean(str(path[-1]), allowed)}"
            if allowed:
                message += f"; expected one of: {', '.join(allowed)}"
            out.append(doc.problem(path, f"{dotted(path)}: {message}", at_key=True))
        elif kind == "missing":
            if path in hinted or doc.damaged_within(path[:-1]):
                continue  # the misspelling, or the line set aside after a syntax error, says it already
            parent = path[:-1]
            where = dotted(parent) or "the file"
            out.append(doc.problem(parent, f"{dotted(path)}: missing; {where} needs this key", at_key=True))
        else:
            label = dotted(path) or "(top level)"
            out.append(doc.problem(path, f"{label}: {_message(error)}", at_key=at_key))
    return out


def _path_in(doc: YamlDoc, loc: tuple[Any, ...]) -> PathKey:
    """Pydantic's location, without the validator names it inserts for unions and annotated types."""
    path: list[str | int] = []
    for part in loc:
        candidate = (*path, part)
        if candidate in doc.positions or isinstance(part, int) or not _looks_internal(part):
            path.append(part)
    return tuple(path)


def _looks_internal(part: Any) -> bool:
    return isinstance(part, str) and ("[" in part or "(" in part)


def _message(error: Any) -> str:
    kind, value, ctx = error["type"], error.get("input"), error.get("ctx") or {}
    shown = show(value)
    if kind == "int_type" or kind == "int_from_float":
        return f"expected a whole number, got {shown}"
    if kind == "bool_type":
        return f"expected true or false, got {shown}"
    if kind == "string_type":
        return f"expected text, got {shown}"
    if kind in ("tuple_type", "list_type"):
        return f"expected a list, got {shown}"
    if kind in ("model_type", "dict_type", "model_attributes_type"):
        return f"expected a mapping (key: value lines), got {shown}"
    if kind == "greater_than_equal":
        return f"must be at least {ctx.get('ge')}, got {shown}"
    if kind == "less_than_equal":
        return f"must be at most {ctx.get('le')}, got {shown}"
    if kind == "too_short":
        return "cannot be empty" if isinstance(value, str) else "needs at least one entry"
    return str(error["msg"])


def _allowed_keys(model: type[BaseModel], path: PathKey) -> list[str]:
    """The keys a mapping at ``path`` may hold, for did-you-mean hints: walk the model's annotations."""
    current: Any = model
    for part in path:
        current = _step(current, part)
        if current is None:
            return []
    current = _unwrap(current)
    if isinstance(current, type) and issubclass(current, BaseModel):
        return [f.alias or n for n, f in current.model_fields.items()]
    return []


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            arms = [a for a in typing.get_args(annotation) if a is not type(None)]
            annotation = next(
                (a for a in arms if not isinstance(a, type) or issubclass(a, BaseModel)), arms[0]
            )
        else:
            return annotation


def _step(annotation: Any, part: str | int) -> Any:
    annotation = _unwrap(annotation)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        for name, info in annotation.model_fields.items():
            if part in (name, info.alias):
                return info.annotation
        return None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is dict:
        return args[1]
    if origin in (tuple, list) and args:
        return args[0]
    return None
