"""Users, managers and mailbox settings: enough directory for any tenant to be built with Graph calls."""

from __future__ import annotations

from tests.sandbox.sandbox_client import Graph, example, shape_mismatches, with_graph


def test_users_are_created_and_found_by_id_or_case_insensitive_upn() -> None:
    async def scenario(graph: Graph) -> None:
        created = await graph.add_user("lea.martin", name="Léa Martin")
        assert created["@odata.context"].endswith("$metadata#users/$entity")
        assert created["userPrincipalName"] == "lea.martin@contoso.com" and created["businessPhones"] == []
        by_id = (await graph.get(f"/users/{created['id']}")).json()
        by_upn = (await graph.get("/users/LEA.Martin@Contoso.com", params={"$select": "displayName"})).json()
        assert by_id["displayName"] == by_upn["displayName"] == "Léa Martin"
        assert set(by_upn) == {"@odata.context", "id", "displayName"}
        keyed = await graph.get(f"/users('{created['id']}')")
        assert keyed.status_code == 200
        again = await graph.post(
            "/users",
            {
                "accountEnabled": True,
                "displayName": "x",
                "mailNickname": "x",
                "userPrincipalName": "LEA.MARTIN@contoso.com",
                "passwordProfile": {"password": "p@ss-W0rd!"},
            },
        )
        assert again.status_code == 400 and again.json()["error"]["code"] == "Request_BadRequest"
        incomplete = await graph.post("/users", {"displayName": "x"})
        assert incomplete.status_code == 400
        missing = await graph.get("/users/ghost@contoso.com")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "Request_ResourceNotFound"

    with_graph(scenario)


def test_manager_reference_is_set_and_read() -> None:
    async def scenario(graph: Graph) -> None:
        boss = await graph.add_user("claire")
        await graph.add_user("robert")
        assert (await graph.get("/users/robert@contoso.com/manager")).status_code == 404
        put = await graph.put(
            "/users/robert@contoso.com/manager/$ref",
            {"@odata.id": f"https://graph.microsoft.com/v1.0/users/{boss['id']}"},
        )
        assert put.status_code == 204 and put.content == b""
        manager = (await graph.get("/users/robert@contoso.com/manager")).json()
        assert manager["@odata.type"] == "#microsoft.graph.user" and manager["id"] == boss["id"]
        wrong = await graph.put(
            "/users/robert@contoso.com/manager/$ref",
            {"@odata.id": "https://graph.microsoft.com/v1.0/users/nobody"},
        )
        assert wrong.status_code == 404

    with_graph(scenario)


def test_mailbox_settings_read_and_patch_with_windows_iana_and_custom_zones() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("carlos")
        path = "/users/carlos@contoso.com/mailboxSettings"
        settings = (await graph.get(path)).json()
        assert shape_mismatches(example("mailboxsettings_response.json"), settings) == []
        assert (await graph.patch(path, {"timeZone": "Pacific Standard Time"})).json()[
            "timeZone"
        ] == "Pacific Standard Time"
        assert (await graph.patch(path, {"timeZone": "Asia/Kathmandu"})).status_code == 200
        custom = example("mailboxsettings_workinghours_response.json")
        hours = {k: v for k, v in custom.items() if not k.startswith("@")}
        patched = await graph.patch(path, {"workingHours": {**hours, "startTime": "09:00"}})
        assert patched.status_code == 200, patched.text
        assert patched.json()["workingHours"]["startTime"] == "09:00:00.0000000"
        read = (await graph.get(f"{path}/workingHours")).json()
        assert shape_mismatches(custom, read) == [] and read["timeZone"]["bias"] == -200
        assert (await graph.get(f"{path}/timeZone")).json()["value"] == "Asia/Kathmandu"
        bad_zone = await graph.patch(path, {"timeZone": "Atlantis/Lost"})
        assert bad_zone.status_code == 400
        unknown = await graph.patch(path, {"workingHours": {"lunchBreak": True}})
        assert unknown.status_code == 400 and unknown.json()["error"]["code"] == "RequestBodyRead"

    with_graph(scenario)


def test_a_user_without_mailbox_gets_mailbox_not_enabled() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("contractor")
        dropped = await graph.http.delete("/_sandbox/users/contractor@contoso.com/mailbox")
        assert dropped.status_code == 200
        assert (await graph.get("/users/contractor@contoso.com")).status_code == 200
        for response in (
            await graph.get("/users/contractor@contoso.com/events"),
            await graph.get("/users/contractor@contoso.com/mailboxSettings"),
        ):
            assert response.status_code == 404
            assert response.json()["error"]["code"] == "MailboxNotEnabledForRESTAPI"
        unknown = await graph.get("/users/ghost@contoso.com/events")
        assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "ErrorInvalidUser"

    with_graph(scenario)


def test_me_is_refused_for_app_only_tokens() -> None:
    async def scenario(graph: Graph) -> None:
        response = await graph.get("/me")
        assert response.status_code == 400 and "delegated" in response.json()["error"]["message"]
        assert (await graph.get("/nonsense")).status_code == 400

    with_graph(scenario)


def test_upns_must_use_a_verified_domain_and_unknown_query_options_are_refused() -> None:
    async def scenario(graph: Graph) -> None:
        body = {
            "accountEnabled": True,
            "displayName": "x",
            "mailNickname": "x",
            "passwordProfile": {"password": "p@ss-W0rd!"},
        }
        for upn, status in (
            ("x@fabrikam.com", 400),
            ("x@contoso.onmicrosoft.com", 201),
            ("y@Contoso.com", 201),
        ):
            response = await graph.post("/users", {**body, "userPrincipalName": upn})
            assert response.status_code == status, upn
        refused = await graph.get("/users", params={"$frobnicate": "1"})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "BadRequest"
        assert (await graph.get("/users", params={"$top": "1", "$count": "true"})).status_code == 200

    with_graph(scenario)
