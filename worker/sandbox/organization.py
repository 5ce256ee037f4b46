"""The tenant itself: ``GET /organization`` and ``GET /domains`` (``/domains/{id}``).

Enough for a lead to check which addresses a sandbox accepts (``crossgen sandbox serve --empty --domain
fabrikam.com``): the organization's ``verifiedDomains`` and the domain objects, shaped as Microsoft's
organization-list and domain-list examples show them and held to the CSDL's ``organization``,
``verifiedDomain`` and ``domain`` types (every non-nullable property present). Every tenant also has its
initial ``<name>.onmicrosoft.com`` domain; the first domain named is the default one. Both lists support
``$select``; the organization list has exactly one object, as the docs say.
"""

from __future__ import annotations

from typing import Any

from worker.sandbox import odata
from worker.sandbox.errors import directory_not_found
from worker.sandbox.router import Ctx, Reply, Router
from worker.sandbox.store import Tenant

SERVICES = ["Email", "OfficeCommunicationsOnline"]


def _domains(tenant: Tenant) -> list[tuple[str, bool, bool]]:
    """(name, is default, is initial), the default first, the initial last."""
    named = [(d, i == 0, False) for i, d in enumerate(tenant.domains)]
    return [*named, (tenant.initial_domain, False, True)]


def organization_json(tenant: Tenant) -> dict[str, Any]:
    name = tenant.domains[0].split(".")[0].capitalize()
    return {
        "id": tenant.tenant_id,
        "deletedDateTime": None,
        "assignedPlans": [],
        "businessPhones": [],
        "city": None,
        "country": None,
        "countryLetterCode": None,
        "createdDateTime": "2026-01-01T00:00:00Z",
        "defaultUsageLocation": None,
        "displayName": name,
        "marketingNotificationEmails": [],
        "mobileDeviceManagementAuthority": "unknown",
        "onPremisesLastSyncDateTime": None,
        "onPremisesSyncEnabled": None,
        "partnerTenantType": None,
        "postalCode": None,
        "preferredLanguage": "en",
        "privacyProfile": None,
        "provisionedPlans": [],
        "securityComplianceNotificationMails": [],
        "securityComplianceNotificationPhones": [],
        "state": None,
        "street": None,
        "technicalNotificationMails": [],
        "tenantType": "AAD",
        "verifiedDomains": [
            {
                "capabilities": "Email, OfficeCommunicationsOnline",
                "isDefault": default,
                "isInitial": initial,
                "name": domain,
                "type": "Managed",
            }
            for domain, default, initial in _domains(tenant)
        ],
    }


def domain_json(domain: str, *, default: bool, initial: bool) -> dict[str, Any]:
    return {
        "id": domain,
        "authenticationType": "Managed",
        "availabilityStatus": None,
        "isAdminManaged": True,
        "isDefault": default,
        "isInitial": initial,
        "isRoot": True,
        "isVerified": True,
        "manufacturer": None,
        "model": None,
        "passwordNotificationWindowInDays": 14,
        "passwordValidityPeriodInDays": 2147483647,
        "state": None,
        "supportedServices": list(SERVICES),
    }


async def list_organization(ctx: Ctx, **_: str) -> Reply:
    fields = odata.select_fields(ctx.req.query.get("$select"))
    return Reply(
        200,
        {
            "@odata.context": ctx.context_url("organization"),
            "value": [odata.project(organization_json(ctx.tenant), fields)],
        },
    )


async def list_domains(ctx: Ctx, **_: str) -> Reply:
    fields = odata.select_fields(ctx.req.query.get("$select"))
    items = [domain_json(d, default=dft, initial=ini) for d, dft, ini in _domains(ctx.tenant)]
    return Reply(
        200,
        {"@odata.context": ctx.context_url("domains"), "value": [odata.project(i, fields) for i in items]},
    )


async def get_domain(ctx: Ctx, domain: str, **_: str) -> Reply:
    for name, default, initial in _domains(ctx.tenant):
        if name.lower() == domain.lower():
            body = {"@odata.context": ctx.context_url("domains/$entity")}
            body.update(domain_json(name, default=default, initial=initial))
            return Reply(200, odata.project(body, odata.select_fields(ctx.req.query.get("$select"))))
    raise directory_not_found(domain)  # the directory's not-found, as for an unknown user


def register(router: Router) -> None:
    router.add("GET", "/organization", list_organization, scope="tenant")
    router.add("GET", "/domains", list_domains, scope="tenant")
    router.add("GET", "/domains/{domain}", get_domain, scope="tenant")
