"""Identity over the wire: MSAL's token endpoint through our httpx adapter, every credential form, 401s."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs

import httpx
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tests.graph.conftest import (
    CANARY_SECRET,
    CANARY_TOKEN,
    GRAPH,
    TENANT,
    Wire,
    base_env,
    make_gateway,
    mount_login,
)
from worker.graph.auth import REUSE_MARGIN, AuthSettings, Identity, LoopbackHttpTransport, MsalTokenProvider
from worker.graph.errors import AuthError
from worker.graph.ops import Gateway

pytestmark = pytest.mark.anyio

SETTINGS_URL = f"{GRAPH}/users/a@contoso.com/mailboxSettings"


def form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def jwt_header(token: str) -> dict[str, str]:
    head = token.split(".")[0]
    return json.loads(base64.urlsafe_b64decode(head + "=" * (-len(head) % 4)))


def make_certificate() -> tuple[rsa.RSAPrivateKey, x509.Certificate]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "crossgen-test")])
    now = datetime(2026, 1, 1, tzinfo=UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return key, cert


async def test_token_is_fetched_once_and_sent_as_bearer(wire: Wire, gateway: Gateway) -> None:
    route = wire.router.get(SETTINGS_URL).mock(return_value=httpx.Response(200, json={"timeZone": "UTC"}))
    await gateway.mailbox_zone("a@contoso.com")
    await gateway.mailbox_zone("a@contoso.com")
    assert len(wire.token_requests) == 1
    assert form(wire.token_requests[0])["grant_type"] == "client_credentials"
    assert form(wire.token_requests[0])["scope"] == "https://graph.microsoft.com/.default"
    assert all(c.request.headers["Authorization"] == f"Bearer {CANARY_TOKEN}" for c in route.calls)


async def test_a_401_drops_the_cached_token_and_retries_once(wire: Wire, gateway: Gateway) -> None:
    wire.tokens = ["eyJold.token.one", "eyJnew.token.two"]
    route = wire.router.get(SETTINGS_URL).mock(
        side_effect=[
            httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken", "message": "expired"}}),
            httpx.Response(200, json={"timeZone": "UTC"}),
        ]
    )
    await gateway.mailbox_zone("a@contoso.com")
    assert len(wire.token_requests) == 2
    assert [c.request.headers["Authorization"] for c in route.calls] == [
        "Bearer eyJold.token.one",
        "Bearer eyJnew.token.two",
    ]
    assert wire.sleep.waits == []


async def test_a_second_401_is_an_auth_error(wire: Wire, gateway: Gateway) -> None:
    route = wire.router.get(SETTINGS_URL).mock(
        return_value=httpx.Response(
            401, json={"error": {"code": "InvalidAuthenticationToken", "message": "no"}}
        )
    )
    with pytest.raises(AuthError) as caught:
        await gateway.mailbox_zone("a@contoso.com")
    assert route.call_count == 2 and caught.value.status == 401


async def test_the_secret_file_is_preferred_to_the_variable(wire: Wire, tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_text("from-the-file-secret\n")
    gateway = make_gateway(
        wire, base_env(AZURE_CLIENT_SECRET="from-the-variable", AZURE_CLIENT_SECRET_FILE=str(secret_file))
    )
    wire.router.get(SETTINGS_URL).mock(return_value=httpx.Response(200, json={"timeZone": "UTC"}))
    await gateway.mailbox_zone("a@contoso.com")
    assert form(wire.token_requests[0])["client_secret"] == "from-the-file-secret"


async def test_the_federated_token_file_is_read_again_for_every_token_request(
    wire: Wire, tmp_path: Path
) -> None:
    token_file = tmp_path / "azure-identity-token"
    token_file.write_text("federated-assertion-one")
    env = {"AZURE_TENANT_ID": TENANT, "AZURE_CLIENT_ID": "cid", "AZURE_FEDERATED_TOKEN_FILE": str(token_file)}
    gateway = make_gateway(wire, env)
    wire.tokens = ["eyJa.b.c", "eyJd.e.f"]
    wire.router.get(SETTINGS_URL).mock(
        side_effect=[
            httpx.Response(200, json={"timeZone": "UTC"}),
            httpx.Response(401, json={"error": {"code": "InvalidAuthenticationToken", "message": "x"}}),
            httpx.Response(200, json={"timeZone": "UTC"}),
        ]
    )
    await gateway.mailbox_zone("a@contoso.com")
    token_file.write_text("federated-assertion-two")  # the kubelet rotated it
    await gateway.mailbox_zone("a@contoso.com")
    sent = [form(r) for r in wire.token_requests]
    assert [s["client_assertion"] for s in sent] == ["federated-assertion-one", "federated-assertion-two"]
    assert sent[0]["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


@pytest.mark.parametrize("kind", ["pem", "pfx"])
async def test_a_certificate_signs_a_client_assertion_with_its_sha256_thumbprint(
    wire: Wire, tmp_path: Path, kind: str
) -> None:
    key, cert = make_certificate()
    password = b"cert-password-123"
    path = tmp_path / f"cert.{kind}"
    if kind == "pem":
        path.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.BestAvailableEncryption(password),
            )
            + cert.public_bytes(serialization.Encoding.PEM)
        )
    else:
        path.write_bytes(
            pkcs12.serialize_key_and_certificates(
                b"crossgen", key, cert, None, serialization.BestAvailableEncryption(password)
            )
        )
    env = {
        "AZURE_TENANT_ID": TENANT,
        "AZURE_CLIENT_ID": "cid",
        "AZURE_CLIENT_CERTIFICATE_PATH": str(path),
        "AZURE_CLIENT_CERTIFICATE_PASSWORD": password.decode(),
    }
    gateway = make_gateway(wire, env)
    wire.router.get(SETTINGS_URL).mock(return_value=httpx.Response(200, json={"timeZone": "UTC"}))
    await gateway.mailbox_zone("a@contoso.com")
    header = jwt_header(form(wire.token_requests[0])["client_assertion"])
    expected = base64.urlsafe_b64encode(cert.fingerprint(hashes.SHA256())).decode().rstrip("=")
    assert header["x5t#S256"].rstrip("=") == expected
    assert header["alg"] == "PS256"


def test_a_wrong_certificate_password_is_an_auth_error(tmp_path: Path) -> None:
    key, cert = make_certificate()
    path = tmp_path / "cert.pfx"
    path.write_bytes(
        pkcs12.serialize_key_and_certificates(
            b"x", key, cert, None, serialization.BestAvailableEncryption(b"right-password")
        )
    )
    settings = AuthSettings.from_env(
        {
            "AZURE_TENANT_ID": TENANT,
            "AZURE_CLIENT_ID": "c",
            "AZURE_CLIENT_CERTIFICATE_PATH": str(path),
            "AZURE_CLIENT_CERTIFICATE_PASSWORD": "wrong-password",
        }
    )
    with pytest.raises(AuthError, match="wrong password or format"):
        Identity(settings, http_client=httpx.Client())


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"AZURE_CLIENT_ID": "c", "AZURE_CLIENT_SECRET": "s"}, "missing AZURE_TENANT_ID"),
        ({"AZURE_TENANT_ID": "t", "AZURE_CLIENT_ID": "c"}, "no credential"),
    ],
)
def test_incomplete_configuration_is_an_auth_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(AuthError, match=message):
        AuthSettings.from_env(env)


def test_plain_http_authority_is_refused_unless_loopback() -> None:
    settings = AuthSettings.from_env(base_env(AZURE_AUTHORITY_HOST="http://login.example.com"))
    with pytest.raises(AuthError, match="loopback"):
        Identity(settings, http_client=httpx.Client())


async def test_a_loopback_sandbox_authority_and_graph_url_work_over_plain_http(wire: Wire) -> None:
    local = "http://127.0.0.1:8765"
    mount_login(wire.router, wire, base=local)
    env = base_env(AZURE_AUTHORITY_HOST=local + "/", CROSSGEN_GRAPH_URL=f"{local}/v1.0/")
    gateway = make_gateway(wire, env)
    route = wire.router.get(f"{local}/v1.0/users/a@contoso.com/mailboxSettings").mock(
        return_value=httpx.Response(200, json={"timeZone": "UTC"})
    )
    await gateway.mailbox_zone("a@contoso.com")
    assert route.calls.last.request.url.raw_path.decode() == "/v1.0/users/a%40contoso.com/mailboxSettings"
    assert route.calls.last.request.headers["Authorization"] == f"Bearer {CANARY_TOKEN}"
    assert wire.token_requests[0].url.scheme == "http"


def test_the_https_rewrite_applies_to_loopback_hosts_only() -> None:
    seen: list[str] = []

    def record(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200)

    with httpx.Client(transport=LoopbackHttpTransport(httpx.MockTransport(record))) as client:
        for url in (
            "https://127.0.0.1:9/x",
            "https://[::1]:9/x",
            "https://localhost:9/x",
            "https://login.microsoftonline.com/x",
            "https://127.0.0.1.evil.com/x",
        ):
            client.get(url)
    assert seen == [
        "http://127.0.0.1:9/x",
        "http://[::1]:9/x",
        "http://localhost:9/x",
        "https://login.microsoftonline.com/x",
        "https://127.0.0.1.evil.com/x",
    ]


async def test_no_token_is_given_to_hosts_other_than_graph(wire: Wire) -> None:
    settings = AuthSettings.from_env(base_env())
    provider = MsalTokenProvider(Identity(settings, http_client=httpx.Client()), ["graph.microsoft.com"])
    assert await provider.get_authorization_token("https://evil.example.com/v1.0/users") == ""
    assert wire.token_requests == []
    assert await provider.get_authorization_token(f"{GRAPH}/users") == CANARY_TOKEN


async def test_a_refused_client_secret_is_an_auth_error_that_names_no_secret(wire: Wire) -> None:
    wire.router.post(f"https://login.microsoftonline.com/{TENANT}/oauth2/v2.0/token").mock(
        return_value=httpx.Response(
            401,
            json={
                "error": "invalid_client",
                "error_codes": [7000215],
                "error_description": f"bad secret {CANARY_SECRET}",
            },
        )
    )
    gateway = make_gateway(wire)
    with pytest.raises(AuthError) as caught:
        await gateway.mailbox_zone("a@contoso.com")
    assert "invalid_client" in str(caught.value) and CANARY_SECRET not in str(caught.value)


async def test_closing_the_gateway_closes_both_http_clients(wire: Wire) -> None:
    graph_client, token_client = httpx.AsyncClient(), httpx.Client()
    from worker.graph.ops import Gateway as Built

    gateway = Built.from_env(
        base_env(),
        http_client=graph_client,
        token_http_client=token_client,
        sleep=wire.sleep,
        clock=wire.clock,
    )
    await gateway.aclose()
    assert graph_client.is_closed and token_client.is_closed


async def test_concurrent_first_requests_share_one_token_request(wire: Wire, gateway: Gateway) -> None:
    import asyncio

    wire.router.get(url__regex=r".*/mailboxSettings").mock(
        return_value=httpx.Response(200, json={"timeZone": "UTC"})
    )
    await asyncio.gather(*(gateway.mailbox_zone(f"p{i}@contoso.com") for i in range(12)))
    assert len(wire.token_requests) == 1


class _CountingIdentity:
    """Stands in for Identity: hands out numbered tokens good for ``lifetime`` seconds."""

    def __init__(self, lifetime: float = 3599.0) -> None:
        self.asked = 0
        self.lifetime = lifetime
        self.invalidated = 0

    def token_and_lifetime(self) -> tuple[str, float]:
        self.asked += 1
        return f"token-{self.asked}", self.lifetime

    def invalidate(self) -> None:
        self.invalidated += 1


def test_the_token_provider_reuses_a_token_until_shortly_before_it_expires() -> None:
    now = [1000.0]
    identity = _CountingIdentity()
    provider = MsalTokenProvider(identity, ["graph.example"], clock=lambda: now[0])  # type: ignore[arg-type]
    url = "https://graph.example/v1.0/users"

    async def scenario() -> list[str]:
        got = [await provider.get_authorization_token(url) for _ in range(3)]
        now[0] += 3599 - REUSE_MARGIN - 1
        got.append(await provider.get_authorization_token(url))  # still good
        now[0] += 2
        got.append(await provider.get_authorization_token(url))  # within the margin: MSAL again
        provider.invalidate()  # a 401
        got.append(await provider.get_authorization_token(url))
        got.append(await provider.get_authorization_token("https://elsewhere.example/x"))
        return got

    assert asyncio.run(scenario()) == ["token-1"] * 4 + ["token-2", "token-3", ""]
    assert identity.asked == 3 and identity.invalidated == 1


def test_a_token_fetched_across_an_invalidation_is_not_kept() -> None:
    identity = _CountingIdentity()
    provider = MsalTokenProvider(identity, ["graph.example"])  # type: ignore[arg-type]
    url = "https://graph.example/v1.0/users"
    fetch = identity.token_and_lifetime

    def invalidated_meanwhile() -> tuple[str, float]:
        provider.invalidate()  # another request's 401 lands while this fetch is in its thread
        return fetch()

    async def scenario() -> list[str]:
        identity.token_and_lifetime = invalidated_meanwhile  # type: ignore[method-assign]
        first = await provider.get_authorization_token(url)
        identity.token_and_lifetime = fetch  # type: ignore[method-assign]
        return [first, await provider.get_authorization_token(url)]

    assert asyncio.run(scenario()) == ["token-1", "token-2"]


def test_a_short_lived_token_is_never_reused() -> None:
    identity = _CountingIdentity(lifetime=60.0)
    provider = MsalTokenProvider(identity, ["graph.example"])  # type: ignore[arg-type]

    async def scenario() -> list[str]:
        return [await provider.get_authorization_token("https://graph.example/v1.0/x") for _ in range(2)]

    assert asyncio.run(scenario()) == ["token-1", "token-2"]
