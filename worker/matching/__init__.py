"""``crossgen match``: proposing pairs from a pool of volunteers (pool file, reads, feasibility, output).

The pure assignment (scores, the optimal matching) is ``worker.core.matching``; this package reads
the pool file, the directory and the calendars, and judges each candidate pair with the planner's own
booking decision, so a proposed pair is one the next ``run`` can book.
"""
