"""Directory and mailbox settings: users, managers, time zones and working hours.

Enough of Entra ID and Exchange for any tenant to be built with plain Graph calls: ``POST /users``
(which, as a simplification, also provisions a mailbox as a licence would; remove it through the
control surface to get ``MailboxNotEnabledForRESTAPI``), lookups by object id or by UPN/mail
case-insensitively, the manager reference, and ``mailboxSettings`` with Windows or IANA zones and
``customTimeZone`` working hours.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from worker.sandbox import odata, schema, timeutil
from worker.sandbox.errors import GraphError, directory_not_found
from worker.sandbox.router import Ctx, Reply, Router
from worker.sandbox.store import Tenant, User

WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday"]


def default_settings(zone: str = "UTC") -> dict[str, Any]:
    """What an Exchange mailbox reports before anyone changes it (examples/mailboxsettings_response.json)."""
    return {
        "archiveFolder": "",
        "timeZone": zone,
        "automaticRepliesSetting": {
            "status": "disabled",
            "externalAudience": "all",
            "internalReplyMessage": "",
            "externalReplyMessage": "",
            "scheduledStartDateTime": {"dateTime": "2027-01-01T00:00:00.0000000", "timeZone": "UTC"},
            "scheduledEndDateTime": {"dateTime": "2027-01-02T00:00:00.0000000", "timeZone": "UTC"},
        },
        "language": {"locale": "en-US", "displayName": "English (United States)"},
        "workingHours": {
            "daysOfWeek": list(WEEKDAYS),
            "startTime": "08:00:00.0000000",
            "endTime": "17:00:00.0000000",
            "timeZone": {"name": zone},
        },
        "dateFormat": "M/d/yyyy",
        "timeFormat": "h:mm tt",
        "userPurpose": "user",
        "delegateMeetingMessageDeliveryOptions": "sendToDelegateOutsideOfCompany",
    }


def time_of_day(value: str) -> str:
    """``Edm.TimeOfDay`` as Exchange writes it: ``08:00:00.0000000``."""
    match = re.fullmatch(r"(\d{2}):(\d{2})(?::(\d{2}))?(?:\.(\d{1,7}))?", value)
    if not match:
        raise GraphError(
            400,
            "ErrorInvalidRequest",
            f"Cannot convert the literal '{value}' to the expected type 'Edm.TimeOfDay'.",
        )
    h, m, s, frac = match.groups()
    return f"{h}:{m}:{s or '00'}.{(frac or '0').ljust(7, '0')}"


def user_json(user: User) -> dict[str, Any]:
    out = {
        "id": user.id,
        "businessPhones": list(user.business_phones),
        "displayName": user.display_name,
        "givenName": user.given_name,
        "jobTitle": user.job_title,
        "mail": user.mail,
        "mobilePhone": user.mobile_phone,
        "officeLocation": user.office_location,
        "preferredLanguage": user.preferred_language,
        "surname": user.surname,
        "userPrincipalName": user.upn,
    }
    if user.department is not None:
        out["department"] = user.department
    return out


def _required(body: dict[str, Any], *names: str) -> None:
    for name in names:
        if body.get(name) in (None, ""):
            raise GraphError(
                400, "Request_BadRequest", f"A value is required for property '{name}' of resource 'User'."
            )


def create_user(tenant: Tenant, body: dict[str, Any]) -> User:
    canonical = schema.canonical_entity("user", body, for_create=True)
    _required(
        canonical, "accountEnabled", "displayName", "mailNickname", "userPrincipalName", "passwordProfile"
    )
    upn = canonical["userPrincipalName"]
    if upn.rpartition("@")[2].lower() not in tenant.verified_domains:
        raise GraphError(
            400,
            "Request_BadRequest",
            "The domain portion of the userPrincipalName property is invalid. You must use one of the "
            "verified domain names in your organization.",
        )
    if tenant.find_user(upn) is not None:
        raise GraphError(
            400,
            "Request_BadRequest",
            "Another object with the same value for property userPrincipalName already exists.",
        )
    known = {
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
        "passwordProfile",
        "mail",
        "givenName",
        "surname",
        "jobTitle",
        "department",
        "officeLocation",
        "preferredLanguage",
        "mobilePhone",
        "businessPhones",
    }
    user = User(
        id=tenant.new_guid(),
        upn=upn,
        display_name=canonical["displayName"],
        mail=canonical.get("mail") or upn,
        given_name=canonical.get("givenName"),
        surname=canonical.get("surname"),
        job_title=canonical.get("jobTitle"),
        department=canonical.get("department"),
        office_location=canonical.get("officeLocation"),
        preferred_language=canonical.get("preferredLanguage"),
        mobile_phone=canonical.get("mobilePhone"),
        business_phones=list(canonical.get("businessPhones") or []),
        account_enabled=bool(canonical["accountEnabled"]),
        settings=default_settings(),
        extra={k: v for k, v in canonical.items() if k not in known and k != "passwordProfile"},
    )
    return tenant.add_user(user)


async def post_user(ctx: Ctx, **_: str) -> Reply:
    user = create_user(ctx.tenant, ctx.json())
    body = {"@odata.context": ctx.context_url("users/$entity"), **user_json(user)}
    return Reply(
        201,
        body,
        {"Location": f"{ctx.req.base_url}/directoryObjects/{user.id}/Microsoft.DirectoryServices.User"},
    )


async def list_users(ctx: Ctx, **_: str) -> Reply:
    items = [user_json(u) for u in ctx.tenant.users.values()]
    predicate = odata.compile_filter(ctx.req.query.get("$filter"))
    if predicate is not None:
        items = [i for i in items if predicate(i)]
    items = odata.sort(items, ctx.req.query.get("$orderby"))
    chunk, next_link = odata.page(
        items, query=ctx.req.query, base_url=ctx.req.base_url, path=ctx.req.path, default_size=100
    )
    fields = odata.select_fields(ctx.req.query.get("$select"))
    body: dict[str, Any] = {
        "@odata.context": ctx.context_url("users"),
        "value": [odata.project(i, fields) for i in chunk],
    }
    if next_link:
        body["@odata.nextLink"] = next_link
    return Reply(200, body)


async def get_user(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    body = {"@odata.context": ctx.context_url("users/$entity"), **user_json(ctx.user)}
    return Reply(200, odata.project(body, odata.select_fields(ctx.req.query.get("$select"))))


async def get_manager(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    manager = ctx.tenant.users.get(ctx.user.manager_id) if ctx.user.manager_id else None
    if manager is None:
        raise directory_not_found("manager")
    body = {
        "@odata.context": ctx.context_url("directoryObjects/$entity"),
        "@odata.type": "#microsoft.graph.user",
        **user_json(manager),
    }
    return Reply(200, odata.project(body, odata.select_fields(ctx.req.query.get("$select"))))


async def put_manager(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    ref = ctx.json().get("@odata.id")
    if not isinstance(ref, str) or not ref.strip():
        raise GraphError(400, "Request_BadRequest", "Invalid value specified for property '@odata.id'.")
    target_id = re.sub(r"^.*?(?:users|directoryObjects)(?:/|\(')", "", ref.strip()).rstrip("')/")
    target = ctx.tenant.find_user(target_id)
    if target is None:
        raise directory_not_found(target_id)
    if target.id == ctx.user.id:
        raise GraphError(400, "Request_BadRequest", "A user cannot be their own manager.")
    ctx.user.manager_id = target.id
    return Reply(204)


async def delete_manager(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    if ctx.user.manager_id is None:
        raise directory_not_found("manager")
    ctx.user.manager_id = None
    return Reply(204)


async def get_settings(ctx: Ctx, prop: str | None = None, **_: str) -> Reply:
    assert ctx.user is not None
    settings = copy.deepcopy(ctx.user.settings)
    base = f"users('{ctx.user.id}')/mailboxSettings"
    if prop is None:
        return Reply(200, {"@odata.context": ctx.context_url(base), **settings})
    key = next((k for k in settings if k.lower() == prop.lower()), None)
    if key is None:
        raise GraphError(400, "BadRequest", f"Resource not found for the segment '{prop}'.")
    value = settings[key]
    if isinstance(value, dict):
        return Reply(200, {"@odata.context": ctx.context_url(f"{base}/{key}"), **value})
    return Reply(200, {"@odata.context": ctx.context_url(f"{base}/{key}"), "value": value})


def apply_settings(user: User, body: dict[str, Any]) -> dict[str, Any]:
    """Validate and merge a mailboxSettings PATCH; returns the canonical patch."""
    patch = schema.canonical_entity("mailboxSettings", body, for_create=False)
    if patch.get("timeZone"):
        timeutil.resolve(patch["timeZone"])
    hours = patch.get("workingHours")
    if isinstance(hours, dict):
        merged = copy.deepcopy(user.settings.get("workingHours") or {})
        merged.update(hours)
        for key in ("startTime", "endTime"):
            if isinstance(merged.get(key), str):
                merged[key] = time_of_day(merged[key])
        zone = merged.get("timeZone") or {}
        if "custom" not in str(zone.get("@odata.type", "")).lower() and zone.get("name"):
            timeutil.resolve(zone["name"])
        patch["workingHours"] = merged
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(user.settings.get(key), dict) and key != "workingHours":
            user.settings[key] = {**user.settings[key], **value}
        else:
            user.settings[key] = value
    return {k: user.settings[k] for k in patch}


async def patch_settings(ctx: Ctx, **_: str) -> Reply:
    assert ctx.user is not None
    patched = apply_settings(ctx.user, ctx.json())
    return Reply(
        200, {"@odata.context": ctx.context_url(f"users('{ctx.user.id}')/mailboxSettings"), **patched}
    )


async def me(ctx: Ctx, **_: str) -> Reply:
    raise GraphError(400, "BadRequest", "/me request is only valid with delegated authentication flow.")


def register(router: Router) -> None:
    router.add("POST", "/users", post_user, scope="tenant")
    router.add("GET", "/users", list_users, scope="tenant")
    router.add("GET", "/users/{user}", get_user, scope="directory")
    router.add("GET", "/users/{user}/manager", get_manager, scope="directory")
    router.add("PUT", "/users/{user}/manager/$ref", put_manager, scope="directory")
    router.add("DELETE", "/users/{user}/manager/$ref", delete_manager, scope="directory")
    router.add("GET", "/users/{user}/mailboxSettings", get_settings)
    router.add("GET", "/users/{user}/mailboxSettings/{prop}", get_settings)
    router.add("PATCH", "/users/{user}/mailboxSettings", patch_settings)
    for method in ("GET", "POST", "PATCH", "DELETE"):
        router.add(method, "/me", me, scope="tenant")
