"""Manager chains in bulk over the wire: ``GET /users?$filter=mail in (...)&$expand=manager($levels=max)``.

respx plays a directory that answers the documented shapes (user-list-manager: the chain nested in
``manager``, the top without one). The gateway must fill each request up to Graph's 2,048-character URL
(advanced queries), quote OData literals, follow ``@odata.nextLink``, match users back by mail or UPN,
and fall back, on a 400, to one expanded read per person and then to the level-by-level walk.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.graph.conftest import GRAPH, Wire
from worker.graph.errors import Forbidden
from worker.graph.ops import MAX_URL, URL_MARGIN, Gateway

pytestmark = pytest.mark.anyio

_LITERAL = re.compile(r"'((?:[^']|'')*)'")


def error(status: int, code: str = "Request_UnsupportedQuery") -> httpx.Response:
    return httpx.Response(status, json={"error": {"code": code, "message": "no"}})


class Directory:
    """Users by lower-case mail, each with a manager (by mail) or none; answers Graph's three reads."""

    def __init__(
        self,
        managers: dict[str, str | None],
        *,
        upn: dict[str, str] | None = None,
        names: dict[str, tuple[str, str]] | None = None,
    ) -> None:
        self.managers = managers
        self.upn = upn or {}
        self.names = names or {}  # mail -> (displayName, givenName); absent: Graph's null
        self.page_size = 1000

    def user(self, mail: str, *, levels: bool = True, expand: bool = True) -> dict[str, Any]:
        display, given = self.names.get(mail, (None, None))
        out: dict[str, Any] = {
            "id": f"id-{mail}",
            "mail": mail,
            "userPrincipalName": self.upn.get(mail, mail),
            "displayName": display,
            "givenName": given,
        }
        if not expand:
            return out
        node, seen = out, {mail}
        boss = self.managers.get(mail)
        while boss is not None and boss not in seen:
            seen.add(boss)
            node["manager"] = {"@odata.type": "#microsoft.graph.user", "id": f"id-{boss}", "mail": boss}
            node = node["manager"]
            boss = self.managers.get(boss) if levels else None
        return out

    def resolve(self, key: str) -> str | None:
        key = key.lower()
        if key in self.managers:
            return key
        return next((m for m, u in self.upn.items() if u.lower() == key), None)

    def listing(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        assert request.headers["ConsistencyLevel"] == "eventual"
        if "$skip" in params:  # a page we linked to
            mails, skip = params["mails"].split(","), int(params["$skip"])
        else:
            assert params["$count"] == "true"
            expand = params.get("$expand")
            assert expand in (None, "manager($levels=max;$select=id,mail,userPrincipalName)")
            assert set(params["$select"].split(",")) == {
                "id",
                "mail",
                "userPrincipalName",
                "displayName",
                "givenName",
            }
            flt = params["$filter"]
            assert flt.startswith("mail in (") and flt.endswith(")")
            asked = [m.replace("''", "'") for m in _LITERAL.findall(flt)]
            mails, skip = [m.lower() for m in asked if m.lower() in self.managers], 0
        page = mails[skip : skip + self.page_size]
        expanded = "$skip" in params or "$expand" in params
        body: dict[str, Any] = {
            "@odata.count": len(mails),
            "value": [self.user(m, expand=expanded) for m in page],
        }
        if skip + self.page_size < len(mails):
            body["@odata.nextLink"] = (
                f"{GRAPH}/users?mails={','.join(mails)}&$skip={skip + self.page_size}&$skiptoken=X"
            )
        return httpx.Response(200, json=body)

    def one(self, request: httpx.Request) -> httpx.Response:
        assert request.headers["ConsistencyLevel"] == "eventual"
        assert request.url.params["$count"] == "true"
        expand = "$expand" in request.url.params
        assert not expand or request.url.params["$expand"].startswith("manager($levels=max")
        assert "displayName" in request.url.params["$select"].split(",")
        mail = self.resolve(request.url.path.split("/")[3])
        if not mail:
            return error(404, "Request_ResourceNotFound")
        return httpx.Response(200, json=self.user(mail, expand=expand))

    def walk(self, request: httpx.Request) -> httpx.Response:
        mail = self.resolve(request.url.path.split("/")[3])
        boss = self.managers.get(mail) if mail else None
        if boss is None:
            return error(404, "Request_ResourceNotFound")
        return httpx.Response(200, json={"@odata.type": "#microsoft.graph.user", "id": boss, "mail": boss})

    def mount(
        self,
        wire: Wire,
        *,
        listing: Callable[[httpx.Request], httpx.Response] | None = None,
        one: Callable[[httpx.Request], httpx.Response] | None = None,
    ) -> dict[str, Any]:
        return {
            "listing": wire.router.get(url__regex=rf"^{GRAPH}/users\?").mock(
                side_effect=listing or self.listing
            ),
            "walk": wire.router.get(url__regex=rf"^{GRAPH}/users/[^/?]+/manager$").mock(
                side_effect=self.walk
            ),
            "one": wire.router.get(url__regex=rf"^{GRAPH}/users/[^/?]+\?").mock(side_effect=one or self.one),
        }


def ladder(n: int, width: int = 12) -> dict[str, str | None]:
    """n people in teams of ten under one lead each, the leads under one boss."""
    people: dict[str, str | None] = {"boss@contoso.com": None}
    for i in range(n):
        lead = f"lead{i // 10}@contoso.com"
        people[lead] = "boss@contoso.com"
        people[f"{'p' * width}{i}@contoso.com"] = lead
    return people


async def test_chains_are_read_many_people_per_request_within_the_url_limit(
    wire: Wire, gateway: Gateway
) -> None:
    org = ladder(300)
    directory = Directory(org)
    routes = directory.mount(wire)
    people = [p for p in org if p.startswith("p")]

    chains = await gateway.manager_chains(people)

    assert chains == {p: [org[p], "boss@contoso.com"] for p in people}
    sent = [c.request for c in routes["listing"].calls]
    lengths = [len(str(r.url)) for r in sent]
    assert max(lengths) <= MAX_URL - URL_MARGIN, lengths
    # The chunks are sent at once, so the last (short) one need not be the last call.
    assert sorted(lengths)[1] > MAX_URL - URL_MARGIN - 60, "each request but one is filled up to the limit"
    assert len(sent) <= 8 and len(sent) * 15 < len(people), "more than Graph's default 15 values a request"
    asked = [m for r in sent for m in _LITERAL.findall(r.url.params["$filter"])]
    assert sorted(asked) == sorted(people), "everyone asked exactly once"
    assert not routes["one"].called and not routes["walk"].called
    assert set(gateway.requests_made) == {""}, "a directory read: no participant's mailbox is paced for it"


async def test_addresses_are_quoted_and_matched_back_by_mail_or_upn_case_insensitively(
    wire: Wire, gateway: Gateway
) -> None:
    org: dict[str, str | None] = {
        "o'brien@contoso.com": "boss@contoso.com",
        "renamed@contoso.com": "o'brien@contoso.com",
        "boss@contoso.com": None,
    }
    directory = Directory(org, upn={"renamed@contoso.com": "Old.Name@contoso.onmicrosoft.com"})
    routes = directory.mount(wire)

    chains = await gateway.manager_chains(["O'Brien@Contoso.com", "old.name@contoso.onmicrosoft.com"])

    flt = routes["listing"].calls[0].request.url.params["$filter"]
    assert "'o''brien@contoso.com'" in flt
    # The UPN was not in the mail filter: that person is read alone, by UPN.
    assert chains == {
        "o'brien@contoso.com": ["boss@contoso.com"],
        "old.name@contoso.onmicrosoft.com": ["o'brien@contoso.com", "boss@contoso.com"],
    }
    assert routes["one"].call_count == 1


async def test_someone_unknown_has_an_empty_chain_and_a_loop_ends_it(wire: Wire, gateway: Gateway) -> None:
    org: dict[str, str | None] = {"a@contoso.com": "b@contoso.com", "b@contoso.com": "a@contoso.com"}
    routes = Directory(org).mount(wire)
    chains = await gateway.manager_chains(["a@contoso.com", "ghost@contoso.com"])
    assert chains == {"a@contoso.com": ["b@contoso.com"], "ghost@contoso.com": []}
    assert routes["one"].call_count == 1  # the ghost, once: 404 means no such user


async def test_next_links_are_followed_with_the_consistency_header(wire: Wire, gateway: Gateway) -> None:
    org = ladder(25)
    directory = Directory(org)
    directory.page_size = 10
    routes = directory.mount(wire)
    people = [p for p in org if p.startswith("p")]

    chains = await gateway.manager_chains(people)

    assert set(chains) == set(people) and all(len(c) == 2 for c in chains.values())
    assert routes["listing"].call_count == 3
    assert all(c.request.headers["ConsistencyLevel"] == "eventual" for c in routes["listing"].calls)
    assert not routes["one"].called


# a reports to b, b to c, c to no one
A_B_C: dict[str, str | None] = {
    "a@contoso.com": "b@contoso.com",
    "b@contoso.com": "c@contoso.com",
    "c@contoso.com": None,
}


async def test_a_tenant_refusing_the_bulk_form_is_read_per_person_then_level_by_level(
    wire: Wire, gateway: Gateway
) -> None:
    routes = Directory(A_B_C).mount(wire, listing=lambda _r: error(400))
    assert await gateway.manager_chains(["a@contoso.com", "b@contoso.com"]) == {
        "a@contoso.com": ["b@contoso.com", "c@contoso.com"],
        "b@contoso.com": ["c@contoso.com"],
    }
    assert routes["listing"].call_count == 1 and routes["one"].call_count == 2
    assert not routes["walk"].called

    # Told once: the next read goes straight to the per-person form.
    assert await gateway.manager_chains(["c@contoso.com"]) == {"c@contoso.com": []}
    assert routes["listing"].call_count == 1


async def test_a_tenant_refusing_levels_altogether_is_walked_level_by_level(
    wire: Wire, gateway: Gateway
) -> None:
    routes = Directory(A_B_C).mount(wire, listing=lambda _r: error(400), one=lambda _r: error(400))
    assert await gateway.manager_chains(["a@contoso.com"]) == {
        "a@contoso.com": ["b@contoso.com", "c@contoso.com"]
    }
    assert routes["one"].call_count == 1 and routes["walk"].call_count == 3
    assert await gateway.manager_chains(["b@contoso.com"]) == {"b@contoso.com": ["c@contoso.com"]}
    assert routes["listing"].call_count == 1 and routes["one"].call_count == 1, "each refusal is told once"


async def test_failures_are_each_persons_error_or_raised(wire: Wire, gateway: Gateway) -> None:
    org: dict[str, str | None] = {"a@contoso.com": None, "b@contoso.com": None}
    Directory(org).mount(wire, listing=lambda _r: error(403, "Authorization_RequestDenied"))
    errors: dict[str, Any] = {}
    assert await gateway.manager_chains(["A@contoso.com", "b@contoso.com"], errors=errors) == {}
    assert set(errors) == {"a@contoso.com", "b@contoso.com"}
    assert all(isinstance(e, Forbidden) for e in errors.values())
    with pytest.raises(Forbidden):
        await gateway.manager_chains(["a@contoso.com"])
    assert await gateway.manager_chains([]) == {}


def test_the_spelt_out_bulk_url_is_the_one_msgraph_would_build(gateway: Gateway) -> None:
    # The chain read writes its URL itself (one quote per value, not std-uritemplate's one per character):
    # it must be what the SDK's own request builder expands, character for character.
    from kiota_abstractions.base_request_configuration import RequestConfiguration
    from msgraph.generated.users.users_request_builder import UsersRequestBuilder

    chunk = ["a@contoso.com", "o'brien@contoso.com", "x+tag@contoso.com", "é.lou@contoso.com"]
    literals = ",".join("'" + a.replace("'", "''") + "'" for a in chunk)
    config: RequestConfiguration[Any] = RequestConfiguration()
    config.query_parameters = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter=f"mail in ({literals})",
        select=["id", "mail", "userPrincipalName", "displayName", "givenName"],
        expand=["manager($levels=max;$select=id,mail,userPrincipalName)"],
        count=True,
    )
    sdk = gateway._client.users.to_get_request_information(config)
    sdk.path_parameters["baseurl"] = gateway._adapter.base_url
    ours = gateway._chains_request(chunk)
    assert ours.url == sdk.url
    assert ours.headers.get("ConsistencyLevel") == {"eventual"}


NAMED = {
    "lea.martin@contoso.com": ("Léa Martin", "Léa"),
    "robert.lefevre@contoso.com": ("Robert Lefèvre", "Robert"),
}


async def test_names_come_with_the_chains_in_the_same_requests(wire: Wire, gateway: Gateway) -> None:
    org: dict[str, str | None] = {
        "lea.martin@contoso.com": "robert.lefevre@contoso.com",
        "robert.lefevre@contoso.com": None,
        "jdubois@contoso.com": None,  # in the directory, with neither name set
    }
    routes = Directory(org, names=NAMED).mount(wire)
    names: dict[str, tuple[str, str]] = {}
    chains = await gateway.manager_chains(
        ["Lea.Martin@contoso.com", "robert.lefevre@contoso.com", "jdubois@contoso.com"], names=names
    )
    assert chains["lea.martin@contoso.com"] == ["robert.lefevre@contoso.com"]
    assert names == {**NAMED, "jdubois@contoso.com": ("", "")}
    assert routes["listing"].call_count == 1 and not routes["one"].called


async def test_names_alone_are_read_without_expanding_managers(wire: Wire, gateway: Gateway) -> None:
    org: dict[str, str | None] = {"lea.martin@contoso.com": "robert.lefevre@contoso.com"}
    routes = Directory(org, names=NAMED).mount(wire)
    names: dict[str, tuple[str, str]] = {}
    chains = await gateway.manager_chains(
        ["lea.martin@contoso.com", "robert.lefevre@contoso.com"], names=names, chains=False
    )
    assert "$expand" not in routes["listing"].calls[0].request.url.params
    assert chains == {"lea.martin@contoso.com": [], "robert.lefevre@contoso.com": []}
    # Robert is not in this directory's listing: read alone, also without $expand, and unknown (404).
    assert names == {"lea.martin@contoso.com": ("Léa Martin", "Léa")}
    assert "$expand" not in routes["one"].calls[0].request.url.params
