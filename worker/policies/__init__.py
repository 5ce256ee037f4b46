"""The programme model: program.yaml, policies.yaml and pairs.yaml, checked and resolved.

``load_programme(config_dir)`` is the one entry point; it returns a frozen ``Programme`` or raises
``ConfigError`` listing every problem as ``FILE:LINE:COL: message``. Imports here are lazy so that
``import worker.policies`` costs nothing until a programme is loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.policies.errors import ConfigError, Problem
    from worker.policies.load import load_programme
    from worker.policies.programme import (
        Agenda,
        AgendaItem,
        Blackout,
        FeedbackTemplate,
        Pair,
        Policy,
        ProgramInfo,
        Programme,
        Protect,
        pair_id,
    )
    from worker.policies.values import TimeWindow

_EXPORTS = {
    "ConfigError": "errors", "Problem": "errors", "load_programme": "load", "TimeWindow": "values",
    **dict.fromkeys(("Agenda", "AgendaItem", "Blackout", "FeedbackTemplate", "Pair", "Policy", "ProgramInfo",
                     "Programme", "Protect", "pair_id"), "programme"),
}  # fmt: skip
__all__ = [
    "Agenda", "AgendaItem", "Blackout", "ConfigError", "FeedbackTemplate", "Pair", "Policy", "Problem",
    "ProgramInfo", "Programme", "Protect", "TimeWindow", "load_programme", "pair_id",
]  # fmt: skip


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'worker.policies' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"worker.policies.{module}"), name)
