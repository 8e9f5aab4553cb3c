"""Test helpers for aiomapi users and its own test suite."""

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
