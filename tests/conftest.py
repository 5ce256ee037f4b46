"""Fixtures shared by test folders."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reliability.served import Served, serve


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    """One ``crossgen sandbox serve`` process for a test module's real ``crossgen run`` subprocesses."""
    server = serve(seed=0)
    try:
        yield server
    finally:
        server.stop()
