"""The Graph gateway: the only package that talks to Microsoft Graph (see ``ops.Gateway``).

Importing the package is cheap; the SDK is loaded only when ``Gateway`` (or a module that needs it) is
used, so ``crossgen --help`` and ``validate`` never pay for msgraph. ``worker.graph.errors`` is light too.
"""

from __future__ import annotations

from typing import Any

__all__ = ["Gateway"]


def __getattr__(name: str) -> Any:
    if name == "Gateway":
        from worker.graph.ops import Gateway

        return Gateway
    raise AttributeError(name)
