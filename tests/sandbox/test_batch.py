"""JSON batching: per-item results through the same pipeline, dependsOn and 424, envelope errors."""

from __future__ import annotations

import base64

from tests.sandbox.sandbox_client import Graph, example, shape_mismatches, with_graph

ORG = "mentoring@contoso.com"
EVENT = {
    "subject": "x",
    "start": {"dateTime": "2027-01-04T09:00:00", "timeZone": "UTC"},
    "end": {"dateTime": "2027-01-04T10:00:00", "timeZone": "UTC"},
}


def test_items_get_their_own_status_headers_and_body() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        response = await graph.post(
            "/$batch",
            {
                "requests": [
                    {"id": "1", "method": "GET", "url": f"/users/{ORG}?$select=displayName"},
                    {
                        "id": "2",
                        "method": "POST",
                        "url": f"/users/{ORG}/events",
                        "body": EVENT,
                        "headers": {"Content-Type": "application/json"},
                    },
                    {"id": "3", "method": "GET", "url": "/users/nobody@contoso.com"},
                    {"id": "4", "method": "DELETE", "url": f"/users/{ORG}/events/AAMkAnotthere"},
                ]
            },
        )
        assert response.status_code == 200
        body = response.json()
        documented = example("batch_response.json")
        documented["responses"][0]["headers"] = {}  # a 302's Location: nothing in the sandbox redirects
        assert shape_mismatches(documented, body) == []
        by_id = {r["id"]: r for r in body["responses"]}
        assert [by_id[i]["status"] for i in "1234"] == [200, 201, 404, 404]
        assert by_id["1"]["body"]["displayName"] and by_id["2"]["body"]["subject"] == "x"
        assert by_id["3"]["body"]["error"]["code"] == "Request_ResourceNotFound"
        assert "request-id" in by_id["1"]["headers"]

    with_graph(scenario)


def test_item_paths_are_percent_decoded_as_a_top_level_path_is() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("o'brien")
        encoded = "/users/o%27brien%40contoso.com?$select=mail"
        alone = await graph.get(encoded)
        response = await graph.post("/$batch", {"requests": [{"id": "1", "method": "GET", "url": encoded}]})
        (item,) = response.json()["responses"]
        assert alone.status_code == item["status"] == 200
        assert item["body"]["mail"] == alone.json()["mail"] == "o'brien@contoso.com"

    with_graph(scenario)


def test_failed_dependency_gives_424_down_the_chain() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        response = await graph.post(
            "/$batch",
            {
                "requests": [
                    {"id": "1", "method": "GET", "url": f"/users/{ORG}/events/AAMkAmissing"},
                    {"id": "2", "dependsOn": ["1"], "method": "GET", "url": f"/users/{ORG}/events"},
                    {"id": "3", "dependsOn": ["2"], "method": "GET", "url": f"/users/{ORG}/events"},
                    {"id": "4", "method": "GET", "url": f"/users/{ORG}/events"},
                ]
            },
        )
        statuses = {r["id"]: r["status"] for r in response.json()["responses"]}
        assert statuses == {"1": 404, "2": 424, "3": 424, "4": 200}

    with_graph(scenario)


def test_malformed_envelopes_are_400_and_auth_comes_from_the_envelope() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        item = {"id": "1", "method": "GET", "url": f"/users/{ORG}"}
        too_many = [{**item, "id": str(i)} for i in range(21)]
        assert (await graph.post("/$batch", {"requests": too_many})).status_code == 400
        assert (await graph.post("/$batch", {"requests": too_many[:20]})).status_code == 200
        assert (
            await graph.post(
                "/$batch", {"requests": [{**item, "url": "https://graph.microsoft.com/v1.0/me"}]}
            )
        ).status_code == 400
        assert (await graph.post("/$batch", {"requests": [item, item]})).status_code == 400
        no_type = {"id": "1", "method": "POST", "url": f"/users/{ORG}/events", "body": EVENT}
        assert (await graph.post("/$batch", {"requests": [no_type]})).status_code == 400
        assert (await graph.post("/$batch", {"nope": []})).status_code == 400
        anonymous = await graph.http.post("/v1.0/$batch", json={"requests": [item]})
        assert anonymous.status_code == 401

    with_graph(scenario)


def test_items_are_throttled_individually_and_mime_travels_as_base64() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("mentoring")
        await graph.add_user("lea")
        graph.app.faults.update({"mailbox_requests_per_window": 2})
        mime = base64.b64encode(
            b"To: lea@contoso.com\r\nSubject: hi\r\nMessage-ID: <b1@x>\r\n\r\nHello"
        ).decode()
        response = await graph.post(
            "/$batch",
            {
                "requests": [
                    {
                        "id": "1",
                        "method": "POST",
                        "url": f"/users/{ORG}/sendMail",
                        "body": mime,
                        "headers": {"Content-Type": "text/plain"},
                    },
                    {"id": "2", "dependsOn": ["1"], "method": "GET", "url": f"/users/{ORG}/events"},
                    {"id": "3", "dependsOn": ["2"], "method": "GET", "url": f"/users/{ORG}/events"},
                ]
            },
        )
        by_id = {r["id"]: r for r in response.json()["responses"]}
        assert [by_id[i]["status"] for i in "123"] == [202, 200, 429]
        assert float(by_id["3"]["headers"]["Retry-After"]) > 0
        inbox = (await graph.get("/users/lea@contoso.com/messages")).json()["value"]
        assert inbox[0]["internetMessageId"] == "<b1@x>"

    with_graph(scenario)
