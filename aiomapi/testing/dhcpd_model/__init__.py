"""An in-memory model of dhcpd 4.4.3's OMAPI objects, as server object types.

Theory of operation
-------------------
:class:`DhcpdModel` (:mod:`.model`) holds the state a dhcpd keeps for OMAPI — leases with
their address, client-id and hardware indexes, hosts, groups, classes and subclasses,
failover peers, the control object, one subnet with one pool — and one
:class:`~aiomapi.server.objects.ObjectType` per dhcpd type that reproduces what dhcpd does
with it (docs/dhcpd-behaviour.md, "Objects" and "Failover"): lookup keys and the order they
are tried in, which attribute may be set and which error comes back, when objects are
entered, what a reply lists and in which order. One module per family of types:
:mod:`.leases` (lease, pool, subnet), :mod:`.hosts`, :mod:`.groups` (group, class,
subclass), :mod:`.failover` (failover-state), :mod:`.control` (control, interface, the
types without a lookup). The numbers and names they rely on come from :mod:`aiomapi.facts`.
Every rule was checked against a running dhcpd 4.4.3-P1; the tests in
``tests/dhcpd/test_behaviour.py`` keep checking it against both.

Where dhcpd crashes, exits or corrupts memory, the model answers with an error instead and
says so where it does (the docstrings of the ``*Type`` classes list each case;
docs/dhcpd-behaviour.md, "Requests that crash dhcpd"):

* a null value for lease ``state``/``ends``/``flags``, control ``state``, failover
  ``local-state``, group/class ``name`` (dhcpd segfaults) → INVALIDARG;
* a second null for the same lease binding variable (dhcpd segfaults) → INVALIDARG;
* failover ``local-state`` outside the state enum (dhcpd exits) → INVALIDARG.

Other known differences: a binding variable set over OMAPI reads back as 4 bytes, as in
dhcpd, but where dhcpd shows part of a heap address the model shows a made-up one;
failover ``partner-address``/``local-address`` are the IPv4 address padded to 8 bytes
(dhcpd leaks 8 bytes of a pointer), ``statements`` are checked by a keyword heuristic rather
than dhcpd's parser (:mod:`.statements`), nothing is written to a lease file, there is no
DHCP and no failover partner: states change only when a client (or the test) changes them.

The model reads the clock only through the ``clock`` callable it is given.
"""

from __future__ import annotations

from aiomapi.facts import HTYPE_ETHER, UNSEARCHABLE_TYPES
from aiomapi.facts import SENT_LEASE_FLAGS as SENT_FLAGS
from aiomapi.facts import SETTABLE_LEASE_FLAGS as SETTABLE_FLAGS

from .control import ControlType, FakeControl, FakeInterface, InterfaceType
from .failover import FailoverStateType, FakeFailoverPeer
from .groups import ClassType, FakeClass, FakeGroup, FakeSubclass, GroupType, SubclassType
from .hosts import FakeHost, HostType
from .leases import FakeLease, FakePool, FakeSubnet, LeaseType, PoolType, SubnetType
from .model import DhcpdModel
from .statements import statements_parse

__all__ = [
    "HTYPE_ETHER",
    "SENT_FLAGS",
    "SETTABLE_FLAGS",
    "UNSEARCHABLE_TYPES",
    "ClassType",
    "ControlType",
    "DhcpdModel",
    "FailoverStateType",
    "FakeClass",
    "FakeControl",
    "FakeFailoverPeer",
    "FakeGroup",
    "FakeHost",
    "FakeInterface",
    "FakeLease",
    "FakePool",
    "FakeSubclass",
    "FakeSubnet",
    "GroupType",
    "HostType",
    "InterfaceType",
    "LeaseType",
    "PoolType",
    "SubclassType",
    "SubnetType",
    "statements_parse",
]
