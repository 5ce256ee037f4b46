"""``GET /organization`` and ``GET /domains``: a tenant shows the domains it verifies, held to the CSDL."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from kiota_serialization_json.json_parse_node import JsonParseNode
from msgraph.generated.models.domain import Domain
from msgraph.generated.models.organization import Organization

from tests.sandbox.sandbox_client import Graph, served_token, with_graph
from tests.sandbox.test_sdk_models import unknown_properties
from worker.commands.sandbox import sandbox
from worker.sandbox import schema


def _strip(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if not k.startswith("@")}


def test_an_empty_tenant_verifies_the_domains_it_was_given_the_first_as_default() -> None:
    async def scenario(graph: Graph) -> tuple[Any, Any]:
        org = (await graph.get("/organization")).json()
        domains = (await graph.get("/domains")).json()
        return org, domains

    org, domains = with_graph(scenario, empty=True, domains=("fabrikam.com", "fabrikam.fr"))
    assert len(org["value"]) == 1, "there is only one organization object in the collection"
    verified = {d["name"]: d for d in org["value"][0]["verifiedDomains"]}
    assert set(verified) == {"fabrikam.com", "fabrikam.fr", "fabrikam.onmicrosoft.com"}
    assert verified["fabrikam.com"]["isDefault"] and not verified["fabrikam.fr"]["isDefault"]
    assert verified["fabrikam.onmicrosoft.com"]["isInitial"]
    assert all(d["type"] == "Managed" for d in verified.values())
    by_id = {d["id"]: d for d in domains["value"]}
    assert set(by_id) == set(verified)
    assert all(d["isVerified"] for d in by_id.values())
    assert [d["id"] for d in domains["value"] if d["isDefault"]] == ["fabrikam.com"]


def test_users_may_be_created_in_any_verified_domain_and_no_other() -> None:
    async def scenario(graph: Graph) -> tuple[int, int]:
        await graph.add_user("ana@fabrikam.fr")
        body = {
            "accountEnabled": True,
            "displayName": "Bo",
            "mailNickname": "bo",
            "userPrincipalName": "bo@contoso.com",
            "passwordProfile": {"password": "xWwvJ]6NMw+bWH-d"},
        }
        refused = await graph.post("/users", body)
        one = await graph.get("/domains/FABRIKAM.FR")
        return refused.status_code, one.status_code

    assert with_graph(scenario, empty=True, domains=("fabrikam.com", "fabrikam.fr")) == (400, 200)


def test_without_a_domain_an_empty_tenant_is_contoso_and_the_demo_keeps_contoso() -> None:
    async def names(graph: Graph) -> set[str]:
        return {d["id"] for d in (await graph.get("/domains")).json()["value"]}

    assert with_graph(names, empty=True) == {"contoso.com", "contoso.onmicrosoft.com"}
    assert with_graph(names, empty=False, domains=("fabrikam.com",)) == {
        "contoso.com",
        "fabrikam.com",
        "contoso.onmicrosoft.com",
    }


def test_responses_hold_to_the_schema_and_to_the_sdk_models() -> None:
    async def scenario(graph: Graph) -> tuple[Any, Any, Any]:
        org = (await graph.get("/organization")).json()["value"][0]
        domain = (await graph.get("/domains")).json()["value"][0]
        picked = (await graph.get("/organization", params={"$select": "id,verifiedDomains"})).json()
        return org, domain, picked

    org, domain, picked = with_graph(scenario, empty=True, domains=("fabrikam.com",))
    assert schema.validate_entity("organization", _strip(org), for_create=False) == []
    assert schema.validate_entity("domain", _strip(domain), for_create=False) == []
    for slot in ("verifiedDomains", "assignedPlans", "provisionedPlans", "businessPhones"):
        assert isinstance(org[slot], list), f"{slot} is not nullable in the CSDL"
    assert unknown_properties(JsonParseNode(org).get_object_value(Organization)) == []
    assert unknown_properties(JsonParseNode(domain).get_object_value(Domain)) == []
    assert set(_strip(picked["value"][0])) == {"id", "verifiedDomains"}


def test_serve_refuses_a_domain_that_is_not_one() -> None:
    result = CliRunner().invoke(sandbox, ["serve", "--empty", "--domain", "not a domain"])
    assert result.exit_code == 2 and "--domain" in result.output


@pytest.mark.slow
def test_serve_with_domains_answers_organization_over_loopback() -> None:
    import json
    import socket

    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    crossgen = Path(sys.executable).with_name("crossgen")
    proc = subprocess.Popen(
        [str(crossgen), "sandbox", "serve", "--port", str(port), "--empty", "--domain", "fabrikam.com",
         "--domain", "northwind.example"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        with httpx.Client(timeout=10) as http:
            token = served_token(http, info)
            org = http.get(f"{info['graph_url']}/organization", headers={"Authorization": f"Bearer {token}"})
        names = [d["name"] for d in org.json()["value"][0]["verifiedDomains"]]
        assert names == ["fabrikam.com", "northwind.example", "fabrikam.onmicrosoft.com"]
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
