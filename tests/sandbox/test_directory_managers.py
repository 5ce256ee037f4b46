"""Management chains in one request: ``$expand=manager($levels=...)`` on a user and on a filtered list.

As user-list-manager documents it: ``$levels`` needs ``ConsistencyLevel: eventual``, selecting the
expanded managers' properties also needs ``$count=true``, and the chain comes back nested, the top of it
without a ``manager``. The ``$filter`` limits (15 ``in`` values by default, 2,048 URL characters with
advanced queries) are Graph's, as is a directory with a loop in it, which must not hang anything.
"""

from __future__ import annotations

from typing import Any

from tests.sandbox.sandbox_client import Graph, with_graph

EVENTUAL = {"ConsistencyLevel": "eventual"}
CHAIN = "manager($levels=max;$select=id,mail,userPrincipalName)"


async def set_manager(graph: Graph, handle: str, boss: dict[str, Any]) -> None:
    put = await graph.put(
        f"/users/{handle}@contoso.com/manager/$ref",
        {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{boss['id']}"},
    )
    assert put.status_code == 204, put.text


async def org(graph: Graph) -> dict[str, dict[str, Any]]:
    """ceo <- vp <- lead <- dev, and a loner with no manager."""
    people = {h: await graph.add_user(h) for h in ("ceo", "vp", "lead", "dev", "loner")}
    await set_manager(graph, "vp", people["ceo"])
    await set_manager(graph, "lead", people["vp"])
    await set_manager(graph, "dev", people["lead"])
    return people


def chain_of(user: dict[str, Any]) -> list[str]:
    out, node = [], user.get("manager")
    while node is not None:
        out.append(node["mail"].split("@")[0])
        node = node.get("manager")
    return out


def test_one_user_with_the_whole_chain_nested_and_selected() -> None:
    async def scenario(graph: Graph) -> None:
        people = await org(graph)
        params = {"$expand": CHAIN, "$select": "id,displayName", "$count": "true"}
        reply = await graph.get("/users/dev@contoso.com", params=params, headers=EVENTUAL)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["id"] == people["dev"]["id"] and "mail" not in body
        assert chain_of(body) == ["lead", "vp", "ceo"]
        top = body["manager"]["manager"]["manager"]
        assert "manager" not in top, "the top of the chain has no manager"
        assert set(top) == {"@odata.type", "id", "mail", "userPrincipalName"}
        two = {**params, "$expand": "manager($levels=2;$select=mail)"}
        assert chain_of((await graph.get("/users/dev@contoso.com", params=two, headers=EVENTUAL)).json()) == [
            "lead",
            "vp",
        ]
        alone = await graph.get("/users/loner@contoso.com", params=params, headers=EVENTUAL)
        assert alone.status_code == 200 and "manager" not in alone.json()
        plain = await graph.get("/users/dev@contoso.com", params={"$expand": "manager"})
        assert plain.status_code == 200 and plain.json()["manager"]["id"] == people["lead"]["id"]
        assert "manager" not in plain.json()["manager"], "without $levels, one level"

    with_graph(scenario)


def test_levels_are_refused_like_graph_without_the_advanced_query_parameters() -> None:
    async def scenario(graph: Graph) -> None:
        await org(graph)
        path = "/users/dev@contoso.com"
        no_header = await graph.get(path, params={"$expand": "manager($levels=max)", "$count": "true"})
        assert no_header.status_code == 400
        assert no_header.json()["error"]["code"] == "Request_UnsupportedQuery"
        no_count = await graph.get(path, params={"$expand": CHAIN}, headers=EVENTUAL)
        assert no_count.status_code == 400 and no_count.json()["error"]["code"] == "Request_UnsupportedQuery"
        for bad in ("0", "1001", "-1", "all", ""):
            reply = await graph.get(
                path, params={"$expand": f"manager($levels={bad})", "$count": "true"}, headers=EVENTUAL
            )
            assert reply.status_code == 400, bad
        for levels in ("1", "1000", "MAX"):
            reply = await graph.get(
                path, params={"$expand": f"manager($levels={levels})", "$count": "true"}, headers=EVENTUAL
            )
            assert reply.status_code == 200, levels
        other = await graph.get(path, params={"$expand": "directReports"})
        assert other.status_code == 400 and other.json()["error"]["code"] == "BadRequest"
        option = await graph.get(
            path, params={"$expand": "manager($levels=max;$top=1)", "$count": "true"}, headers=EVENTUAL
        )
        assert option.status_code == 400

    with_graph(scenario)


def test_a_filtered_list_carries_each_users_chain_and_pages() -> None:
    async def scenario(graph: Graph) -> None:
        people = await org(graph)
        params = {
            "$filter": "mail in ('DEV@contoso.com','loner@contoso.com','ghost@contoso.com')",
            "$select": "id,mail,userPrincipalName",
            "$expand": CHAIN,
            "$count": "true",
        }
        reply = await graph.get("/users", params=params, headers=EVENTUAL)
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["@odata.count"] == 2
        found = {u["mail"].split("@")[0]: u for u in body["value"]}
        assert set(found) == {"dev", "loner"}
        assert chain_of(found["dev"]) == ["lead", "vp", "ceo"] and "manager" not in found["loner"]
        by_id = await graph.get(
            "/users",
            params={
                "$filter": f"id eq '{people['vp']['id']}' or userPrincipalName in ('lead@contoso.com')",
                "$expand": "manager",
            },
        )
        assert sorted(u["mail"] for u in by_id.json()["value"]) == ["lead@contoso.com", "vp@contoso.com"]
        assert "@odata.count" not in by_id.json(), "$count is ignored without the header"

        paged = await graph.get(
            "/users",
            params={
                **params,
                "$filter": "mail in ('dev@contoso.com','lead@contoso.com','vp@contoso.com')",
                "$top": "2",
            },
            headers=EVENTUAL,
        )
        first = paged.json()
        assert len(first["value"]) == 2 and first["@odata.nextLink"]
        rest = await graph.http.get(first["@odata.nextLink"], headers={**graph._headers(None), **EVENTUAL})
        assert rest.status_code == 200 and len(rest.json()["value"]) == 1
        assert all("manager" in u for u in [*first["value"], *rest.json()["value"]])

    with_graph(scenario)


def test_filter_limits_in_values_by_default_and_url_length_with_advanced_queries() -> None:
    async def scenario(graph: Graph) -> None:
        await org(graph)

        def among(n: int, width: int = 10) -> str:
            return "mail in (" + ",".join(f"'{'p' * width}{i}@contoso.com'" for i in range(n)) + ")"

        fifteen = await graph.get("/users", params={"$filter": among(15)})
        assert fifteen.status_code == 200
        sixteen = await graph.get("/users", params={"$filter": among(16)})
        assert sixteen.status_code == 400 and sixteen.json()["error"]["code"] == "Request_UnsupportedQuery"
        advanced = {"$count": "true"}
        many = await graph.get("/users", params={**advanced, "$filter": among(40)}, headers=EVENTUAL)
        assert many.status_code == 200, "advanced queries are limited by URL length, not by values"
        too_long = await graph.get("/users", params={**advanced, "$filter": among(80)}, headers=EVENTUAL)
        assert str(too_long.request.url).startswith("http://sandbox/v1.0/users?")
        assert len(str(too_long.request.url)) > 2048
        assert too_long.status_code == 400
        assert too_long.json()["error"]["code"] == "Request_UnsupportedQuery"
        quoted = await graph.get("/users", params={"$filter": "mail in ('o''brien@contoso.com')"})
        assert quoted.status_code == 200 and quoted.json()["value"] == []
        broken = await graph.get("/users", params={"$filter": "mail in ('a@contoso.com',mail)"})
        assert broken.status_code == 400

    with_graph(scenario)


def test_a_loop_of_managers_ends_at_the_first_user_seen() -> None:
    async def scenario(graph: Graph) -> None:
        people = await org(graph)
        graph.app.tenant.find_user("ceo@contoso.com").manager_id = people["dev"]["id"]  # a loop
        params = {"$expand": CHAIN, "$count": "true", "$filter": "mail eq 'dev@contoso.com'"}
        reply = await graph.get("/users", params=params, headers=EVENTUAL)
        assert reply.status_code == 200
        assert chain_of(reply.json()["value"][0]) == ["lead", "vp", "ceo"]
        one = await graph.get("/users/vp@contoso.com", params={**params, "$filter": ""}, headers=EVENTUAL)
        assert chain_of(one.json()) == ["ceo", "dev", "lead"]

    with_graph(scenario)


def test_directory_reads_meet_the_same_transient_faults_as_mailbox_reads() -> None:
    async def scenario(graph: Graph) -> None:
        await org(graph)
        graph.app.faults.update({"transient_error_rate": 1.0, "transient_statuses": [503]})
        reply = await graph.get("/users", params={"$filter": "mail eq 'dev@contoso.com'"})
        assert reply.status_code == 503 and reply.headers["Retry-After"]
        graph.app.faults.update({"transient_error_rate": 0.0})
        assert (await graph.get("/users", params={"$filter": "mail eq 'dev@contoso.com'"})).status_code == 200

    with_graph(scenario)


def test_a_null_literal_in_a_mail_list_finds_the_users_without_a_mail() -> None:
    # The `mail in (...)` narrowing that skips rendering the rest of the directory must not change results.
    async def scenario(graph: Graph) -> None:
        await org(graph)
        graph.app.tenant.find_user("loner@contoso.com").mail = None
        reply = await graph.get("/users", params={"$filter": "mail in (null,'DEV@contoso.com')"})
        assert reply.status_code == 200, reply.text
        found = sorted(u["userPrincipalName"].split("@")[0] for u in reply.json()["value"])
        assert found == ["dev", "loner"]

    with_graph(scenario)
