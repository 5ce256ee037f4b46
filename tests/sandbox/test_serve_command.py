"""``crossgen sandbox serve``: one JSON line once listening, then a real Graph over loopback."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.sandbox.sandbox_client import served_token

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_serve_prints_its_connection_line_and_answers_graph() -> None:
    port = _free_port()
    crossgen = Path(sys.executable).with_name("crossgen")
    proc = subprocess.Popen(
        [
            str(crossgen),
            "sandbox",
            "serve",
            "--port",
            str(port),
            "--empty",
            "--faults",
            '{"mailbox_concurrency": 2}',
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # printed only once the socket is bound
        info = json.loads(line)
        assert info["graph_url"] == f"http://127.0.0.1:{port}/v1.0"
        env = info["env"]
        assert env["AZURE_AUTHORITY_HOST"] == f"http://127.0.0.1:{port}"
        assert (
            env["CROSSGEN_GRAPH_URL"] == info["graph_url"]
            and env["AZURE_CLIENT_SECRET"] == info["client_secret"]
        )
        with httpx.Client(timeout=10) as http:
            token = served_token(http, info)
            users = http.get(f"{info['graph_url']}/users", headers={"Authorization": f"Bearer {token}"})
            assert users.status_code == 200 and users.json()["value"] == []
            assert http.get(f"{info['graph_url']}/users").status_code == 401
            faults = http.get(info["graph_url"].replace("/v1.0", "/_sandbox/faults")).json()
            assert faults["mailbox_concurrency"] == 2
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
