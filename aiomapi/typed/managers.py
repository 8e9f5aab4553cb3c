"""The typed object API: ``omapi.leases``, ``omapi.hosts``, ``omapi.groups`` and friends.

Theory of operation
-------------------
Each manager holds a :class:`~aiomapi.typed.requests.Requester` — the
:class:`~aiomapi.Client`, of which it calls only ``request`` — and turns keyword arguments
into OMAPI requests (OPEN, REFRESH, UPDATE, DELETE), and reply messages into the frozen
dataclasses of :mod:`aiomapi.typed.objects`. One module per object family:

* :mod:`aiomapi.typed.keys` — what names an object and what is set on one, encoded and
  checked before anything is sent (:func:`lease_keys`, :func:`host_keys`);
* :mod:`aiomapi.typed.requests` — the client protocol, the request builders and the managers'
  base class;
* :mod:`aiomapi.typed.leases` — :class:`Leases`;
* :mod:`aiomapi.typed.hosts` — :class:`Hosts`;
* :mod:`aiomapi.typed.classes` — :class:`Groups`, :class:`Classes`, :class:`Subclasses`;
* :mod:`aiomapi.typed.control` — :class:`Failover`, :class:`Control`, :class:`Pools`.

Every family works the same way:

* **Lookups** encode their keys once with a pure function, do one OPEN without flags, and
  decode the reply message straight into the typed object. :meth:`Leases.get_by_keys` is the
  lookup alone, for keys built beforehand.
* **Changes** follow the safe pattern (docs/dhcpd-behaviour.md, "Messages and replies"): OPEN
  without flags to get the handle, then a client UPDATE with only the attributes to change,
  then a lookup by handle to return the new state. (An OPEN with ``update=1`` would re-apply
  the lookup keys as attributes, which dhcpd refuses for a lease's ``ip-address`` and a host's
  ``name``.)
* **Values that could hurt dhcpd**: the sans-IO core checks every request, whichever API
  built it (:mod:`aiomapi._sansio.safety`). The managers add what gives a caller a better
  answer before the first request: failover states outside the enum, lease states outside
  1..7, empty names, handles out of range are refused with
  :class:`~aiomapi.errors.LocalProtocolError` naming the argument.

This module re-exports them all, so ``from aiomapi.typed.managers import X`` keeps working.
"""

from __future__ import annotations

from aiomapi.typed.classes import Classes, Groups, Subclasses
from aiomapi.typed.control import Control, Failover, Pools
from aiomapi.typed.hosts import Hosts
from aiomapi.typed.keys import (
    ETHERNET,
    HostLookup,
    IdentifierLike,
    IPLike,
    Keys,
    LeaseLookup,
    MacLike,
    host_keys,
    lease_keys,
)
from aiomapi.typed.leases import Leases
from aiomapi.typed.leases import _LeaseChange as _LeaseChange  # read by the tests
from aiomapi.typed.requests import Requester

__all__ = [
    "ETHERNET",
    "Classes",
    "Control",
    "Failover",
    "Groups",
    "HostLookup",
    "Hosts",
    "IPLike",
    "IdentifierLike",
    "Keys",
    "LeaseLookup",
    "Leases",
    "MacLike",
    "Pools",
    "Requester",
    "Subclasses",
    "host_keys",
    "lease_keys",
]
