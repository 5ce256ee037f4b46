"""The sandbox's identity platform: discovery for MSAL, client credentials, and Graph's 401s."""

from __future__ import annotations

import asyncio
import base64
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msal
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from tests.sandbox.sandbox_client import FakeClock, Graph, run, with_graph
from worker.sandbox.app import SandboxApp, create_app


class AsgiForMsal:
    """MSAL's ``http_client``: https://sandbox/... goes to the in-process app over http, as the worker's
    transport maps https to http for loopback hosts."""

    def __init__(self, app: SandboxApp) -> None:
        self.transport = httpx.ASGITransport(app=app)
        self.calls: list[str] = []

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        self.calls.append(f"{method} {url}")

        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=self.transport) as client:
                response = await client.request(method, url.replace("https://", "http://", 1), **kwargs)
                await response.aread()
                return response

        return asyncio.run(go())

    def post(
        self, url: str, params: Any = None, data: Any = None, headers: Any = None, **_: Any
    ) -> httpx.Response:
        return self._send("POST", url, params=params, data=data, headers=headers)

    def get(self, url: str, params: Any = None, headers: Any = None, **_: Any) -> httpx.Response:
        return self._send("GET", url, params=params, headers=headers)


def _msal(app: SandboxApp, credential: Any) -> tuple[msal.ConfidentialClientApplication, AsgiForMsal]:
    http = AsgiForMsal(app)
    client = msal.ConfidentialClientApplication(
        app.credentials.client_id,
        client_credential=credential,
        authority=f"https://sandbox/{app.tenant.tenant_id}",
        http_client=http,
        instance_discovery=False,
    )
    return client, http


def test_msal_discovers_and_gets_a_token_that_graph_accepts() -> None:
    app = create_app(empty=True, clock=FakeClock())
    client, http = _msal(app, app.credentials.client_secret)
    result = client.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert result["token_type"] == "Bearer" and result["expires_in"] > 3000, result
    assert http.calls[0].startswith("GET https://sandbox/") and "openid-configuration" in http.calls[0]
    assert (
        client.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])["token_source"]
        == "cache"
    )

    async def use() -> int:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as h:
            r = await h.get("/v1.0/users", headers={"Authorization": f"Bearer {result['access_token']}"})
            return r.status_code

    assert run(use()) == 200


def test_openid_configuration_advertises_https_endpoints() -> None:
    app = create_app(empty=True)

    async def scenario() -> dict[str, Any]:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://127.0.0.1:8765"
        ) as h:
            return (await h.get(f"/{app.tenant.tenant_id}/v2.0/.well-known/openid-configuration")).json()

    doc = run(scenario())
    assert doc["token_endpoint"] == f"https://127.0.0.1:8765/{app.tenant.tenant_id}/oauth2/v2.0/token"
    for key in (
        "issuer",
        "authorization_endpoint",
        "jwks_uri",
        "device_authorization_endpoint",
        "end_session_endpoint",
    ):
        assert doc[key].startswith("https://"), key


def test_wrong_secret_and_unknown_client_get_identity_platform_errors() -> None:
    app = create_app(empty=True, clock=FakeClock())
    client, _ = _msal(app, "not-the-secret")
    result = client.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert result["error"] == "invalid_client" and result["error_codes"] == [7000215]
    assert result["error_description"].startswith("AADSTS7000215:")

    async def scenario(graph: Graph) -> None:
        url = f"/{graph.app.tenant.tenant_id}/oauth2/v2.0/token"
        base = {
            "grant_type": "client_credentials",
            "client_id": graph.app.credentials.client_id,
            "scope": "https://graph.microsoft.com/.default",
        }
        cases = [
            (
                {**base, "client_id": "00000000-0000-0000-0000-000000000000", "client_secret": "x"},
                400,
                700016,
            ),
            (base, 401, 7000216),
            (
                {**base, "client_secret": graph.app.credentials.client_secret, "scope": "User.Read"},
                400,
                1002012,
            ),
            (
                {**base, "client_secret": graph.app.credentials.client_secret, "grant_type": "password"},
                400,
                70003,
            ),
        ]
        for form, status, code in cases:
            response = await graph.http.post(url, data=form)
            assert response.status_code == status, form
            body = response.json()
            assert body["error_codes"] == [code] and {"trace_id", "correlation_id", "timestamp"} <= set(body)
        wrong_tenant = await graph.http.post(
            "/not-a-tenant/oauth2/v2.0/token",
            data={**base, "client_secret": graph.app.credentials.client_secret},
        )
        assert wrong_tenant.status_code == 400 and wrong_tenant.json()["error_codes"] == [90002]

    with_graph(scenario)


def test_graph_refuses_missing_foreign_and_expired_tokens() -> None:
    async def scenario(graph: Graph) -> None:
        await graph.add_user("lea")
        anonymous = await graph.http.get("/v1.0/users/lea@contoso.com")
        assert anonymous.status_code == 401
        error = anonymous.json()["error"]
        assert error == {**error, "code": "InvalidAuthenticationToken", "message": "Access token is empty."}
        assert "WWW-Authenticate" in anonymous.headers
        forged = await graph.http.get(
            "/v1.0/users/lea@contoso.com", headers={"Authorization": "Bearer a.b.c"}
        )
        assert forged.status_code == 401
        other = create_app(empty=True)
        foreign = await Graph(other).get_token()
        refused = await graph.http.get(
            "/v1.0/users/lea@contoso.com", headers={"Authorization": f"Bearer {foreign}"}
        )
        assert refused.status_code == 401
        graph.app.clock.advance(3600)
        expired = await graph.get("/users/lea@contoso.com")
        assert expired.status_code == 401
        assert expired.json()["error"]["message"] == "Lifetime validation failed, the token is expired."
        graph.token = await graph.get_token()
        assert (await graph.get("/users/lea@contoso.com")).status_code == 200

    with_graph(scenario)


def _certificate() -> tuple[rsa.RSAPrivateKey, bytes]:
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
    return key, cert.public_bytes(serialization.Encoding.PEM)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_certificate_assertions_are_verified_and_federated_ones_accepted() -> None:
    app = create_app(empty=True, clock=FakeClock(datetime.now(UTC)))
    key, cert_pem = _certificate()

    async def register() -> None:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as h:
            assert (await h.post("/_sandbox/certificates", content=cert_pem)).status_code == 200

    run(register())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    client, _ = _msal(app, {"private_key": pem.decode(), "public_certificate": cert_pem.decode()})
    result = client.acquire_token_for_client(scopes=["https://graph.microsoft.com/.default"])
    assert "access_token" in result, result

    # The same thumbprint signed by another key is refused.
    other, _ = _certificate()
    sha256 = x509.load_pem_x509_certificate(cert_pem).fingerprint(hashes.SHA256())
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT", "x5t#S256": _b64(sha256)}).encode())
    claims = _b64(
        json.dumps(
            {
                "iss": app.credentials.client_id,
                "sub": app.credentials.client_id,
                "aud": "x",
                "exp": 4102444800,
            }
        ).encode()
    )
    signature = _b64(other.sign(f"{header}.{claims}".encode(), padding.PKCS1v15(), hashes.SHA256()))
    form = {
        "grant_type": "client_credentials",
        "client_id": app.credentials.client_id,
        "scope": "https://graph.microsoft.com/.default",
        "client_assertion_type": "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    }

    async def post(assertion: str) -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://sandbox") as h:
            return await h.post(
                f"/{app.tenant.tenant_id}/oauth2/v2.0/token", data={**form, "client_assertion": assertion}
            )

    forged = run(post(f"{header}.{claims}.{signature}"))
    assert forged.status_code == 401 and forged.json()["error"] == "invalid_client"
    federated = run(post("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ3b3JrbG9hZCJ9.c2ln"))  # no registered cert named
    assert federated.status_code == 200
