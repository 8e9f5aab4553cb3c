"""Who serves a client on a live failover pair: read the pair over OMAPI, then decide.

The decision itself is :func:`aiomapi.failover.loadbalance.who_serves`; this module only
gathers its inputs from the servers' ``failover-state`` objects:

* the HBA, from the primary (the secondary's copy, received when the pair connected, is
  used when only the secondary can be read);
* each peer's ``load balance max seconds`` from that peer, since each reads its own
  configuration;
* each peer's local state from that peer.

When only one server can be asked, its view of the partner stands in for the partner:
the partner's last reported state while the two are in touch (normal), nothing at all in
partner-down (the operator has declared the partner down), and communications-interrupted
when the asked server itself is cut off: a partner that still runs cannot reach it
either, so it is in that state too.
"""

from __future__ import annotations

import dataclasses

from aiomapi import Client, FailoverHierarchy, FailoverPeer, FailoverState

from .loadbalance import (
    ClientIdLike,
    Decision,
    MacLike,
    MessageType,
    Role,
    StateLike,
    who_serves,
)

__all__ = ["explain_who_serves", "read_pair"]


def _role(peer: FailoverPeer) -> Role:
    if peer.hierarchy == FailoverHierarchy.PRIMARY:
        return "primary"
    if peer.hierarchy == FailoverHierarchy.SECONDARY:
        return "secondary"
    raise ValueError(f"failover peer {peer.name!r} reports an unknown hierarchy {peer.hierarchy}")


def _state_name(state: FailoverState | int | None) -> str:
    if state is None:
        return "not running"
    try:
        return FailoverState(state).dhcpd_name
    except ValueError:
        return f"state {int(state)}"


def _stand_in(seen: FailoverPeer) -> tuple[StateLike, str]:
    """The partner's state as the one server we could ask sees it, and why."""
    if seen.local_state == FailoverState.PARTNER_DOWN:
        return None, "it is in partner-down, so its partner is taken as not running"
    if seen.local_state == FailoverState.COMMUNICATIONS_INTERRUPTED:
        return FailoverState.COMMUNICATIONS_INTERRUPTED, (
            "it cannot reach its partner, so a partner that still runs is in "
            "communications-interrupted too"
        )
    return seen.partner_state, f"its partner last reported {_state_name(seen.partner_state)}"


async def read_pair(
    primary: Client, secondary: Client | None, peer_name: str
) -> dict[Role, FailoverPeer]:
    """The ``failover-state`` of ``peer_name`` on each server given, keyed by its role.

    The roles come from the servers (``hierarchy``), so the two clients may be given in
    either order.

    Raises:
        NotFound: a server has no failover peer of that name.
        ValueError: both servers claim the same role.
    """
    views: dict[Role, FailoverPeer] = {}
    for omapi in (primary, secondary):
        if omapi is None:
            continue
        peer = await omapi.failover.get(peer_name)
        role = _role(peer)
        if role in views:
            raise ValueError(f"both servers are the {role} of failover peer {peer_name!r}")
        views[role] = peer
    return views


async def explain_who_serves(
    primary: Client,
    secondary: Client | None,
    peer_name: str,
    *,
    mac: MacLike | None = None,
    client_id: ClientIdLike | None = None,
    secs: int = 0,
    message_type: MessageType = "DHCPDISCOVER",
) -> Decision:
    """Which peer of the live pair ``peer_name`` answers this client, and why.

    Args:
        primary: a client of one server of the pair (normally the primary).
        secondary: a client of the other server, or None to ask only ``primary``.
        peer_name: the ``failover peer`` name both servers use.
        mac, client_id, secs, message_type: the client's message, as for
            :func:`~aiomapi.failover.loadbalance.who_serves`.

    Returns:
        The decision; its reasons start with what was read from which server.

    Raises:
        NotFound: a server has no failover peer of that name.
        ValueError: both servers claim the same role, or the client's values are malformed.
        TypeError: neither ``mac`` nor ``client_id``.
        OmapiError: as raised by the clients.
    """
    views = await read_pair(primary, secondary, peer_name)
    reasons: list[str] = []
    states: dict[Role, StateLike] = {}
    for role, peer in views.items():
        states[role] = peer.local_state
        reasons.append(
            f"read from the {role}: local state {_state_name(peer.local_state)}, "
            f"load balance max seconds {peer.load_balance_max_secs}"
        )
    for role, other in (("primary", "secondary"), ("secondary", "primary")):
        if role not in views:
            seen = views[other]  # type: ignore[index]
            states[role], why = _stand_in(seen)
            reasons.append(f"the {role} was not asked; the {other} stands in for it: {why}")
    source = views.get("primary") or views["secondary"]
    max_secs = source.load_balance_max_secs
    other_max = views["secondary"].load_balance_max_secs if "secondary" in views else None
    if len(views) == 1:
        reasons.append("both peers are taken to have the same load balance max seconds")
    decision = who_serves(
        source.load_balance_hba,
        max_secs,
        mac=mac,
        client_id=client_id,
        secs=secs,
        primary_state=states["primary"],
        secondary_state=states["secondary"],
        secondary_max_secs=other_max,
        message_type=message_type,
    )
    return dataclasses.replace(decision, reasons=(*reasons, *decision.reasons))
