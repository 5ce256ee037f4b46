"""Events over HTTP: create, read, list, update, delete, cancel, respond, instances and calendarView.

The handlers here parse the request and render Graph's answer (``$select``, ``$expand`` of extended
properties, ``$filter``, ``$orderby``, paging, ``Prefer: outlook.timezone``); what a write does to the
organizer's meeting and everyone's copy is ``meetings``; how a series yields occurrences is ``series``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from worker.sandbox import meetings, odata, render, timeutil
from worker.sandbox.errors import GraphError, missing_time_window
from worker.sandbox.router import Ctx, Reply, Router
from worker.sandbox.series import ext_view, find, occurrences, visible_show_as
from worker.sandbox.store import EventRecord, Override, occurrence_id


def _context(ctx: Ctx, suffix: str) -> str:
    assert ctx.user is not None
    return ctx.context_url(f"users('{ctx.user.id}')/{suffix}")


def _render_one(ctx: Ctx, rec: EventRecord, orig: datetime | None, *, context: str | None) -> dict[str, Any]:
    ov = rec.overrides.get(orig) if orig is not None else None
    item = render.event_json(rec, zone=ctx.prefer_zone, original_start=orig, override=ov, context=context)
    item["showAs"] = visible_show_as(rec, ov, item["showAs"])
    item.pop("_organizer_show_as", None)
    return item


def _respond_view(ctx: Ctx, rec: EventRecord, orig: datetime | None, *, status: int, context: str) -> Reply:
    item = _render_one(ctx, rec, orig, context=context)
    fields = odata.select_fields(ctx.req.query.get("$select"))
    item = odata.project(item, fields)
    expand = ctx.req.query.get("$expand")
    if expand:
        item.update(_expand(rec, expand, rec.overrides.get(orig) if orig is not None else None))
    headers = {}
    zone = ctx.prefer_zone
    if zone:
        headers["Preference-Applied"] = f'outlook.timezone="{zone}"'
    return Reply(status, item, headers)


def _expand(rec: EventRecord, expand: str, override: Override | None = None) -> dict[str, Any]:
    head, _, inner = expand.partition("(")
    if head.strip().lower() != "singlevalueextendedproperties":
        raise GraphError(
            400,
            "BadRequest",
            f"Could not find a property named '{head.strip()}' on type 'microsoft.graph.event'.",
        )
    inner = inner.rstrip(")")
    wanted: list[str] = []
    if inner:
        _, _, clause = inner.partition("=")
        known = {**rec.ext, **(override.ext if override is not None else {})}
        keys = odata.id_alternatives(clause) if clause.strip() else None
        if keys is not None:
            wanted = [pid for pid in known if odata.ext_id_key(pid) in keys]
        else:
            predicate = odata.compile_filter(clause)
            wanted = [pid for pid in known if predicate is not None and predicate({"id": pid})]
        # ids are compared with the name part case-sensitive: re-check through ext_id_key
        wanted = [pid for pid in wanted if render.extended_json(rec, [pid], override)]
    return {"singleValueExtendedProperties": render.extended_json(rec, wanted, override)}


def _with_expand(ctx: Ctx, rec: EventRecord, orig: datetime | None, item: dict[str, Any]) -> dict[str, Any]:
    """A listed item with ``$expand`` applied, as Graph expands every item of a collection."""
    expand = ctx.req.query.get("$expand")
    if expand:
        item = {**item, **_expand(rec, expand, rec.overrides.get(orig) if orig is not None else None)}
    return item


async def post_event(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    rec, _created = meetings.create_event(ctx, ctx.user, ctx.mailbox, ctx.json())
    reply = _respond_view(ctx, rec, None, status=201, context=_context(ctx, "events/$entity"))
    reply.headers["Location"] = f"{ctx.req.base_url}/users('{ctx.user.id}')/events('{rec.id}')"
    return reply


async def get_event(ctx: Ctx, event: str, **_: str) -> Reply:
    rec, orig = find(ctx.mailbox, event)
    reply = _respond_view(ctx, rec, orig, status=200, context=_context(ctx, "events/$entity"))
    selected = {f.lower() for f in odata.select_fields(ctx.req.query.get("$select")) or []}
    if orig is None and "cancelledoccurrences" in selected:
        reply.body["cancelledOccurrences"] = render.cancelled_occurrences(rec)
    return reply


Entry = tuple[EventRecord, datetime | None]  # a series master, single event, or (master, original start)


def _list_reply(ctx: Ctx, entries: list[Entry], context: str) -> Reply:
    """A page of events as Graph lists them: $filter, $orderby, paging, $select, $expand.

    Without $filter or $orderby the entries are paged first and only the page is rendered: calendarView
    over a busy month is the worker's most frequent read.
    """
    query = ctx.req.query
    predicate = odata.compile_filter(query.get("$filter"))
    orderby = query.get("$orderby")

    def render_entry(entry: Entry) -> dict[str, Any]:
        rec, orig = entry
        return _with_expand(ctx, rec, orig, _render_one(ctx, rec, orig, context=None))

    max_size = timeutil.prefer_value(ctx.req.headers.get("prefer"), "odata.maxpagesize")

    def paged(items: list[Any]) -> tuple[list[Any], str | None]:
        return odata.page(
            items,
            query=query,
            base_url=ctx.req.base_url,
            path=ctx.req.path,
            default_size=ctx.sandbox.faults.page_size,
            max_page_size=int(max_size) if max_size and max_size.isdigit() else None,
        )

    if predicate is None and not orderby:
        chunk_entries, next_link = paged(entries)
        chunk = [render_entry(e) for e in chunk_entries]
    else:
        items = [render_entry(e) for e in entries]
        if predicate is not None:
            items = [i for e, i in zip(entries, items, strict=True) if predicate(ext_view(e[0], i))]
        chunk, next_link = paged(odata.sort(items, orderby))
    fields = odata.select_fields(query.get("$select"))
    expanded = ("singleValueExtendedProperties",)  # $expand survives $select, as in Graph
    body: dict[str, Any] = {
        "@odata.context": context,
        "value": [{**odata.project(i, fields), **{k: i[k] for k in expanded if k in i}} for i in chunk],
    }
    if next_link:
        body["@odata.nextLink"] = next_link
    headers = {}
    if ctx.prefer_zone:
        headers["Preference-Applied"] = f'outlook.timezone="{ctx.prefer_zone}"'
    return Reply(200, body, headers)


async def list_events(ctx: Ctx, **_: str) -> Reply:
    recs = list(ctx.mailbox.events.values())
    text = ctx.req.query.get("$filter")
    wanted = odata.extended_property_match(text) if text else None
    if wanted is not None:
        # The worker's lookup by pair id, on every run: a direct test, then render only what matched.
        recs = [r for r in recs if odata.ext_matches(r.ext, wanted)]
    elif text and odata.filter_roots(text) <= {"singlevalueextendedproperties"}:
        # Any other test of extended properties alone: judge them before rendering anything.
        predicate = odata.compile_filter(text)
        assert predicate is not None
        recs = [r for r in recs if predicate(ext_view(r, {}))]
    return _list_reply(ctx, [(r, None) for r in recs], _context(ctx, "events"))


def _window(ctx: Ctx) -> tuple[datetime, datetime]:
    query = {k.lower(): v for k, v in ctx.req.query.items()}
    if "startdatetime" not in query or "enddatetime" not in query:
        raise missing_time_window()
    return timeutil.parse_query_instant(query["startdatetime"]), timeutil.parse_query_instant(
        query["enddatetime"]
    )


async def instances(ctx: Ctx, event: str, **_: str) -> Reply:
    start, end = _window(ctx)
    rec, orig = find(ctx.mailbox, event)
    entries: list[Entry] = []
    if orig is None and rec.is_series:
        entries = [(rec, o) for o, _s, _e, _ov in occurrences(rec, start, end)]
    return _list_reply(ctx, entries, _context(ctx, f"events('{rec.id}')/instances"))


async def calendar_view(ctx: Ctx, **_: str) -> Reply:
    start, end = _window(ctx)
    keyed: list[tuple[datetime, str, Entry]] = []
    for rec in ctx.mailbox.events.values():
        if rec.is_series:
            for orig, begins, _e, _ov in occurrences(rec, start, end):
                keyed.append((begins, occurrence_id(rec.id, orig), (rec, orig)))
        elif rec.start_utc < end and (rec.end_utc > start or (rec.end_utc == rec.start_utc == start)):
            keyed.append((rec.start_utc, rec.id, (rec, None)))
    keyed.sort(key=lambda k: (k[0], k[1]))
    return _list_reply(ctx, [k[2] for k in keyed], _context(ctx, "calendarView"))


async def get_calendar(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    user = ctx.user
    item = {
        "@odata.context": _context(ctx, "calendar/$entity"),
        "id": "AAMkCAL" + user.id.replace("-", ""),
        "name": "Calendar",
        "color": "auto",
        "hexColor": "",
        "isDefaultCalendar": True,
        "changeKey": "fJKVL07sbkmIfHqjbDnRgQAAAAACFQ==",
        "canShare": True,
        "canViewPrivateItems": True,
        "canEdit": True,
        "allowedOnlineMeetingProviders": ["teamsForBusiness"],
        "defaultOnlineMeetingProvider": "teamsForBusiness",
        "isTallyingResponses": True,
        "isRemovable": False,
        "owner": user.email_address(),
    }
    return Reply(200, odata.project(item, odata.select_fields(ctx.req.query.get("$select"))))


async def patch_event(ctx: Ctx, event: str, **_: str) -> Reply:
    rec, orig = meetings.apply_patch(ctx, event)
    return _respond_view(ctx, rec, orig, status=200, context=_context(ctx, "events/$entity"))


def register(router: Router) -> None:
    for prefix in ("/users/{user}", "/users/{user}/calendar", "/users/{user}/calendars/{calendar}"):
        router.add("POST", f"{prefix}/events", post_event)
        router.add("GET", f"{prefix}/events", list_events)
        router.add("GET", f"{prefix}/events/{{event}}", get_event)
        router.add("PATCH", f"{prefix}/events/{{event}}", patch_event)
        router.add("DELETE", f"{prefix}/events/{{event}}", meetings.delete_event)
        router.add("POST", f"{prefix}/events/{{event}}/cancel", meetings.cancel_event)
        router.add("POST", f"{prefix}/events/{{event}}/{{action}}", meetings.respond)
        router.add("GET", f"{prefix}/events/{{event}}/instances", instances)
        router.add("GET", f"{prefix}/calendarView", calendar_view)
    router.add("GET", "/users/{user}/calendar", get_calendar)
