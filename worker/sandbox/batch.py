"""``POST /v1.0/$batch``: JSON batching as concepts/json-batching.md documents it (NOTES.md §6).

At most 20 requests with unique ids and relative URLs; a malformed envelope is a 400, otherwise the
envelope is 200 and each item carries its own status, headers and body. Items run through the very
same ``Sandbox.dispatch`` as direct calls (auth from the envelope, the same routing, limits and
faults): Graph evaluates batch items individually against throttling. Items without ``dependsOn`` run
concurrently, at most four at a time as Graph forwards them to Outlook; an item whose dependency
failed (status >= 400, or itself failed by dependency) gets 424 without running.
"""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from worker.sandbox.errors import GraphError, bad_request
from worker.sandbox.faults import Lane
from worker.sandbox.router import GraphRequest, Reply

if TYPE_CHECKING:
    from worker.sandbox.service import Sandbox

MAX_REQUESTS = 20
FORWARD_AT_ONCE = 4


def _item_request(outer: GraphRequest, item: dict[str, Any], lane: Lane | None = None) -> GraphRequest:
    url = item["url"]
    split = urlsplit(url if url.startswith("/") else "/" + url)
    path = unquote(split.path)  # as the server decodes a top-level request's path (the ASGI scope's)
    if path.lower().startswith("/v1.0/"):
        path = path[5:]
    headers = {k.lower(): str(v) for k, v in (item.get("headers") or {}).items()}
    for name in ("authorization", "client-request-id"):
        if name in outer.headers and name not in headers:
            headers[name] = outer.headers[name]
    body = item.get("body")
    raw = b""
    if body is not None:
        content_type = headers.get("content-type", "")
        if isinstance(body, str) and not content_type.startswith("application/json"):
            # Non-JSON bodies travel base64-encoded in a batch; text/plain MIME is already base64.
            raw = body.encode() if content_type.startswith("text/plain") else base64.b64decode(body)
        else:
            raw = json.dumps(body).encode()
    return GraphRequest(
        method=item["method"].upper(),
        path=path,
        query=dict(parse_qsl(split.query, keep_blank_values=True)),
        headers=headers,
        body=raw,
        base_url=outer.base_url,
        in_batch=True,
        raw_query=split.query,
        lane=lane,
    )


def _validate(payload: Any) -> list[dict[str, Any]]:
    if not isinstance(payload, dict) or not isinstance(payload.get("requests"), list):
        raise bad_request("Invalid batch payload format.")
    items = payload["requests"]
    if not items:
        raise bad_request("Invalid batch payload format: the batch contains no requests.")
    if len(items) > MAX_REQUESTS:
        raise bad_request(f"The number of requests in the batch exceeds the limit of {MAX_REQUESTS}.")
    ids: set[str] = set()
    for item in items:
        if not isinstance(item, dict) or not all(
            isinstance(item.get(k), str) for k in ("id", "method", "url")
        ):
            raise bad_request("Invalid batch payload format: each request needs an id, a method and a url.")
        if item["id"] in ids:
            raise bad_request(f"Request id '{item['id']}' is duplicated in the batch.")
        if item["url"].lower().startswith(("http://", "https://")):
            raise bad_request("Invalid request URL: batch requests must use URLs relative to the version.")
        if item.get("body") is not None and not any(
            k.lower() == "content-type" for k in (item.get("headers") or {})
        ):
            raise bad_request(f"Content-Type header is required for request '{item['id']}' with a body.")
        ids.add(item["id"])
    for item in items:
        for dep in item.get("dependsOn") or []:
            if dep not in ids or dep == item["id"]:
                raise bad_request(f"Request '{item['id']}' depends on unknown request '{dep}'.")
    return items


async def run(sandbox: Sandbox, req: GraphRequest, *, now: datetime) -> Reply:
    try:
        payload = json.loads(req.body or b"null")
    except ValueError as exc:
        raise bad_request("Invalid batch payload format.") from exc
    items = _validate(payload)
    done: dict[str, asyncio.Task[dict[str, Any]]] = {}
    lanes: asyncio.Queue[Lane] = asyncio.Queue()
    for _ in range(FORWARD_AT_ONCE):
        lanes.put_nowait(Lane())

    async def one(item: dict[str, Any]) -> dict[str, Any]:
        deps = [done[d] for d in item.get("dependsOn") or []]
        results = [await d for d in deps]
        if any(r["status"] >= 400 for r in results):
            err = GraphError(424, "FailedDependency", "Dependent request failed.")
            return {
                "id": item["id"],
                "status": 424,
                "headers": {"Content-Type": "application/json"},
                "body": err.body(now=now, request_id=req.headers.get("client-request-id", "batch")),
            }
        ready = sandbox.limits.arrived()
        lane = await lanes.get()
        lane.begin(ready)
        try:
            reply = await sandbox.dispatch(_item_request(req, item, lane))
        finally:
            lane.end(sandbox.limits.arrived())
            lanes.put_nowait(lane)
        out: dict[str, Any] = {"id": item["id"], "status": reply.status, "headers": dict(reply.headers)}
        if reply.body is not None:
            out["body"] = reply.body
        return out

    # Creating tasks in order means each item's dependencies already have tasks to await.
    order = _topological(items)
    for item in order:
        done[item["id"]] = asyncio.ensure_future(one(item))
    responses = [await done[item["id"]] for item in items]
    return Reply(200, {"responses": responses})


def _topological(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    by_id = {i["id"]: i for i in items}
    seen: set[str] = set()
    stack: set[str] = set()
    out: list[dict[str, Any]] = []

    def visit(item_id: str) -> None:
        if item_id in seen:
            return
        if item_id in stack:
            raise bad_request("The dependsOn graph of the batch contains a cycle.")
        stack.add(item_id)
        for dep in by_id[item_id].get("dependsOn") or []:
            visit(dep)
        stack.discard(item_id)
        seen.add(item_id)
        out.append(by_id[item_id])

    for item in items:
        visit(item["id"])
    return out
