"""The failover checks of one file: each peer declaration, the values dhcpd uses, the pools.

Theory of operation
-------------------
:func:`read_peer` reads a ``failover peer`` block with the grammar of
:mod:`aiomapi.config.failover` (its table and value readers), but leniently: where that reader
stops at the first problem, this one notes every problem as a :class:`Finding`, skips the
statement, and goes on, so that one run lists them all. It returns the peer as far as it reads;
a block without a problem reads exactly as :func:`~aiomapi.config.failover.read_failover_peer`
reads it (a unit test holds the two together).

Then each setting the declaration leaves out is reported with the value dhcpd uses instead
(:class:`Effective`): measured on dhcpd 4.4.3 by reading ``failover-state`` back over OMAPI from
a pair started without them (tests/dhcpd/test_config_check_dhcpd.py).

:func:`pool_findings` looks at the address plan: a pool or range without a failover peer in a
subnet (or shared network) whose other pools have one is served by both servers independently.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from aiomapi import FailoverHierarchy
from aiomapi.leasefile import lexer

from .check_report import Finding, Severity
from .failover import (
    _LOAD_BALANCE,
    _NUMBERS,
    HBA_LENGTH,
    INT_MAX,
    address_or_name,
    end_here,
    number,
)
from .model import (
    Config,
    ConfigError,
    FailoverPeerConfig,
    Location,
    Pool,
    Range,
    Statement,
    Token,
)
from .source import Node

__all__ = [
    "DEFAULT_MAX_RESPONSE_DELAY",
    "DEFAULT_MAX_UNACKED_UPDATES",
    "DEFAULT_PORT",
    "Effective",
    "effective",
    "peer_findings",
    "pool_findings",
    "read_peer",
]

#: What dhcpd 4.4.3 uses without ``max-response-delay``: read back over OMAPI from a pair
#: started without it (test_omitted_settings_are_what_the_running_pair_uses).
DEFAULT_MAX_RESPONSE_DELAY: Final = 20
#: Without ``max-unacked-updates`` (OMAPI ``max-outstanding-updates``), the same test.
DEFAULT_MAX_UNACKED_UPDATES: Final = 100
#: Without ``port`` or ``peer port`` (OMAPI ``local-port``, ``partner-port``), the same test.
DEFAULT_PORT: Final = 647
#: ``load balance max seconds`` 0, or none, turns load balancing off (dhcpd warns).
LOAD_BALANCE_OFF: Final = 0

_REFUSES: Final = "refuses the whole file"


@dataclass(frozen=True, slots=True)
class Effective:
    """The values a peer runs with, as ``failover-state`` shows them over OMAPI.

    ``None`` where the file alone cannot say: a secondary's ``mclt`` and hash buckets come
    from its primary.
    """

    hierarchy: FailoverHierarchy
    mclt: int | None
    max_response_delay: int
    max_outstanding_updates: int
    load_balance_max_secs: int
    hba: bytes | None
    local_port: int
    partner_port: int


def effective(peer: FailoverPeerConfig, partner: FailoverPeerConfig | None = None) -> Effective:
    """What dhcpd runs ``peer`` with; ``partner`` (the other side's declaration) fills in a
    secondary's ``mclt`` and hash buckets."""
    role = peer.role or FailoverHierarchy.PRIMARY
    source = peer if role is FailoverHierarchy.PRIMARY else partner
    return Effective(
        hierarchy=role,
        mclt=None if source is None else source.mclt,
        max_response_delay=_or(peer.max_response_delay, DEFAULT_MAX_RESPONSE_DELAY),
        max_outstanding_updates=_or(peer.max_unacked_updates, DEFAULT_MAX_UNACKED_UPDATES),
        load_balance_max_secs=_or(peer.load_balance_max_seconds, LOAD_BALANCE_OFF),
        hba=None if source is None else source.hash_buckets,
        local_port=peer.port or DEFAULT_PORT,
        partner_port=peer.peer_port or DEFAULT_PORT,
    )


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


# ----------------------------------------------------------------- one declaration


def read_peer(
    name: str, location: Location, body: tuple[Node, ...]
) -> tuple[FailoverPeerConfig, list[Finding]]:
    """The peer ``body`` declares, as far as it reads, and a finding for each statement that
    does not (see the module docstring)."""
    values: dict[str, Any] = {}
    statements: list[Statement] = []
    findings: list[Finding] = []
    for node in body:
        tokens = node.statement.tokens
        try:
            keyword, partner = _read_statement(tokens, node.block is not None, values)
        except ConfigError as exc:
            findings.append(_statement_finding(name, tokens, exc))
            continue
        statements.append(Statement(("peer " if partner else "") + keyword, tokens))
    peer = FailoverPeerConfig(name, location=location, statements=tuple(statements), **values)
    return peer, findings


def _read_statement(
    tokens: tuple[Token, ...], has_block: bool, values: dict[str, Any]
) -> tuple[str, bool]:
    """Read one statement into ``values``; returns its keyword and whether it is a ``peer``
    one. The grammar is :func:`aiomapi.config.failover.read_failover_peer`'s."""
    i = 0
    while i < len(tokens) and tokens[i].text.lower() == "peer":
        i += 1
    if i == len(tokens):
        raise ConfigError("expected a statement after 'peer'", tokens[-1].location)
    kw_tok = tokens[i]
    kw = kw_tok.text.lower()
    args = tokens[i + 1 :]
    if has_block:
        raise ConfigError("invalid statement in peer declaration: a block", kw_tok.location)
    if kw in ("primary", "secondary"):
        end_here(tokens, i + 1, repr(kw))
        values["role"] = (
            FailoverHierarchy.PRIMARY if kw == "primary" else FailoverHierarchy.SECONDARY
        )
        return kw, False
    if kw == "address":
        if not args:
            raise ConfigError("address: expected an address", kw_tok.location)
        end_here(tokens, i + 2, "the address")
        partner = i > 0
        values["peer_address" if partner else "address"] = address_or_name(args[0], kw)
        return kw, partner
    if kw in _NUMBERS:
        field, partner_field, maximum = _NUMBERS[kw]
        if not args:
            raise ConfigError(f"{kw}: expected a number", kw_tok.location)
        end_here(tokens, i + 2, f"the {kw} value")
        partner = i > 0 and partner_field != field
        values[partner_field if partner else field] = number(args[0], maximum, kw)
        return kw, partner
    if kw == "hba":
        hba = lexer.data([t.text for t in args]) if args and args[0].text[0] != '"' else None
        if hba is None or len(hba) != HBA_LENGTH:
            raise ConfigError(
                f"hba: expected {HBA_LENGTH} bytes in colon-separated hex", kw_tok.location
            )
        values["hba"] = hba
        return kw, False
    if kw == "load":
        words = tuple(t.text.lower() for t in args[:3])
        if words != _LOAD_BALANCE or len(args) < 4:
            raise ConfigError("expected 'load balance max seconds <number>;'", kw_tok.location)
        end_here(tokens, i + 5, "the load balance max seconds value")
        values["load_balance_max_seconds"] = number(args[3], INT_MAX, "load balance")
        return "load balance max seconds", False
    raise ConfigError(f"invalid statement in peer declaration: {kw_tok.text!r}", kw_tok.location)


def _statement_finding(name: str, tokens: tuple[Token, ...], exc: ConfigError) -> Finding:
    words = [t.text.lower() for t in tokens if t.text.lower() != "peer"]
    if words and words[0] == "port" and "is more than" in exc.message:
        # dhcpd reads the number with atoi() and never checks it (dhcpd -t accepts it).
        return Finding(
            Severity.WARNING,
            "peer-bad-value",
            f"failover peer {name!r}: {exc.message}: not a TCP port",
            "accepts it without a word (dhcpd -t exits 0): it does not check the range",
            "use a port from 1 to 65535 (dhcpd's default is 647), the same as the partner's "
            "'peer port'",
            exc.location,
        )
    if exc.message.startswith("invalid statement"):
        return Finding(
            Severity.ERROR,
            "peer-bad-statement",
            f"failover peer {name!r}: {exc.message}",
            f"{_REFUSES} ('invalid statement in peer declaration'), and then every pool that "
            f"names the peer ('failover peer {name}: not found')",
            "use only the statements dhcpd.conf(5) lists for a peer declaration; check the "
            "spelling",
            exc.location,
        )
    return Finding(
        Severity.ERROR,
        "peer-bad-value",
        f"failover peer {name!r}: {exc.message}",
        f"{_REFUSES}, and then every pool that names the peer ('failover peer {name}: not found')",
        "write the value as dhcpd reads it: decimal numbers, dotted IPv4 addresses or host "
        "names, hba as 32 colon-separated hex bytes",
        exc.location,
    )


def peer_findings(peer: FailoverPeerConfig) -> list[Finding]:
    """What ``peer`` leaves out or sets where dhcpd ignores or refuses it."""
    at = peer.location
    name = peer.name
    found: list[Finding] = []
    role = peer.role
    if peer.peer_address is None:
        found.append(
            Finding(
                Severity.ERROR,
                "peer-no-peer-address",
                f"failover peer {name!r} has no 'peer address'",
                f"{_REFUSES} ('peer address may not be omitted')",
                "add 'peer address ADDRESS;': where the partner listens for this server",
                at,
            )
        )
    if peer.address is None:
        found.append(
            Finding(
                Severity.NOTE,
                "peer-no-address",
                f"failover peer {name!r} has no 'address'",
                "accepts it; the partner matches this server's connections by their source "
                "address, which must then be the partner's 'peer address'",
                "add 'address ADDRESS;' (this server's address on the failover link), as the "
                "partner's 'peer address' says",
                at,
            )
        )
    if role is None:
        found.append(
            Finding(
                Severity.WARNING,
                "peer-no-role",
                f"failover peer {name!r} says neither 'primary;' nor 'secondary;'",
                "takes it for a primary, which must have 'split' or 'hba' and 'mclt'",
                "write 'primary;' on one server and 'secondary;' on the other",
                at,
            )
        )
    if role is FailoverHierarchy.SECONDARY:
        found += _secondary_findings(peer)
    else:
        found += _primary_findings(peer)
    found += _omitted_findings(peer)
    return found


def _primary_findings(peer: FailoverPeerConfig) -> list[Finding]:
    found = []
    name = peer.name
    if peer.hash_buckets is None:
        found.append(
            Finding(
                Severity.ERROR,
                "peer-primary-no-split",
                f"failover peer {name!r} is a primary without 'split' or 'hba'",
                f"{_REFUSES} ('primary failover server must have hba or split.')",
                "add 'split 128;' (the primary answers half of the clients)",
                peer.location,
            )
        )
    if not peer.mclt:
        found.append(
            Finding(
                Severity.ERROR,
                "peer-primary-no-mclt",
                f"failover peer {name!r} is a primary without a non-zero 'mclt'",
                f"{_REFUSES} ('primary failover server must have mclt.')",
                "add 'mclt 3600;' (seconds; the secondary learns it from the primary)",
                peer.location,
            )
        )
    buckets = peer.hash_buckets
    if buckets is not None and len(set(buckets)) == 1 and buckets[0] in (0x00, 0xFF):
        st = peer.statement("split") or peer.statement("hba")
        answers = "the primary" if buckets[0] == 0xFF else "the secondary"
        found.append(
            Finding(
                Severity.NOTE,
                "peer-split-one-sided",
                f"failover peer {name!r}: every hash bucket belongs to {answers}",
                f"while both are normal, {answers} answers every DHCPDISCOVER; the other "
                "answers only when it is on its own",
                "use 'split 128;' to share the clients, if that is not the intent",
                st.location if st is not None else peer.location,
            )
        )
    return found


def _secondary_findings(peer: FailoverPeerConfig) -> list[Finding]:
    found = []
    name = peer.name
    for st in peer.statements:
        if st.keyword in ("split", "hba"):
            found.append(
                Finding(
                    Severity.ERROR,
                    "peer-split-on-secondary",
                    f"failover peer {name!r} is a secondary and sets {st.keyword!r}",
                    f"{_REFUSES} ('secondary may not define load balance settings.')",
                    f"delete it: the secondary takes the primary's {st.keyword}",
                    st.location,
                )
            )
    mclt = peer.statement("mclt")
    if mclt is not None:
        found.append(
            Finding(
                Severity.NOTE,
                "peer-mclt-on-secondary",
                f"failover peer {name!r} is a secondary and sets 'mclt'",
                "accepts it and runs with the primary's mclt (OMAPI shows the primary's value "
                "on the secondary)",
                "delete it, or set the value on the primary",
                mclt.location,
            )
        )
    return found


def _omitted_findings(peer: FailoverPeerConfig) -> list[Finding]:
    found = []
    name, at = peer.name, peer.location
    if peer.max_response_delay is None:
        found.append(
            Finding(
                Severity.NOTE,
                "peer-default-max-response-delay",
                f"failover peer {name!r} has no 'max-response-delay'",
                f"starts and uses {DEFAULT_MAX_RESPONSE_DELAY} seconds: that long without a "
                "message from the partner and it counts the partner as gone",
                f"write 'max-response-delay {DEFAULT_MAX_RESPONSE_DELAY};' to make it visible, "
                "or another number of seconds",
                at,
            )
        )
    if peer.max_unacked_updates is None:
        found.append(
            Finding(
                Severity.NOTE,
                "peer-default-max-unacked-updates",
                f"failover peer {name!r} has no 'max-unacked-updates'",
                f"starts and uses {DEFAULT_MAX_UNACKED_UPDATES} (OMAPI "
                "'max-outstanding-updates'): binding updates it sends before waiting for acks",
                f"write 'max-unacked-updates {DEFAULT_MAX_UNACKED_UPDATES};' to make it visible",
                at,
            )
        )
    lb = peer.load_balance_max_seconds
    if not lb:
        st = peer.statement("load balance max seconds")
        what = "has no 'load balance max seconds'" if st is None else "sets it to 0"
        found.append(
            Finding(
                Severity.WARNING,
                "peer-load-balancing-off",
                f"failover peer {name!r} {what}: load balancing is off",
                f"logs 'WARNING: load balancing will be disabled for failover peer, {name}, "
                "because its load balance max secs is 0' and then answers every DHCPDISCOVER "
                "itself, whatever the hash buckets say; where the partner leaves it out too, "
                "both peers answer every client",
                "add 'load balance max seconds 3;' to both peers' declarations",
                at if st is None else st.location,
            )
        )
    omitted = [
        word for word, value in (("port", peer.port), ("peer port", peer.peer_port)) if not value
    ]
    if omitted:
        found.append(
            Finding(
                Severity.NOTE,
                "peer-default-port",
                f"failover peer {name!r}: no {' and no '.join(repr(w) for w in omitted)} (or 0)",
                f"uses port {DEFAULT_PORT} for each",
                f"nothing to do if the partner uses {DEFAULT_PORT} too",
                at,
            )
        )
    return found


# ----------------------------------------------------------------- the address plan


def pool_findings(config: Config) -> list[Finding]:
    """Pools and ranges outside failover next to pools under a peer (module docstring)."""
    found: list[Finding] = []
    for network in config.shared_networks:
        pools = [*network.pools, *(p for s in network.subnets for p in s.pools)]
        peers = {p.failover_peer for p in pools if p.failover_peer}
        if peers:
            where = f"shared-network {network.name!r}"
            for pool in pools:
                found += _pool_outside(pool, peers, where)
            for subnet in network.subnets:
                found += [_range_outside(r, peers, where) for r in subnet.ranges]
    for subnet in config.subnets:
        if subnet.shared_network is not None:
            continue
        peers = {p.failover_peer for p in subnet.pools if p.failover_peer}
        if peers:
            where = f"subnet {subnet.address} netmask {subnet.netmask}"
            for pool in subnet.pools:
                found += _pool_outside(pool, peers, where)
            found += [_range_outside(r, peers, where) for r in subnet.ranges]
    return found


def _peer_list(peers: set[str]) -> str:
    return ", ".join(repr(p) for p in sorted(peers))


_BOTH_SERVE: Final = (
    "serves these addresses outside failover: each server gives them out on its own, without "
    "telling its partner, so both can lease the same address to two clients"
)


def _pool_outside(pool: Pool, peers: set[str], where: str) -> list[Finding]:
    if pool.failover_peer:
        return []
    ranges = ", ".join(_range_text(r) for r in pool.ranges)
    return [
        Finding(
            Severity.WARNING,
            "pool-without-failover",
            f"a pool ({ranges}) without 'failover peer' in {where}, whose other pools are "
            f"under failover peer {_peer_list(peers)}",
            _BOTH_SERVE,
            f"add 'failover peer \"{sorted(peers)[0]}\";' to the pool, or "
            "serve these addresses from one server only",
            pool.location,
        )
    ]


def _range_outside(rng: Range, peers: set[str], where: str) -> Finding:
    return Finding(
        Severity.WARNING,
        "pool-without-failover",
        f"range {_range_text(rng)} outside any pool in {where}, whose pools are under "
        f"failover peer {_peer_list(peers)}",
        _BOTH_SERVE,
        "move the range into a pool with the failover peer",
        rng.location,
    )


def _range_text(rng: Range) -> str:
    return str(rng.low) if rng.low == rng.high else f"{rng.low}-{rng.high}"
