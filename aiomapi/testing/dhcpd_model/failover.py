"""Failover peers: ``failover-state``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address

from aiomapi.errors import ResultCode
from aiomapi.facts import FAILOVER_IGNORED_ATTRIBUTES, VALID_FAILOVER_STATES
from aiomapi.server.objects import AttributeValue, StatusError, int32
from aiomapi.typed.values import FailoverState

from ..layout import (
    FAILOVER_PORT,
    LAB_HBA,
    LAB_LOAD_BALANCE_MAX_SECONDS,
    LAB_MAX_RESPONSE_DELAY,
    LAB_MAX_UNACKED_UPDATES,
    LAB_MCLT,
    PRIMARY_PEER_ADDRESS,
    SECONDARY_PEER_ADDRESS,
)
from .base import ModelType, int32_value

__all__ = ["FailoverStateType", "FakeFailoverPeer"]


@dataclass(slots=True, eq=False)
class FakeFailoverPeer:
    """A failover peer's state object (docs/dhcpd-behaviour.md, "Failover"), fields in
    dhcpd's reply order. The defaults are the primary of a lab pair
    (:mod:`aiomapi.testing.layout`)."""

    name: bytes
    partner_address: str = SECONDARY_PEER_ADDRESS
    partner_port: int = FAILOVER_PORT
    local_address: str = PRIMARY_PEER_ADDRESS
    local_port: int = FAILOVER_PORT
    max_outstanding_updates: int = LAB_MAX_UNACKED_UPDATES
    mclt: int = LAB_MCLT
    load_balance_max_secs: int = LAB_LOAD_BALANCE_MAX_SECONDS
    load_balance_hba: bytes | None = LAB_HBA
    partner_state: int = int(FailoverState.NORMAL)
    local_state: int = int(FailoverState.NORMAL)
    partner_stos: int = 0
    local_stos: int = 0
    hierarchy: int = 0
    last_packet_sent: int = 0
    last_timestamp_received: int = 0
    skew: int = 0
    max_response_delay: int = LAB_MAX_RESPONSE_DELAY
    cur_unacked_updates: int = 0


class FailoverStateType(ModelType[FakeFailoverPeer]):
    """``failover-state`` (docs/dhcpd-behaviour.md, "Failover").

    Lookup: ``handle``, ``name``; no key → 27. Set: ``local-state`` (int32, stamps
    ``local-stos``); the other attributes dhcpd sends are accepted and ignored; anything
    else NOTFOUND. Create and delete → 27. Differences: a state outside the enum is
    INVALIDARG (dhcpd logs a fatal error and exits) and a null one too (dhcpd segfaults).
    """

    name = "failover-state"
    IGNORED = FAILOVER_IGNORED_ATTRIBUTES

    def lookup(self, keys: Mapping[str, bytes]) -> FakeFailoverPeer | None:
        found: FakeFailoverPeer | None = None
        raw = keys.get("handle")
        if raw is not None:
            found = self.model.by_handle(raw, FakeFailoverPeer)
        raw = keys.get("name")
        if raw is not None:
            peer = self.model.failover_peers.get(raw)
            if found is not None and peer is not found:
                raise StatusError(ResultCode.KEYCONFLICT)
            found = peer
            if found is None:
                return None
        if found is None:
            raise StatusError(ResultCode.NOKEYS)
        return found

    def set_value(self, obj: FakeFailoverPeer, name: str, value: bytes | None) -> None:
        if name == "local-state":
            state = int32_value(value)
            if state not in VALID_FAILOVER_STATES:
                raise StatusError(ResultCode.INVALIDARG)  # dhcpd: log_fatal, exits
            obj.local_state = state
            obj.local_stos = self.model.now()
        elif name not in self.IGNORED:
            raise StatusError(ResultCode.NOTFOUND)

    def remove(self, obj: FakeFailoverPeer) -> None:
        raise StatusError(ResultCode.NOTIMPLEMENTED)

    def values(self, obj: FakeFailoverPeer) -> list[tuple[str, AttributeValue]]:
        out: list[tuple[str, AttributeValue]] = [
            ("name", obj.name),
            ("partner-address", IPv4Address(obj.partner_address).packed + bytes(4)),
            ("partner-port", int32(obj.partner_port)),
            ("local-address", IPv4Address(obj.local_address).packed + bytes(4)),
            ("local-port", int32(obj.local_port)),
            ("max-outstanding-updates", int32(obj.max_outstanding_updates)),
            ("mclt", int32(obj.mclt)),
            ("load-balance-max-secs", int32(obj.load_balance_max_secs)),
        ]
        if obj.load_balance_hba is not None:
            out.append(("load-balance-hba", obj.load_balance_hba))
        out += [
            ("partner-state", int32(obj.partner_state)),
            ("local-state", int32(obj.local_state)),
            ("partner-stos", int32(obj.partner_stos)),
            ("local-stos", int32(obj.local_stos)),
            ("hierarchy", int32(obj.hierarchy)),
            ("last-packet-sent", int32(obj.last_packet_sent)),
            ("last-timestamp-received", int32(obj.last_timestamp_received)),
            ("skew", int32(obj.skew)),
            ("max-response-delay", int32(obj.max_response_delay)),
            ("cur-unacked-updates", int32(obj.cur_unacked_updates)),
        ]
        return out
