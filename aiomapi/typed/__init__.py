"""The typed API: dhcpd values, typed objects, and the ``omapi.leases``/``hosts``/… managers.

Layers, each importing only those before it in this list (and, below the typed layer, the
sans-IO core, the asyncio bulk helper, errors and facts):

1. values: ``mac``, ``times``, ``enums``, ``coders``, ``attributes`` (one import: ``values``);
2. ``raw``: the untyped :class:`~aiomapi.typed.raw.OmapiObject`;
3. ``decoding`` and ``objects``: the frozen dataclasses, decoded from a reply's values;
4. ``keys`` and ``requests``: encoding what is sent, the client protocol, the requests;
5. the managers: ``leases``, ``hosts``, ``classes``, ``control`` (one import: ``managers``).

Nothing here imports :mod:`aiomapi.client`, which imports the managers.
"""
