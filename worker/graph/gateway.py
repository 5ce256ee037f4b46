"""``Gateway``, under the name the reconcile edges import it by (``worker.graph.gateway``)."""

from worker.graph.ops import Gateway

__all__ = ["Gateway"]
