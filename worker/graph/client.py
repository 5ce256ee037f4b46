"""The msgraph-sdk client, assembled the way crossgen needs it.

Decisions, each a trap of the stock setup (NOTES §8):
- the base URL is set on the adapter explicitly, without a trailing slash: httpx would otherwise turn
  ``…/v1.0`` into ``…/v1.0//users/…``;
- kiota's RetryHandler is left out of the middleware chain: it re-sends POSTs on 503/504 (a second meeting,
  a second email) and cannot read ``Retry-After: 2.128``. Our one retry layer is ``worker.graph.retry``;
- every request asks for immutable ids (``Prefer: IdType="ImmutableId"``), added by a middleware so no call
  site can forget it, merged with any other ``Prefer`` a request sets;
- pacing (``worker.graph.pacing``) is a middleware too, so every HTTP request, retries included, is counted
  and limited per mailbox.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import urlsplit

import httpx
from kiota_abstractions.authentication import BaseBearerTokenAuthenticationProvider
from kiota_http.middleware import (
    HeadersInspectionHandler,
    ParametersNameDecodingHandler,
    RedirectHandler,
    UrlReplaceHandler,
    UserAgentHandler,
)
from kiota_http.middleware.middleware import BaseMiddleware
from kiota_http.middleware.options import UrlReplaceHandlerOption
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph_core import GraphClientFactory

from worker.graph.auth import MsalTokenProvider
from worker.graph.errors import AuthError
from worker.graph.pacing import PACED, Pacer

DEFAULT_GRAPH_URL = "https://graph.microsoft.com/v1.0"
IMMUTABLE_ID = 'IdType="ImmutableId"'


def graph_url_from_env(env: Mapping[str, str] | None = None) -> str:
    """``CROSSGEN_GRAPH_URL`` without a trailing slash; plain http only for a loopback sandbox."""
    env = os.environ if env is None else env
    url = (env.get("CROSSGEN_GRAPH_URL") or DEFAULT_GRAPH_URL).strip().rstrip("/")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise AuthError(f"CROSSGEN_GRAPH_URL is not a URL: {url!r}")
    from worker.graph.auth import is_loopback

    if parts.scheme == "http" and not is_loopback(parts.hostname):
        raise AuthError("CROSSGEN_GRAPH_URL may use plain http only on a loopback address")
    return url


def prefer_immutable_ids(prefer: str) -> str:
    """A ``Prefer`` header's value that also asks for immutable ids (unless it names an id type)."""
    if "idtype=" in prefer.lower():
        return prefer
    return f"{prefer}, {IMMUTABLE_ID}" if prefer else IMMUTABLE_ID


class ImmutableIdHandler(BaseMiddleware):
    """Adds ``IdType="ImmutableId"`` to the ``Prefer`` header of every request."""

    async def send(self, request: httpx.Request, transport: httpx.AsyncBaseTransport) -> httpx.Response:
        request.headers["Prefer"] = prefer_immutable_ids(request.headers.get("Prefer", ""))
        return await super().send(request, transport)


class PacingHandler(BaseMiddleware):
    """Holds each HTTP request to its mailbox's concurrency and request budget (see ``pacing``), except a
    ``$batch``, which the batcher sends in the slots it holds for it (``Pacer.free_slots``)."""

    def __init__(self, pacer: Pacer) -> None:
        super().__init__()
        self._pacer = pacer

    async def send(self, request: httpx.Request, transport: httpx.AsyncBaseTransport) -> httpx.Response:
        if PACED.get():  # a batch sent in the slots it was filled for (``Pacer.free_slots``)
            return await super().send(request, transport)
        async with self._pacer.slot(self._pacer.mailbox_of(request.url.path)):
            return await super().send(request, transport)


def build_graph_client(
    token_provider: MsalTokenProvider,
    *,
    graph_url: str,
    pacer: Pacer,
    http_client: httpx.AsyncClient | None = None,
) -> tuple[GraphServiceClient, GraphRequestAdapter]:
    """A GraphServiceClient whose requests carry our token, our Prefer header and our pacing, with no
    retries of its own. ``http_client`` is injectable (respx, or ``httpx.ASGITransport`` for the sandbox)."""
    client = http_client or httpx.AsyncClient(timeout=httpx.Timeout(100.0, connect=30.0))
    middleware: list[BaseMiddleware] = [
        RedirectHandler(),
        ParametersNameDecodingHandler(),
        UrlReplaceHandler(
            UrlReplaceHandlerOption(enabled=True, replacement_pairs={"/users/me-token-to-replace": "/me"})
        ),
        UserAgentHandler(),
        HeadersInspectionHandler(),
        ImmutableIdHandler(),
        PacingHandler(pacer),
    ]
    wrapped = GraphClientFactory.create_with_custom_middleware(middleware, client=client)
    auth = BaseBearerTokenAuthenticationProvider(token_provider)
    adapter = GraphRequestAdapter(auth, client=wrapped)
    adapter.base_url = graph_url
    return GraphServiceClient(request_adapter=adapter), adapter
