"""The ``failover peer "NAME" { ... }`` declaration, with the grammar dhcpd 4.4 accepts.

Theory of operation
-------------------
The grammar is a table: every statement dhcpd's ``parse_failover_peer`` (server/confpars.c)
accepts, and nothing else. Unlike the rest of dhcpd.conf, where a statement this package does
not read is skipped, an unknown statement in a peer declaration is an error: dhcpd refuses the
whole file for it ("invalid statement in peer declaration"), so a configuration that reads
here must not carry one.

``peer`` before ``address``, ``port``, ``max-response-delay`` or ``max-unacked-updates``
sets the partner's value (the statement's keyword is then ``peer address`` and so on); before
any other statement dhcpd accepts it and ignores it, and so does this reader.

After the block, the checks dhcpd makes on the declaration: a ``peer address``; for a primary
(which is what a peer without ``primary;`` or ``secondary;`` is) a ``split`` or ``hba`` and a
non-zero ``mclt``; no ``split`` or ``hba`` on a secondary; ``split`` at most 256 and ``hba``
exactly 32 bytes.
"""

from __future__ import annotations

import re
from ipaddress import IPv4Address
from typing import Any, Final

from aiomapi import FailoverHierarchy
from aiomapi.leasefile import lexer

from .model import ConfigError, FailoverPeerConfig, Location, Statement, Token
from .source import Node

__all__ = ["read_failover_peer"]

# atoi() into an int: dhcpd cannot hold more.
INT_MAX: Final = 2**31 - 1

# keyword → (field, field when prefixed by "peer", largest value)
_NUMBERS: Final[dict[str, tuple[str, str, int]]] = {
    "port": ("port", "peer_port", 65535),
    "max-response-delay": ("max_response_delay", "peer_max_response_delay", INT_MAX),
    "max-unacked-updates": ("max_unacked_updates", "peer_max_unacked_updates", INT_MAX),
    "mclt": ("mclt", "mclt", INT_MAX),
    "split": ("split", "split", 256),
    "auto-partner-down": ("auto_partner_down", "auto_partner_down", INT_MAX),
    "max-lease-misbalance": ("max_lease_misbalance", "max_lease_misbalance", INT_MAX),
    "max-lease-ownership": ("max_lease_ownership", "max_lease_ownership", INT_MAX),
    "max-balance": ("max_balance", "max_balance", INT_MAX),
    "min-balance": ("min_balance", "min_balance", INT_MAX),
}
_KEYWORDS: Final = (
    "primary, secondary, address, port, peer address, peer port, max-response-delay, "
    "max-unacked-updates, mclt, split, hba, load balance max seconds, auto-partner-down, "
    "max-lease-misbalance, max-lease-ownership, max-balance, min-balance"
)
_LOAD_BALANCE: Final = ("balance", "max", "seconds")
HBA_LENGTH: Final = 32
DIGITS_AND_DOTS: Final = re.compile(r"[0-9.]+")


def number(tok: Token, maximum: int, what: str) -> int:
    """A decimal number from 0 to ``maximum``.

    Raises:
        ConfigError: anything else, at ``tok``.
    """
    text = tok.text
    if not lexer.is_number(text) or len(text.lstrip("0")) > len(str(maximum)):
        raise ConfigError(f"{what}: expected a number from 0 to {maximum}", tok.location)
    value = int(text)
    if value > maximum:
        raise ConfigError(f"{what}: {value} is more than {maximum}", tok.location)
    return value


def address_or_name(tok: Token, what: str) -> IPv4Address | str:
    """An IPv4 address, or a DNS name (dhcpd looks it up when it needs it)."""
    text = tok.text
    if DIGITS_AND_DOTS.fullmatch(text):  # dhcpd reads these as an address, names otherwise
        address = lexer.ipv4(text)
        if address is not None:
            return address
    elif lexer.NAME_RE.fullmatch(text):
        return text
    raise ConfigError(f"{what}: expected an IPv4 address or a host name", tok.location)


def end_here(tokens: tuple[Token, ...], used: int, what: str) -> None:
    """Raise unless the statement ends after ``used`` tokens."""
    if len(tokens) > used:
        raise ConfigError(f"expected ';' after {what}", tokens[used].location)


def read_failover_peer(name: str, location: Location, body: tuple[Node, ...]) -> FailoverPeerConfig:
    """The peer declared by the block ``body`` (see the module docstring).

    Raises:
        ConfigError: a statement dhcpd does not accept, or a check dhcpd makes fails.
    """
    values: dict[str, Any] = {}
    statements: list[Statement] = []
    for node in body:
        tokens = node.statement.tokens
        i = 0
        while i < len(tokens) and tokens[i].text.lower() == "peer":
            i += 1
        if i == len(tokens):
            raise ConfigError("expected a statement after 'peer'", tokens[-1].location)
        partner = False
        kw_tok = tokens[i]
        kw = kw_tok.text.lower()
        args = tokens[i + 1 :]
        keyword = kw
        if node.block is not None:
            raise ConfigError(
                f"invalid statement in failover peer {name!r}: a block", kw_tok.location
            )
        if kw in ("primary", "secondary"):
            end_here(tokens, i + 1, repr(kw))
            values["role"] = (
                FailoverHierarchy.PRIMARY if kw == "primary" else FailoverHierarchy.SECONDARY
            )
            if kw == "secondary" and ("split" in values or "hba" in values):
                raise _secondary_balances(name, kw_tok)
        elif kw == "address":
            if not args:
                raise ConfigError("address: expected an address", kw_tok.location)
            end_here(tokens, i + 2, "the address")
            partner = i > 0
            values["peer_address" if partner else "address"] = address_or_name(args[0], kw)
        elif kw in _NUMBERS:
            field, partner_field, maximum = _NUMBERS[kw]
            if kw == "split" and values.get("role") is FailoverHierarchy.SECONDARY:
                raise _secondary_balances(name, kw_tok)
            if not args:
                raise ConfigError(f"{kw}: expected a number", kw_tok.location)
            end_here(tokens, i + 2, f"the {kw} value")
            partner = i > 0 and partner_field != field
            values[partner_field if partner else field] = number(args[0], maximum, kw)
        elif kw == "hba":
            if values.get("role") is FailoverHierarchy.SECONDARY:
                raise _secondary_balances(name, kw_tok)
            hba = lexer.data([t.text for t in args]) if args and args[0].text[0] != '"' else None
            if hba is None or len(hba) != HBA_LENGTH:
                raise ConfigError(
                    f"hba: expected {HBA_LENGTH} bytes in colon-separated hex", kw_tok.location
                )
            values["hba"] = hba
        elif kw == "load":
            words = [t.text.lower() for t in args[:3]]
            if tuple(words) != _LOAD_BALANCE or len(args) < 4:
                raise ConfigError("expected 'load balance max seconds <number>;'", kw_tok.location)
            end_here(tokens, i + 5, "the load balance max seconds value")
            values["load_balance_max_seconds"] = number(args[3], INT_MAX, "load balance")
            keyword = "load balance max seconds"
        else:
            raise ConfigError(
                f"invalid statement in failover peer {name!r}: {kw_tok.text!r} "
                f"(dhcpd accepts only: {_KEYWORDS})",
                kw_tok.location,
            )
        statements.append(Statement(("peer " if partner else "") + keyword, tokens))
    peer = FailoverPeerConfig(name, location=location, statements=tuple(statements), **values)
    _check(peer)
    return peer


def _secondary_balances(name: str, tok: Token) -> ConfigError:
    return ConfigError(
        f"failover peer {name!r}: a secondary may not set 'split' or 'hba' (the primary "
        "sends its load balancing to the secondary)",
        tok.location,
    )


def _check(peer: FailoverPeerConfig) -> None:
    where = peer.location
    if peer.peer_address is None:
        raise ConfigError(f"failover peer {peer.name!r}: 'peer address' is missing", where)
    if peer.role is FailoverHierarchy.SECONDARY:
        return
    role = "a primary" if peer.role is not None else "a primary (no 'primary;' or 'secondary;')"
    if peer.hash_buckets is None:
        raise ConfigError(
            f"failover peer {peer.name!r} is {role} and needs 'split' or 'hba'", where
        )
    if not peer.mclt:
        raise ConfigError(
            f"failover peer {peer.name!r} is {role} and needs a non-zero 'mclt'", where
        )
