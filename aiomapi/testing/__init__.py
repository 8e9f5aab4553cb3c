"""Test helpers for aiomapi users and its own test suite.

* :class:`FakeDhcpd` (:mod:`.fake_dhcpd`): an in-memory dhcpd 4.4.3 serving OMAPI, built on
  :mod:`.dhcpd_model` (one module per family of dhcpd's object types);
* :mod:`.dhcpd_lab`: the real dhcpd in network namespaces, for integration tests;
* :mod:`.layout`: the data both start with (:func:`synthetic_leases` for the fake);
* :mod:`.pytest_plugin`: a ``fake_dhcpd`` fixture.
"""

from .dhcpd_model import (
    DhcpdModel,
    FakeClass,
    FakeControl,
    FakeFailoverPeer,
    FakeGroup,
    FakeHost,
    FakeInterface,
    FakeLease,
    FakePool,
    FakeSubclass,
    FakeSubnet,
)
from .fake_dhcpd import LAB_ENDS, FakeDhcpd, synthetic_leases

__all__ = [
    "LAB_ENDS",
    "DhcpdModel",
    "FakeClass",
    "FakeControl",
    "FakeDhcpd",
    "FakeFailoverPeer",
    "FakeGroup",
    "FakeHost",
    "FakeInterface",
    "FakeLease",
    "FakePool",
    "FakeSubclass",
    "FakeSubnet",
    "synthetic_leases",
]
