"""The gateway: the typed operations the worker performs on Microsoft Graph, and nothing else does.

Each operation is one or a few HTTP requests through the same authenticated SDK client, the same pacing
middleware and the one retry layer (``call_with_retries``); it takes and returns crossgen types
(``worker.core.types``) and raises only ``worker.graph.errors``. Reads may be repeated freely; the writes
say in their docstring why a retry cannot duplicate them.
"""

from __future__ import annotations

import asyncio
import dataclasses
import inspect
import json
import os
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import partial
from typing import Any, TypeVar
from urllib.parse import quote

import httpx
import structlog
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_abstractions.method import Method
from kiota_abstractions.request_information import RequestInformation
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.models.body_type import BodyType
from msgraph.generated.models.date_time_time_zone import DateTimeTimeZone
from msgraph.generated.models.event import Event
from msgraph.generated.models.free_busy_status import FreeBusyStatus
from msgraph.generated.models.item_body import ItemBody
from msgraph.generated.models.message import Message
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.models.sensitivity import Sensitivity
from msgraph.generated.users.item.calendar.get_schedule.get_schedule_post_request_body import (
    GetSchedulePostRequestBody,
)
from msgraph.generated.users.item.calendar_view.calendar_view_request_builder import (
    CalendarViewRequestBuilder,
)
from msgraph.generated.users.item.events.events_request_builder import EventsRequestBuilder
from msgraph.generated.users.item.events.item.instances.instances_request_builder import (
    InstancesRequestBuilder,
)
from msgraph.generated.users.item.mail_folders.item.messages.messages_request_builder import (
    MessagesRequestBuilder,
)

from worker.core.ratings import InboxMessage
from worker.core.types import (
    Interval,
    MailSpec,
    OccurrenceInfo,
    Schedule,
    SeriesInfo,
    SeriesSpec,
    WorkingHours,
)
from worker.graph import batching, mapping, wire
from worker.graph.auth import AuthSettings, Identity, MsalTokenProvider
from worker.graph.client import build_graph_client, graph_url_from_env, prefer_immutable_ids
from worker.graph.errors import (
    AuthError,
    Forbidden,
    GraphError,
    InvalidRequest,
    NotFound,
    SendBudgetExhausted,
    TeamsLinkMissing,
    for_status,
)
from worker.graph.mail import message_id, sendmail_body
from worker.graph.pacing import Pacer, PacingLimits
from worker.graph.rating_key import RatingSecret, rating_secret
from worker.graph.retry import RetryPolicy, Safety, Sleep, call_with_retries
from worker.graph.zones import UnknownZone, iana_name, resolve_zone

T = TypeVar("T")
log = structlog.get_logger(__name__)

MAX_SCHEDULES = 20  # getSchedule: "up to 20 entities at once" (NOTES §1)
MAX_WINDOW = timedelta(days=41)  # "less than 42 days" (2021 docs; 62 today): stay under the stricter one
EVENTS_TEMPLATE = "{+baseurl}/users/{user%2Did}/events"  # msgraph's own template for a user's events
AVAILABILITY_VIEW_MINUTES = 1440  # the widest getSchedule takes (NOTES §1): we read scheduleItems instead
MAX_MANAGER_DEPTH = 25  # the level-by-level walk (the last fallback) stops here
# Manager chains in bulk: "$filter ... in" is limited to 15 values by default, or, with advanced queries
# (ConsistencyLevel: eventual + $count=true), to a URL of 2,048 characters (filter-query-parameter docs).
# The margin leaves room for a paging token in a nextLink, which repeats the query.
MAX_URL = 2048
URL_MARGIN = 160
# The people's own names come with the same read: invitations, emails and reports name people as the
# directory does (displayName, accents kept), and greet them by givenName.
_CHAIN_FIELDS = ["id", "mail", "userPrincipalName", "displayName", "givenName"]
# With ``profiles`` (crossgen match): what the directory says of each person, in the same requests.
_PROFILE_FIELDS = [*_CHAIN_FIELDS, "department", "jobTitle", "officeLocation"]
_CHAIN_EXPAND = "manager($levels=max;$select=id,mail,userPrincipalName)"
CALENDAR_VIEW_PAGE = 1000  # Outlook's largest page
# Messages per page of an Inbox listing: Outlook's largest page without bodies (a message is then a few
# hundred bytes), fewer with them (the lead's report reads the comments).
INBOX_PAGE, INBOX_PAGE_WITH_BODIES = 1000, 250
READ_FAN_OUT = 48  # reads in flight at once across mailboxes (httpx pools 100 connections)
# Our property names (worker.core.desired/plan use them); only these are read back ($expand needs names).
DEFAULT_PROPERTY_NAMES = (
    "key",
    "owner",
    "programme",
    "fingerprint",
    "first",
    "moves",
    "agenda",
    "ended",
    "skipped",
    "wanted",
    "planned",
)
_EVENT_FIELDS = [
    "id",
    "subject",
    "start",
    "end",
    "recurrence",
    "attendees",
    "type",
    "seriesMasterId",
    "originalStart",
    "originalStartTimeZone",
    "isCancelled",
    "onlineMeeting",
    "isOnlineMeeting",
    "createdDateTime",
]


def _utc_text(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds")


async def fan_out(jobs: Sequence[Awaitable[T]], *, gate: asyncio.Semaphore) -> list[T]:
    """``asyncio.gather`` with only as many jobs running as ``gate`` (the gateway's one read limit, shared
    by every fan-out) lets run: reads fanned out over thousands of mailboxes must not queue thousands of
    requests in front of httpx's pool of 100 connections (httpcore scans every waiting request on each
    change: a 4,000-person programme spent minutes of CPU there). Per-mailbox limits stay the pacer's."""

    async def one(job: Awaitable[T]) -> T:
        async with gate:
            return await job

    tasks = [asyncio.ensure_future(one(job)) for job in jobs]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        # One job failed (its answer is the caller's error) or the run is stopping: the others' answers
        # would be thrown away, so they stop too, and the jobs never let through the gate are closed.
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for job in jobs:
            if inspect.iscoroutine(job) and inspect.getcoroutinestate(job) == inspect.CORO_CREATED:
                job.close()
        raise


def split_window(window: Interval, step: timedelta = MAX_WINDOW) -> list[Interval]:
    parts, start = [], window.start
    while start < window.end:
        end = min(start + step, window.end)
        parts.append(Interval(start, end))
        start = end
    return parts or [window]


def _mapped(read: Callable[[], T], path: str, event: wire.Json) -> T:
    """Map one event, turning a malformed one (a date Graph should never send) into our error."""
    try:
        return read()
    except (ValueError, KeyError, TypeError, AttributeError, StopIteration) as exc:
        raise InvalidRequest(
            f"event {wire._text(event.get('id')) or '?'} is malformed: {exc}", method="GET", path=path
        ) from exc


def _chain_from_expanded(user: wire.Json, address: str) -> list[str]:
    """The nested ``manager`` of an expanded user as addresses, nearest first; a loop ends it."""
    seen = {address.lower()} | {
        wire._text(user.get(k)).lower() for k in ("mail", "userPrincipalName") if wire._text(user.get(k))
    }
    chain: list[str] = []
    node = user.get("manager")
    while isinstance(node, dict):
        found = (wire._text(node.get("mail")) or wire._text(node.get("userPrincipalName"))).lower()
        if not found or found in seen:
            break
        chain.append(found)
        seen.add(found)
        node = node.get("manager")
    return chain


def _names_of(user: wire.Json) -> tuple[str, str]:
    """A directory user's ``(displayName, givenName)``, "" for what it lacks; Unicode kept as it is."""
    return (wire._text(user.get("displayName")).strip(), wire._text(user.get("givenName")).strip())


def _eventual() -> RequestConfiguration[Any]:
    """The header advanced directory queries need (``$levels`` on ``manager``)."""
    config: RequestConfiguration[Any] = RequestConfiguration()
    config.headers.add("ConsistencyLevel", "eventual")
    return config


def _schedule_or_error(info: wire.Json, part: Interval) -> Schedule:
    """One person's schedule; a malformed one (a date Graph should never send) is that person's error only."""
    try:
        return wire.schedule_from_json(info, part)
    except (ValueError, KeyError, TypeError, AttributeError, StopIteration) as exc:
        address = wire._text(info.get("scheduleId")).lower() if isinstance(info, dict) else ""
        return Schedule(address, part, error=f"malformed schedule from Graph: {exc}")


class Gateway:
    """Typed async operations on Graph for one worker process. Build it with :meth:`from_env`."""

    def __init__(
        self,
        *,
        client: GraphServiceClient,
        adapter: GraphRequestAdapter,
        token_provider: MsalTokenProvider,
        pacer: Pacer,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        property_names: Iterable[str] = DEFAULT_PROPERTY_NAMES,
        http_client: httpx.AsyncClient | None = None,
        batch_writes: bool = True,
        rating: RatingSecret | None = None,
    ) -> None:
        self.rating = rating or RatingSecret(None, "none")
        self._client = client
        self._adapter = adapter
        self._tokens = token_provider
        self.pacer = pacer
        self._reads: tuple[asyncio.AbstractEventLoop, asyncio.Semaphore] | None = None
        self._policy = policy or RetryPolicy()
        self._sleep = sleep
        self._now = now
        self._property_names = tuple(dict.fromkeys(property_names))
        self._http = http_client
        # Cancels travel in JSON batches (``batching``): one Batcher per event loop, like its futures.
        self._batch_writes = batch_writes
        self._batching: tuple[asyncio.AbstractEventLoop, batching.Batcher] | None = None
        # A tenant that refuses the bulk chain read, or $levels itself, is told once per gateway.
        self._bulk_chains_refused = False
        self._expanded_chain_refused = False

    @classmethod
    def from_env(
        cls,
        env: Mapping[str, str] | None = None,
        *,
        http_client: httpx.AsyncClient | None = None,
        token_http_client: httpx.Client | None = None,
        limits: PacingLimits | None = None,
        policy: RetryPolicy | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Callable[[], float] | None = None,
        now: Callable[[], datetime] | None = None,
        property_names: Iterable[str] = DEFAULT_PROPERTY_NAMES,
        batch_writes: bool | None = None,
    ) -> Gateway:
        """From the azure-identity variables and ``CROSSGEN_GRAPH_URL`` (raises ``AuthError`` when they do
        not describe a usable identity). Tests inject both http clients, the sleep and the clock.
        ``batch_writes`` defaults to ``CROSSGEN_GRAPH_BATCH``: on unless ``off``, ``0``, ``false``, ``no``."""
        env = os.environ if env is None else env
        if batch_writes is None:
            switch = env.get("CROSSGEN_GRAPH_BATCH", "on").strip().lower()
            if switch not in ("on", "off", "1", "0", "true", "false", "yes", "no", ""):
                raise AuthError(f"CROSSGEN_GRAPH_BATCH must be on or off, not {switch!r}")
            batch_writes = switch not in ("off", "0", "false", "no")
        graph_url = graph_url_from_env(env)
        identity = Identity(AuthSettings.from_env(env), http_client=token_http_client)
        host = httpx.URL(graph_url).host
        provider = MsalTokenProvider(identity, [host], **({"clock": clock} if clock else {}))
        pacer = Pacer(limits, sleep=sleep, **({"clock": clock} if clock else {}))
        http_client = http_client or httpx.AsyncClient(timeout=httpx.Timeout(100.0, connect=30.0))
        client, adapter = build_graph_client(
            provider, graph_url=graph_url, pacer=pacer, http_client=http_client
        )
        return cls(
            client=client,
            adapter=adapter,
            token_provider=provider,
            pacer=pacer,
            policy=policy,
            sleep=sleep,
            now=now or (lambda: datetime.now(UTC)),
            property_names=property_names,
            http_client=http_client,
            batch_writes=batch_writes,
            rating=rating_secret(env),
        )

    @property
    def requests_made(self) -> dict[str, int]:
        """HTTP requests sent per mailbox (retries included), for the run summary and the benchmarks."""
        return dict(self.pacer.requests_made)

    @property
    def batched(self) -> tuple[int, int]:
        """Batches sent on this event loop, and the items in them (for the figures)."""
        return (self._batching[1].batches, self._batching[1].items) if self._batching else (0, 0)

    async def aclose(self) -> None:
        """Close both HTTP clients (Graph's and MSAL's); the gateway is not usable afterwards."""
        if self._batching is not None and self._batching[0] is asyncio.get_running_loop():
            await self._batching[1].aclose()
        if self._http is not None:
            await self._http.aclose()
        self._tokens.close()

    async def _call(
        self,
        method: str,
        path: str,
        attempt: Callable[[], Awaitable[T]],
        *,
        safety: Safety = Safety.IDEMPOTENT,
        already_done: Callable[[], Awaitable[T | None]] | None = None,
    ) -> T:
        return await call_with_retries(
            attempt,
            method=method,
            path=path,
            safety=safety,
            policy=self._policy,
            sleep=self._sleep,
            on_unauthorized=self._tokens.invalidate,
            already_done=already_done,
        )

    async def _raw(self, request: RequestInformation) -> bytes | None:
        """One HTTP request; its body as bytes, a Graph error as ODataError (``_call`` translates it)."""
        body = await self._adapter.send_primitive_async(self._url_once(request), "bytes", {"XXX": ODataError})
        return body if isinstance(body, bytes) else None

    async def _send(self, request: RequestInformation) -> None:
        """One HTTP request whose answer has no body worth reading (a 202 or 204, or what we wrote)."""
        await self._adapter.send_no_response_content_async(self._url_once(request), {"XXX": ODataError})

    def _url_once(self, request: RequestInformation) -> RequestInformation:
        """Expand the request's URL template now, once. Kiota expands it each time it reads ``url``
        (three times a request), and std-uritemplate percent-encodes a value one character at a time:
        with an event id in the path or a $filter in the query that was most of a request's CPU. (The
        setter clears the parameter dicts, which may be the request builder's own: they are copied first,
        so a retry built from the same builder still has them.)"""
        request.path_parameters = {**request.path_parameters, "baseurl": self._adapter.base_url}
        request.query_parameters = dict(request.query_parameters)
        request.url = request.url
        return request

    async def _json(
        self,
        method: str,
        path: str,
        request: Callable[[], RequestInformation],
        *,
        batch_in: str | None = None,
    ) -> wire.Json:
        """One read whose body is mapped by ``wire`` rather than by msgraph models (see ``wire`` for why):
        the same adapter, middleware, pacing, retries and error mapping as every other call.

        ``batch_in``: a small read of a mailbox whose batches may be under way (the Sent Items lookup of
        an email, a fix-up's calendarView page) goes as an item of the mailbox's next batch. Sent alone it
        would hold one of the mailbox's four slots, and the batch waiting for all four would leave the
        other three idle meanwhile. A URL outside the configured Graph base (a next link elsewhere)
        cannot be an item, and is read directly."""

        async def attempt() -> wire.Json:
            built = request()
            item = self._as_item(built) if batch_in is not None and self._batch_writes else None
            if batch_in is not None and item is not None:
                body = (await self._item(batch_in, item, path=path)).body
                if not isinstance(body, dict):
                    raise InvalidRequest(
                        f"{method} {path}: the answer is not an object", method=method, path=path
                    )
                return body
            body = await self._raw(built)
            try:
                return wire.loads(body)
            except wire.WireError as exc:
                raise InvalidRequest(f"{method} {path}: {exc}", method=method, path=path) from exc

        return await self._call(method, path, attempt)

    def _as_item(self, request: RequestInformation) -> batching.Item | None:
        """A request built by msgraph's request builders, as a batch item: its URL relative to the
        version, its headers (a body is not carried: this is for reads). None if its URL is not below
        the configured Graph base."""
        url = self._url_once(request).url
        base = self._adapter.base_url
        if not url.startswith(base + "/") or request.http_method is None:
            return None
        headers = {
            "-".join(part.capitalize() for part in name.split("-")): ", ".join(sorted(values))
            for name, values in request.headers.get_all().items()
        }
        return batching.Item(str(request.http_method.value), url[len(base) :], headers=headers)

    def _batcher(self) -> batching.Batcher:
        loop = asyncio.get_running_loop()
        if self._batching is None or self._batching[0] is not loop:
            self._batching = (loop, batching.Batcher(self._send_batch, pacer=self.pacer))
        return self._batching[1]

    async def _send_batch(self, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """``POST /$batch`` with ``items``: Graph's ``responses``. Not retried here: a failure is each item's
        (its operation's retry sends it again, in a later batch)."""
        request = RequestInformation(Method.POST)
        request.url = f"{self._adapter.base_url}/$batch"
        request.headers.try_add("Accept", "application/json")
        request.set_stream_content(json.dumps({"requests": items}).encode(), "application/json")
        try:
            answer = wire.loads(await self._raw(request))
        except wire.WireError as exc:
            raise InvalidRequest(f"POST /$batch: {exc}", method="POST", path="/$batch") from exc
        responses = answer.get("responses") if isinstance(answer, dict) else None
        if not isinstance(responses, list):
            raise InvalidRequest("POST /$batch: the answer has no responses", method="POST", path="/$batch")
        return responses

    async def _item(self, mailbox: str, item: batching.Item, *, path: str) -> batching.Reply:
        """One request as an item of the mailbox's next batch; an error status raised as a direct
        request's would be (``errors.for_status``), so the retry layer treats both alike."""
        prefer = prefer_immutable_ids(item.headers.get("Prefer", ""))
        if item.headers.get("Prefer") != prefer:  # a batch's headers do not reach its items: each asks
            item = dataclasses.replace(item, headers={**item.headers, "Prefer": prefer})
        reply = await self._batcher().submit(mailbox, item)
        if reply.status >= 400:
            code, message = reply.error
            raise for_status(
                reply.status, code=code, message=message, headers=reply.headers, method=item.method, path=path
            )
        return reply

    def _read_gate(self) -> asyncio.Semaphore:
        """The gateway's one limit on fanned-out reads: free/busy and manager chains are read at the
        same time (``observe``), and together they must stay within ``READ_FAN_OUT``."""
        loop = asyncio.get_running_loop()
        if self._reads is None or self._reads[0] is not loop:
            self._reads = (loop, asyncio.Semaphore(READ_FAN_OUT))
        return self._reads[1]

    def _user(self, address: str) -> Any:
        return self._client.users.by_user_id(address)

    def _expand(self, extra: Iterable[str] = ()) -> list[str]:
        names = dict.fromkeys([*self._property_names, *extra])
        ids = " or ".join(f"id eq {mapping.odata_quote(mapping.property_id(n))}" for n in names)
        return [f"singleValueExtendedProperties($filter={ids})"]

    # --- free/busy ---------------------------------------------------------------------------------

    async def free_busy(
        self, addresses: Iterable[str], window: Interval, *, fallback: Iterable[str] = ()
    ) -> dict[str, Schedule]:
        """Everyone's busy time over ``window`` (UTC), merged from getSchedule calls of at most 20 people
        and under 42 days each; working hours from mailboxSettings when getSchedule omits them.

        Each call is made as the least-loaded person of its chunk; when Graph refuses that mailbox (out
        of the app's RBAC scope, no mailbox) the next ones are tried, then the ``fallback`` mailboxes
        (the programme's own, which the app must be able to open anyway)."""
        last_resort = [m.lower() for m in fallback]
        people = list(dict.fromkeys(a.lower() for a in addresses))
        if not people:
            return {}
        chunks = [people[i : i + MAX_SCHEDULES] for i in range(0, len(people), MAX_SCHEDULES)]
        planned: Counter[str] = Counter()
        jobs = []
        for chunk in chunks:
            for part in split_window(window):
                callers = sorted(chunk, key=lambda m: self.pacer.load(m) + planned[m])
                planned[callers[0]] += 1
                callers = [*callers[:3], *(m for m in last_resort if m not in callers[:3])]
                jobs.append(self._schedule_chunk(chunk, part, callers))
        results = await fan_out(jobs, gate=self._read_gate())
        merged = self._merge(people, window, [s for result in results for s in result])
        missing = [a for a, s in merged.items() if s.error is None and s.working_hours is None]
        hours = await fan_out([self._settings_hours(a) for a in missing], gate=self._read_gate())
        for address, wh in zip(missing, hours, strict=True):
            if wh is not None:
                merged[address] = dataclasses.replace(merged[address], working_hours=wh)
        return merged

    async def _schedule_chunk(self, chunk: list[str], part: Interval, callers: list[str]) -> list[Schedule]:
        body = GetSchedulePostRequestBody(
            schedules=chunk,
            start_time=DateTimeTimeZone(date_time=_utc_text(part.start), time_zone="UTC"),
            end_time=DateTimeTimeZone(date_time=_utc_text(part.end), time_zone="UTC"),
            # One character a day in the availabilityView string instead of 48: less for Graph to compute
            # and for us to parse.
            availability_view_interval=AVAILABILITY_VIEW_MINUTES,
        )
        config: RequestConfiguration[Any] = RequestConfiguration()
        config.headers.add("Prefer", 'outlook.timezone="UTC"')
        last: GraphError | None = None
        for caller in callers:  # a caller Graph cannot resolve or we may not open cannot read: try the next
            try:
                response = await self._json(
                    "POST",
                    f"/users/{caller}/calendar/getSchedule",
                    partial(
                        self._user(caller).calendar.get_schedule.to_post_request_information,
                        body,
                        request_configuration=config,
                    ),
                )
            except (NotFound, Forbidden, InvalidRequest) as exc:
                last = exc
                continue
            return [_schedule_or_error(info, part) for info in response.get("value") or []]
        assert last is not None
        raise last

    @staticmethod
    def _merge(people: list[str], window: Interval, parts: list[Schedule]) -> dict[str, Schedule]:
        by_address: dict[str, list[Schedule]] = {}
        for part in parts:  # grouped once: a scan of all parts per person is quadratic in the programme
            by_address.setdefault(part.address, []).append(part)
        merged: dict[str, Schedule] = {}
        for address in people:
            mine = by_address.get(address, [])
            error = next((s.error for s in mine if s.error), None)
            if error or not mine:
                merged[address] = Schedule(address, window, error=error or "no schedule returned")
                continue
            busy = tuple(sorted({b for s in mine for b in s.busy}, key=lambda b: (b.start_s, b.end_s)))
            hours = next((s.working_hours for s in mine if s.working_hours is not None), None)
            merged[address] = Schedule(address, window, busy, hours)
        return merged

    async def _mailbox_settings(self, address: str) -> wire.Json:
        return await self._json(
            "GET",
            f"/users/{address}/mailboxSettings",
            self._user(address).mailbox_settings.to_get_request_information,
        )

    async def _settings_hours(self, address: str) -> WorkingHours | None:
        try:
            settings = await self._mailbox_settings(address)
        except (NotFound, Forbidden):
            return None
        return wire.working_hours_from_json(settings.get("workingHours"))

    async def mailbox_zone(self, address: str) -> tuple[tzinfo, str]:
        """The mailbox's own time zone, as (tzinfo, IANA name); UTC when the mailbox has none."""
        settings = await self._mailbox_settings(address)
        name = wire._text(settings.get("timeZone")) or "UTC"
        try:
            return resolve_zone(name), iana_name(name)
        except UnknownZone as exc:
            raise InvalidRequest(f"mailbox {address} has an unknown time zone {name!r}") from exc

    # --- people ------------------------------------------------------------------------------------

    async def manager_chains(
        self,
        addresses: Iterable[str],
        *,
        errors: dict[str, GraphError] | None = None,
        names: dict[str, tuple[str, str]] | None = None,
        chains: bool = True,
        profiles: dict[str, wire.Json] | None = None,
    ) -> dict[str, list[str]]:
        """Everyone's management chain (lower-case addresses, nearest manager first), read in bulk.

        The same reads select each person's ``displayName`` and ``givenName``, put in ``names`` when given
        (by lower-case address; "" where the directory has none). With ``chains=False`` only the names are
        read: the same requests without ``$expand``, and the chains returned are empty.

        ``GET /users?$filter=mail in (...)&$expand=manager($levels=max;...)&$count=true`` with
        ``ConsistencyLevel: eventual``, as many people per request as fit in Graph's 2,048-character URL
        (measured on the URL the SDK builds), following ``@odata.nextLink``. Users are matched back by
        mail or userPrincipalName. Someone the list did not return is read alone,
        ``GET /users/{address}?$expand=manager(...)``, which also resolves a UPN: 404 there is an
        unknown user, whose chain is empty, as with the level-by-level walk. A 400 to the bulk form
        (a tenant without it) sends its people to that per-person read, and a 400 to that to
        :meth:`manager_chain`.

        Everyone asked gets an entry unless their read failed: then the error goes in ``errors`` when
        given, else the first one is raised. ``AuthError`` is always raised.

        With ``profiles``, each user read also selects ``displayName``, ``department``, ``jobTitle`` and
        ``officeLocation`` and lands there as Graph returned it, by lower-case address (someone whose
        chain came from the level-by-level walk has no entry).
        """
        people = list(dict.fromkeys(a.lower() for a in addresses))
        fields = _PROFILE_FIELDS if profiles is not None else _CHAIN_FIELDS
        found: dict[str, list[str]] = {}
        failed: dict[str, GraphError] = {}
        alone: list[str] = []

        async def chunk_of(chunk: list[str]) -> None:
            try:
                users = await self._chain_listing(chunk, fields, chains=chains)
            except AuthError:
                raise
            except GraphError as exc:
                if exc.status != 400:
                    failed.update(dict.fromkeys(chunk, exc))
                    return
                if not self._bulk_chains_refused:
                    log.warning("graph.manager_chains_bulk_refused", people=len(chunk), error=str(exc))
                self._bulk_chains_refused = True
                alone.extend(chunk)
                return
            wanted = set(chunk)
            for user in users:
                for key in ("mail", "userPrincipalName"):
                    address = wire._text(user.get(key)).lower()
                    if address in wanted and address not in found:
                        found[address] = _chain_from_expanded(user, address) if chains else []
                        if names is not None:
                            names[address] = _names_of(user)
                        if profiles is not None:
                            profiles[address] = user
            alone.extend(a for a in chunk if a not in found)

        if self._bulk_chains_refused:
            alone.extend(people)
        else:
            chunks = self._chain_chunks(people, fields)
            await fan_out([chunk_of(chunk) for chunk in chunks], gate=self._read_gate())

        async def one(address: str) -> None:
            try:
                found[address] = await self._chain_alone(
                    address, fields, names=names, chains=chains, profiles=profiles
                )
            except AuthError:
                raise
            except GraphError as exc:
                failed[address] = exc

        await fan_out([one(a) for a in alone], gate=self._read_gate())
        if errors is not None:
            errors.update(failed)
        elif failed:
            raise next(iter(failed.values()))
        return {a: found[a] for a in people if a in found}

    def _chains_request(
        self, chunk: list[str], fields: list[str] = _CHAIN_FIELDS, *, chains: bool = True
    ) -> RequestInformation:
        """The bulk chain read, its URL spelt out: the query is as msgraph's template expands it
        (RFC 6570, every reserved character percent-encoded), but one ``quote`` over each value instead
        of std-uritemplate's one call per character, which for a 2,000-character filter cost more than
        the rest of the request (measured: 0.8 s of CPU over a 2,000-pair run's 82 reads)."""
        literals = ",".join(mapping.odata_quote(a) for a in chunk)
        query = {
            "%24count": "true",
            **({"%24expand": _CHAIN_EXPAND} if chains else {}),
            "%24filter": f"mail in ({literals})",
            "%24select": ",".join(fields),
        }
        request = RequestInformation(Method.GET)
        request.url = f"{self._adapter.base_url}/users?" + "&".join(
            f"{name}={quote(value, safe=',' if name == '%24select' else '')}" for name, value in query.items()
        )
        request.headers.try_add("Accept", "application/json")
        request.headers.add("ConsistencyLevel", "eventual")
        return request

    def _chain_chunks(self, people: list[str], fields: list[str] = _CHAIN_FIELDS) -> list[list[str]]:
        """People in order, as many per request as keep its URL, as httpx sends it, within the limit.

        Each address adds its percent-encoded literal and a comma (an estimate, cheap to add up); every
        chunk is then measured on the real URL the SDK builds and trimmed if the estimate fell short."""
        limit = MAX_URL - URL_MARGIN

        def measured(chunk: list[str]) -> int:
            return len(str(httpx.URL(self._chains_request(chunk, fields).url)))

        chunks: list[list[str]] = []
        i = 0
        while i < len(people):
            chunk = [people[i]]
            estimate = measured(chunk)
            for address in people[i + 1 :]:
                cost = len(quote(mapping.odata_quote(address), safe="")) + len(quote(",", safe=""))
                if estimate + cost > limit:
                    break
                chunk.append(address)
                estimate += cost
            while len(chunk) > 1 and measured(chunk) > limit:
                chunk.pop()
            chunks.append(chunk)
            i += len(chunk)
        return chunks

    async def _chain_listing(
        self, chunk: list[str], fields: list[str] = _CHAIN_FIELDS, *, chains: bool = True
    ) -> list[wire.Json]:
        """Every user the filtered listing returns, all pages (each page asked with the same header)."""
        users = self._client.users
        page = await self._json("GET", "/users", partial(self._chains_request, chunk, fields, chains=chains))
        found: list[wire.Json] = list(page.get("value") or [])
        while link := page.get("@odata.nextLink"):
            page = await self._json(
                "GET", "/users", lambda u=link: users.with_url(u).to_get_request_information(_eventual())
            )
            found += page.get("value") or []
        return [u for u in found if isinstance(u, dict)]

    def _chain_request(
        self, address: str, fields: list[str] = _CHAIN_FIELDS, *, chains: bool = True
    ) -> RequestInformation:
        # The SDK's user-item query parameters have no $count, which selecting the managers' fields needs.
        request = RequestInformation(
            Method.GET, "{+baseurl}/users/{user%2Did}{?%24count,%24expand,%24select}", {"user%2Did": address}
        )
        request.query_parameters["%24count"] = True
        if chains:
            request.query_parameters["%24expand"] = [_CHAIN_EXPAND]
        request.query_parameters["%24select"] = fields
        request.headers.add("ConsistencyLevel", "eventual")
        request.headers.try_add("Accept", "application/json")
        return request

    async def _chain_alone(
        self,
        address: str,
        fields: list[str] = _CHAIN_FIELDS,
        *,
        names: dict[str, tuple[str, str]] | None = None,
        chains: bool = True,
        profiles: dict[str, wire.Json] | None = None,
    ) -> list[str]:
        """One person's chain (and names) in one request; the level-by-level walk where ``$levels`` is
        refused (it reads no names: the planner then names the person by their address)."""
        if not self._expanded_chain_refused or not chains:
            request = partial(self._chain_request, address, fields, chains=chains)
            try:
                user = await self._json("GET", f"/users/{address}", request)
            except NotFound:
                return []  # no such user: no chain, as the walk's first 404 says
            except InvalidRequest as exc:
                if exc.status != 400 or not chains:
                    raise
                log.warning("graph.manager_chain_expand_refused", error=str(exc))
                self._expanded_chain_refused = True
            else:
                if names is not None:
                    names[address] = _names_of(user)
                if profiles is not None:
                    profiles[address] = user
                return _chain_from_expanded(user, address) if chains else []
        return await self.manager_chain(address)

    async def manager_chain(self, address: str) -> list[str]:
        """Addresses up the management chain, nearest first, one ``GET /users/{x}/manager`` per level;
        stops at the top (404) or on a loop. The fallback of :meth:`manager_chains`."""
        chain: list[str] = []
        seen = {address.lower()}
        current = address
        for _ in range(MAX_MANAGER_DEPTH):
            try:
                manager = await self._json(
                    "GET",
                    f"/users/{current}/manager",
                    self._user(current).manager.to_get_request_information,
                )
            except NotFound:
                break
            found = wire._text(manager.get("mail")) or wire._text(manager.get("userPrincipalName"))
            if not found or found.lower() in seen:
                break
            chain.append(found.lower())
            seen.add(found.lower())
            current = found
        return chain

    # --- series ------------------------------------------------------------------------------------

    async def _events(self, organizer: str, odata_filter: str) -> list[SeriesInfo]:
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=odata_filter, expand=self._expand(), select=_EVENT_FIELDS, top=50
        )
        config = RequestConfiguration(query_parameters=query)
        path = f"/users/{organizer}/events"
        events = self._user(organizer).events
        page = await self._json("GET", path, lambda: events.to_get_request_information(config))
        found: list[SeriesInfo] = []
        while True:
            for event in page.get("value") or []:
                if wire.is_series(event):
                    found.append(_mapped(partial(wire.series_from_json, event, organizer), path, event))
            link = page.get("@odata.nextLink")
            if not link:
                return found
            page = await self._json("GET", path, events.with_url(link).to_get_request_information)

    # --- run leases ---------------------------------------------------------------------------------

    async def take_lease(
        self, organizer: str, *, name: str, holder: str, until: datetime, now: datetime | None = None
    ) -> str:
        """Put this run's lease marker in the organiser's calendar; returns its event id.

        A lease is a short, free, private event tagged ``lease=name``, ``holder=holder``. Graph gives no
        compare-and-swap on calendars, but it orders creates: each run creates its marker, then lists
        the markers, and the earliest created live one holds the lease (see ``leases``). ``holder``
        doubles as the transactionId, so a retried create is the same marker.
        """
        now = now or self._now()
        event = Event(
            subject="crossgen: a scheduled run is working on this mailbox (removed when it ends)",
            start=mapping.local_time(now, "UTC"),
            end=mapping.local_time(max(until, now + timedelta(minutes=1)), "UTC"),
            show_as=FreeBusyStatus.Free,
            sensitivity=Sensitivity.Private,
            is_reminder_on=False,
            response_requested=False,
            transaction_id=holder,
        )
        event.single_value_extended_properties = mapping.graph_properties({"lease": name, "holder": holder})
        path = f"/users/{organizer}/events"
        request = partial(self._user(organizer).events.to_post_request_information, event)

        async def post() -> str:
            created = wire.loads(await self._raw(request()))
            return str(created.get("id", "")) if created else ""

        # Retried on any transient failure: the transactionId makes a repeated create the same marker.
        return await self._call("POST", path, post)

    async def leases(
        self, organizer: str, *, name: str, now: datetime | None = None
    ) -> list[tuple[str, datetime, str, datetime]]:
        """Every lease marker for ``name``: (event id, created, holder, until), earliest created first."""
        query = EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
            filter=mapping.property_filter("lease", name),
            expand=self._expand(["lease", "holder"]),
            select=["id", "createdDateTime", "end"],
            top=50,
        )
        config = RequestConfiguration(query_parameters=query)
        path = f"/users/{organizer}/events"
        events = self._user(organizer).events
        page = await self._json("GET", path, lambda: events.to_get_request_information(config))
        found = []
        for event in page.get("value") or []:
            props = wire.properties_from_json(event)
            try:
                created = wire.instant(event.get("createdDateTime"))
                until = wire.graph_datetime(event.get("end"))
            except ValueError:
                continue  # not a marker we can read: ignore it rather than stall every run
            found.append((str(event["id"]), created, props.get("holder", ""), until))
        del now  # every marker, live or expired: the lease decides (and clears the expired ones)
        return sorted(found, key=lambda f: (f[1], f[0]))

    async def delete_event(self, organizer: str, event_id: str) -> None:
        """Delete an event of ours (a lease marker); gone already is fine."""
        item = self._user(organizer).events.by_event_id(event_id)
        try:
            await self._call("DELETE", f"/users/{organizer}/events/{event_id}", item.delete)
        except NotFound:
            return

    async def find_series(self, organizer: str, key: str) -> list[SeriesInfo]:
        """Our series for ``key`` in the organiser's calendar (normally one; more means a duplicate)."""
        flt = mapping.property_filter(mapping.KEY_PROPERTY, key)
        return [s for s in await self._events(organizer, flt) if s.key == key or not s.key]

    async def list_series(self, organizer: str, *, programme: str | None = None) -> list[SeriesInfo]:
        """Our series in the organiser's calendar: those tagged with ``programme`` when given, else every
        series crossgen created (tagged owner=crossgen at create), whatever the programme."""
        name, value = (
            ("programme", programme)
            if programme is not None
            else (mapping.OWNER_PROPERTY, mapping.OWNER_VALUE)
        )
        return await self._events(organizer, mapping.property_filter(name, value))

    async def create_series(self, spec: SeriesSpec) -> SeriesInfo:
        """Create the recurring meeting. Safe to retry: Graph de-duplicates by ``transactionId`` and, after
        an ambiguous failure, we look the series up by its key before sending the POST again. Sent as an
        item of a JSON batch with the mailbox's other creates of the moment, as cancels are."""
        organizer = spec.organizer.lower()
        event = mapping.event_json(spec)

        programme = spec.properties.get("programme")

        async def existing() -> SeriesInfo | None:
            # Only a live series of this programme: the same pair may have an ended one, or one in
            # another programme run from the same mailbox.
            found = [
                s
                for s in await self.find_series(organizer, spec.key)
                if "ended" not in s.properties and s.properties.get("programme", programme) == programme
            ]
            return found[0] if found else None

        async def post() -> SeriesInfo:
            if self._batch_writes:
                one = batching.Item("POST", f"/users/{quote(organizer, safe='')}/events", event)
                created = (await self._item(organizer, one, path=f"/users/{organizer}/events")).body
            else:
                request = RequestInformation(Method.POST, EVENTS_TEMPLATE, {"user%2Did": organizer})
                request.headers.try_add("Accept", "application/json")
                request.set_stream_content(json.dumps(event).encode(), "application/json")
                created = wire.loads(await self._raw(request))
            if not isinstance(created, dict) or not created:
                raise GraphError("create returned no event", method="POST", path=f"/users/{organizer}/events")
            path = f"/users/{organizer}/events"
            return _mapped(lambda: wire.series_from_json(created, organizer), path, created)

        info = await self._call(
            "POST", f"/users/{organizer}/events", post, safety=Safety.CHECKED, already_done=existing
        )
        # The create response does not echo extended properties (NOTES §3): we know what we wrote.
        props = {
            **info.properties,
            **spec.properties,
            mapping.KEY_PROPERTY: spec.key,
            mapping.OWNER_PROPERTY: mapping.OWNER_VALUE,
        }
        info = dataclasses.replace(info, key=spec.key, properties=props)
        if spec.teams_meeting and not info.join_url:
            raise TeamsLinkMissing(
                f"series {info.id} was created in {organizer}'s calendar without a Teams link: check the "
                "organiser's licence and allowedOnlineMeetingProviders",
                method="POST",
                path=f"/users/{organizer}/events",
            )
        return info

    async def occurrences(self, organizer: str, series_id: str, window: Interval) -> list[OccurrenceInfo]:
        """Occurrences and exceptions of a series in ``window``, with each one's attendee responses."""
        query = InstancesRequestBuilder.InstancesRequestBuilderGetQueryParameters(
            start_date_time=_utc_text(window.start) + "Z",
            end_date_time=_utc_text(window.end) + "Z",
            expand=self._expand(),
            select=_EVENT_FIELDS,
            top=100,
        )
        config = RequestConfiguration(query_parameters=query)
        instances = self._user(organizer).events.by_event_id(series_id).instances
        path = f"/users/{organizer}/events/{series_id}/instances"
        page = await self._json("GET", path, lambda: instances.to_get_request_information(config))
        found: list[OccurrenceInfo] = []
        while True:
            for event in page.get("value") or []:
                found.append(_mapped(partial(wire.occurrence_from_json, event), path, event))
            link = page.get("@odata.nextLink")
            if not link:
                return sorted(found, key=lambda o: o.start)
            page = await self._json("GET", path, instances.with_url(link).to_get_request_information)

    async def calendar_view(
        self, organizer: str, window: Interval, *, amid_writes: bool = False
    ) -> dict[str, list[OccurrenceInfo]]:
        """Every occurrence and exception of every series in the organiser's calendar over ``window``, by
        series id, from one paged calendarView listing (1,000 a page): the read of all our series'
        sessions at once, instead of one ``instances`` call per series. ``amid_writes``: the mailbox's
        batches are under way (a fix-up), so the pages go as items of them (see ``_json``)."""
        batch_in = organizer if amid_writes else None
        query = CalendarViewRequestBuilder.CalendarViewRequestBuilderGetQueryParameters(
            start_date_time=_utc_text(window.start) + "Z",
            end_date_time=_utc_text(window.end) + "Z",
            expand=self._expand(),
            select=_EVENT_FIELDS,
            top=CALENDAR_VIEW_PAGE,
        )
        config = RequestConfiguration(query_parameters=query)
        view = self._user(organizer).calendar_view
        path = f"/users/{organizer}/calendarView"
        page = await self._json(
            "GET", path, lambda: view.to_get_request_information(config), batch_in=batch_in
        )
        found: dict[str, list[OccurrenceInfo]] = {}
        while True:
            for event in page.get("value") or []:
                if not event.get("seriesMasterId"):
                    continue  # a single meeting: never one of our sessions
                occurrence = _mapped(lambda e=event: wire.occurrence_from_json(e), path, event)
                found.setdefault(occurrence.series_id, []).append(occurrence)
            link = page.get("@odata.nextLink")
            if not link:
                return {k: sorted(v, key=lambda o: o.start) for k, v in found.items()}
            page = await self._json(
                "GET", path, lambda u=link: view.with_url(u).to_get_request_information(), batch_in=batch_in
            )

    async def _patch(self, organizer: str, event_id: str, event: Event) -> None:
        """PATCH an event; the answer's body is not read (we know what we wrote, see ``wire``)."""
        item = self._user(organizer).events.by_event_id(event_id)

        async def attempt() -> None:
            await self._send(item.to_patch_request_information(event))

        await self._call("PATCH", f"/users/{organizer}/events/{event_id}", attempt)

    async def move_occurrence(
        self,
        organizer: str,
        occurrence_id: str,
        start: datetime,
        end: datetime,
        zone_name: str,
        properties: Mapping[str, str] | None = None,
        *,
        body_html: str | None = None,
        subject: str | None = None,
    ) -> None:
        """Move one occurrence (it becomes an exception). PATCH is idempotent: a retry sets the same times.
        ``body_html`` and ``subject`` go in the same PATCH, so the update people get says why it moved."""
        event = Event(start=mapping.local_time(start, zone_name), end=mapping.local_time(end, zone_name))
        if body_html is not None:
            event.body = ItemBody(content_type=BodyType.Html, content=body_html)
        if subject is not None:
            event.subject = subject
        if properties:
            event.single_value_extended_properties = mapping.graph_properties(dict(properties))
        await self._patch(organizer, occurrence_id, event)

    async def update_occurrence(
        self,
        organizer: str,
        occurrence_id: str,
        *,
        body_html: str | None = None,
        subject: str | None = None,
        properties: Mapping[str, str] | None = None,
    ) -> None:
        """Change the agenda, subject or our marks of one occurrence (or a series master)."""
        event = Event()
        if body_html is not None:
            event.body = ItemBody(content_type=BodyType.Html, content=body_html)
        if subject is not None:
            event.subject = subject
        if properties:
            event.single_value_extended_properties = mapping.graph_properties(dict(properties))
        await self._patch(organizer, occurrence_id, event)

    async def cancel(self, organizer: str, event_id: str, comment: str) -> None:
        """Cancel a series or one occurrence, telling attendees why. Retried after an ambiguous failure only
        if the event is not already cancelled or gone. Sent as an item of a JSON batch with the mailbox's
        other cancels of the moment (``batching``), unless the gateway has ``batch_writes=False``."""
        item = self._user(organizer).events.by_event_id(event_id)

        async def gone() -> bool | None:
            request = item.to_get_request_information()
            try:
                event = wire.loads(await self._raw(request))
            except ODataError as exc:
                return True if exc.response_status_code == 404 else None
            return True if event.get("isCancelled") else None

        async def post() -> bool:
            if self._batch_writes:
                one = batching.Item("POST", self._cancel_path(organizer, event_id), {"Comment": comment})
                await self._item(organizer, one, path=f"/users/{organizer}/events/{event_id}/cancel")
            else:
                await self._send(self._cancel_request(organizer, event_id, comment))
            return True

        await self._call(
            "POST",
            f"/users/{organizer}/events/{event_id}/cancel",
            post,
            safety=Safety.CHECKED,
            already_done=gone,
        )

    def _cancel_request(self, organizer: str, event_id: str, comment: str) -> RequestInformation:
        """``POST /users/{organizer}/events/{id}/cancel`` with ``{"Comment": ...}``, spelt out: the URL as
        msgraph's template expands it (each segment percent-encoded, RFC 6570) but with one ``quote`` per
        segment instead of std-uritemplate's one call per character of a 150-character event id, and the
        body as the SDK's model writes it. Cancels are most of a first run's writes (one per blacked-out
        session), and building them through the request builder and model cost 0.17 ms each."""
        request = RequestInformation(Method.POST)
        request.url = f"{self._adapter.base_url}{self._cancel_path(organizer, event_id)}"
        request.headers.try_add("Accept", "application/json")
        # "Comment", as the CSDL names the action's parameter and as msgraph's model sends it
        request.set_stream_content(json.dumps({"Comment": comment}).encode(), "application/json")
        return request

    @staticmethod
    def _cancel_path(organizer: str, event_id: str) -> str:
        return f"/users/{quote(organizer, safe='')}/events/{quote(event_id, safe='')}/cancel"

    async def end_series(
        self,
        organizer: str,
        series_id: str,
        last_date: date,
        *,
        properties: Mapping[str, str] | None = None,
        body_html: str | None = None,
    ) -> None:
        """End a series after ``last_date`` (inclusive) by patching its range to ``endDate``.

        Graph replaces the whole recurrence on PATCH, so the pattern is read first and sent back as is.
        The update Exchange sends the attendees carries the series' body: ``body_html`` replaces it in the
        same PATCH (a goodbye, the new rhythm), so they do not read the old invitation's welcome again.
        """
        item = self._user(organizer).events.by_event_id(series_id)
        config = RequestConfiguration(
            query_parameters=EventsRequestBuilder.EventsRequestBuilderGetQueryParameters(
                select=["recurrence"]
            )
        )
        current = await self._call(
            "GET", f"/users/{organizer}/events/{series_id}", lambda: item.get(request_configuration=config)
        )
        old = current.recurrence if current else None
        if old is None or old.pattern is None or old.range is None:
            raise InvalidRequest(f"event {series_id} is not a recurring series")
        p = old.pattern
        pattern = RecurrencePattern(
            type=p.type,
            interval=p.interval,
            days_of_week=p.days_of_week,
            first_day_of_week=p.first_day_of_week,
            index=p.index,
            day_of_month=p.day_of_month,
            month=p.month,
        )
        rng = RecurrenceRange(
            type=RecurrenceRangeType.EndDate,
            start_date=old.range.start_date,
            end_date=last_date,
            recurrence_time_zone=old.range.recurrence_time_zone,
        )
        event = Event(recurrence=PatternedRecurrence(pattern=pattern, range=rng))
        if body_html is not None:
            event.body = ItemBody(content_type=BodyType.Html, content=body_html)
        if properties:
            event.single_value_extended_properties = mapping.graph_properties(dict(properties))
        await self._patch(organizer, series_id, event)

    # --- mail --------------------------------------------------------------------------------------

    async def mail_already_sent(self, sender: str, key: str) -> bool:
        """Whether the message for ``key`` is in the sender's Sent Items (by its internetMessageId)."""
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"internetMessageId eq {mapping.odata_quote(message_id(key, sender))}",
            select=["id", "internetMessageId"],
            top=1,
        )
        config = RequestConfiguration(query_parameters=query)
        messages = self._user(sender).mail_folders.by_mail_folder_id("sentitems").messages
        page = await self._json(
            "GET",
            f"/users/{sender}/mailFolders/sentitems/messages",
            lambda: messages.to_get_request_information(config),
            batch_in=sender,
        )
        return bool(page.get("value"))

    async def inbox(self, mailbox: str, *, since: datetime, bodies: bool = False) -> list[InboxMessage]:
        """The messages of ``mailbox``'s Inbox received since ``since``, oldest decisions included (their
        categories say what was decided), paged (``INBOX_PAGE``). ``bodies``: also each body, as plain text
        (``Prefer: outlook.body-content-type="text"``); only the lead's report asks, for comments."""
        fields = ["id", "subject", "from", "sender", "receivedDateTime", "categories"]
        query = MessagesRequestBuilder.MessagesRequestBuilderGetQueryParameters(
            filter=f"receivedDateTime ge {_utc_text(since)}Z",
            select=[*fields, "body"] if bodies else fields,
            top=INBOX_PAGE_WITH_BODIES if bodies else INBOX_PAGE,
        )
        config = RequestConfiguration(query_parameters=query)
        if bodies:
            config.headers.add("Prefer", 'outlook.body-content-type="text"')
        messages = self._user(mailbox).mail_folders.by_mail_folder_id("inbox").messages
        path = f"/users/{mailbox}/mailFolders/inbox/messages"
        page = await self._json("GET", path, lambda: messages.to_get_request_information(config))
        found: list[InboxMessage] = []
        while True:
            for raw in page.get("value") or []:
                message = wire.inbox_message(raw, mailbox)
                if message is not None:
                    found.append(message)
            link = page.get("@odata.nextLink")
            if not link:
                return found

            def next_page(url: str = link) -> RequestInformation:
                request = messages.with_url(url).to_get_request_information()
                if bodies:
                    request.headers.add("Prefer", 'outlook.body-content-type="text"')
                return request

            page = await self._json("GET", path, next_page)

    async def set_categories(self, mailbox: str, message_id: str, categories: Sequence[str]) -> None:
        """Record a decision on a message, in the mailbox itself: PATCH its categories (the whole list,
        the ones it had kept). Idempotent: a retry sets the same list."""
        item = self._user(mailbox).messages.by_message_id(message_id)
        body = Message(categories=list(categories))

        async def attempt() -> None:
            await self._send(item.to_patch_request_information(body))

        await self._call("PATCH", f"/users/{mailbox}/messages/{message_id}", attempt)

    def send_budget_left(self, sender: str) -> float:
        return self.pacer.send_budget(sender).available

    async def send_mail_once(self, spec: MailSpec) -> bool:
        """Send ``spec`` unless its Message-ID is already in Sent Items. True if sent now, False if it had
        been sent before; raises ``SendBudgetExhausted`` (nothing sent) when the sender's budget is spent."""
        sender = spec.sender.lower()
        if await self.mail_already_sent(sender, spec.key):
            return False
        budget = self.pacer.send_budget(sender)
        if not budget.try_acquire():
            raise SendBudgetExhausted(
                f"{sender} has no sending budget left this minute",
                retry_after=budget.seconds_until_available(),
            )
        body = sendmail_body(spec, now=self._now())

        async def already() -> bool | None:
            return True if await self.mail_already_sent(sender, spec.key) else None

        async def post() -> bool:
            info = RequestInformation(
                Method.POST, "{+baseurl}/users/{user%2Did}/sendMail", {"user%2Did": sender}
            )
            info.set_stream_content(body, "text/plain")
            await self._send(info)
            return True

        await self._call(
            "POST", f"/users/{sender}/sendMail", post, safety=Safety.CHECKED, already_done=already
        )
        return True
