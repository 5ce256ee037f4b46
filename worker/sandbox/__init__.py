"""The sandbox: a stateful Microsoft Graph tenant on loopback, for ``crossgen demo``, end-to-end tests and
benchmarks. It shares no code with the worker (an import-linter contract): an emulator that reused the
worker's logic would agree with the worker's bugs.

Layout, by role:

- ``app``: the ASGI app (``create_app``), the identity platform's routes, and the ``/_sandbox/`` control
  surface (clock, counters, faults, certificates, acting as an attendee) that is clearly not Graph;
- ``service``: one ``Sandbox`` (tenant, clock, tokens, limits) and the pipeline every Graph call takes;
- ``router``: the request/response values shared by direct calls and ``$batch`` items;
- ``auth``: OIDC discovery, client-credentials tokens, bearer checks;
- ``directory``, ``calendar``, ``schedule``, ``mail``, ``batch``: the Graph resources; ``meetings``: what
  event writes do to the organizer's meeting and every attendee's copy; ``series``: occurrences;
- ``render``, ``odata``, ``timeutil``: Graph's shapes, query options and time formats;
- ``store``: the records; ``seed``: the demo tenant; ``faults``: limits, injected faults, counters;
- ``schema``, ``recurrence``, ``zones``: validation against Microsoft's CSDL, Exchange's recurrence
  expansion and Windows/IANA/custom zones, each the sandbox's own.
"""
