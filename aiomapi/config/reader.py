"""Statements → :class:`~aiomapi.config.Config`: the declarations aiomapi reads, in their scopes.

Theory of operation
-------------------
:mod:`~aiomapi.config.source` gives a tree of statements; this module walks it once, in file
order, with a *scope* that says where it is (the top level, a group, a shared network, a
subnet, a pool or a host) — the scope decides, as dhcpd's ``parse_statement`` does, whether a
declaration is allowed there and what it belongs to. Order matters as it does to dhcpd: a pool
can only name a failover peer declared before it, and a range in a shared network's pool must
fall in a subnet declared before the pool.

What is read: ``omapi-port`` and ``omapi-key`` (top level), ``key``, ``failover peer``
(:mod:`~aiomapi.config.failover`), ``shared-network``, ``subnet``, ``pool``, ``range``,
``host`` with ``hardware`` and ``fixed-address``, and ``group``, whose declarations count as
if they were written in its place. Everything else is skipped whole: a statement to its
``;``, a block to its ``}`` (``class``, ``if``/``else``, ``on commit``, ``zone``, ...). Two
guards keep a missing ``;`` from hiding a declaration inside a skipped statement: only the
statements dhcpd knows with a block may have one, and a skipped statement must not contain a
keyword this module reads (``range``, ``fixed-address``, ...) after its first word.

A skipped statement is not checked: a configuration dhcpd refuses for an unknown option can
read here. What *is* read is checked as dhcpd checks it, and every check that fails raises
:class:`~aiomapi.config.ConfigError` at the statement; nothing is returned then.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from ipaddress import IPv4Address
from types import MappingProxyType
from typing import Final

from aiomapi import ALGORITHMS, Key, MacAddress
from aiomapi.leasefile import lexer
from aiomapi.typed.values import decode_string

from .failover import DIGITS_AND_DOTS, number, read_failover_peer
from .model import (
    Config,
    ConfigError,
    FailoverPeerConfig,
    Host,
    Location,
    Pool,
    Range,
    SharedNetwork,
    Statement,
    Subnet,
    Token,
)
from .source import Node

__all__ = ["build_config"]


class Kind(enum.Enum):
    """What kind of declaration a statement is in (dhcpd's ``*_DECL`` types)."""

    ROOT = "the top level"
    GROUP = "a group"
    SHARED = "a shared-network"
    SUBNET = "a subnet"
    POOL = "a pool"
    HOST = "a host"


# Statements dhcpd knows with a block, which are skipped here.
_SKIPPED_BLOCKS: Final = frozenset(
    {
        "class",
        "subclass",
        "vendor-class",
        "user-class",
        "if",
        "elsif",
        "else",
        "on",
        "switch",
        "zone",
        "subnet6",
        "pool6",
    }
)
# Keywords that begin a statement this module reads; found later in a skipped statement, they
# mean that a ';' is missing before them.
_READ_KEYWORDS: Final = frozenset(
    {"omapi-port", "omapi-key", "fixed-address", "range", "include", "failover"}
)
_DECLARATIONS: Final = frozenset({"host", "group", "shared-network", "subnet", "pool", "key"})
_PORT_MAX: Final = 65535
# dhcpd's long algorithm names: HMAC-MD5.SIG-ALG.REG.INT.
_LONG_ALGORITHM_SUFFIX: Final = ".sig-alg.reg.int"


@dataclass(slots=True)
class _PoolDraft:
    location: Location
    failover_peer: str | None
    failover_peer_location: Location | None = None
    ranges: list[Range] = field(default_factory=list)


@dataclass(slots=True)
class _SubnetDraft:
    address: IPv4Address
    netmask: IPv4Address
    shared_network: str | None
    location: Location
    ranges: list[Range] = field(default_factory=list)
    pools: list[Pool] = field(default_factory=list)

    def __contains__(self, address: IPv4Address) -> bool:
        mask = int(self.netmask)
        return int(address) & mask == int(self.address)


@dataclass(slots=True)
class _SharedDraft:
    name: str
    location: Location
    failover_peer: str | None = None
    subnets: list[Subnet] = field(default_factory=list)
    subnet_drafts: list[_SubnetDraft] = field(default_factory=list)
    pools: list[Pool] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Scope:
    kind: Kind
    shared: _SharedDraft | None = None
    subnet: _SubnetDraft | None = None
    pool: _PoolDraft | None = None


@dataclass(slots=True)
class _HostDraft:
    hardware: tuple[int, MacAddress | None] | None = None
    fixed: tuple[IPv4Address | str, ...] | None = None


def _name(tok: Token | None, what: str, where: Location, *, quoted: bool = True) -> str:
    """A name: a quoted string (if ``quoted``) or a dotted name."""
    if tok is not None:
        if tok.text[0] == '"':
            if quoted:
                return decode_string(lexer.unquote(tok.text))
        elif lexer.NAME_RE.fullmatch(tok.text):
            return tok.text
    expected = "a name or a quoted string" if quoted else "a name (not quoted)"
    raise ConfigError(f"{what}: expected {expected}", tok.location if tok else where)


def _ipv4(tok: Token, what: str) -> IPv4Address:
    address = lexer.ipv4(tok.text)
    if address is None:
        raise ConfigError(f"{what}: expected an IPv4 address, got {tok.text!r}", tok.location)
    return address


def _words(st: Statement, count: int, what: str) -> tuple[Token, ...]:
    """The statement's tokens after the keyword, exactly ``count`` of them."""
    tokens = st.tokens
    if len(tokens) < count + 1:
        raise ConfigError(f"{what}: expected {count} value(s)", tokens[-1].location)
    if len(tokens) > count + 1:
        raise ConfigError(f"expected ';' after {what}", tokens[count + 1].location)
    return tokens[1:]


class _Builder:
    def __init__(self, source: str, files: list[str]) -> None:
        self.source = source
        self.files = files
        self.keys: dict[str, Key] = {}
        self.key_locations: dict[str, Location] = {}
        self.peers: dict[str, FailoverPeerConfig] = {}
        self.peers_in_pools: set[str] = set()
        self.subnets: list[Subnet] = []
        self.shared: list[SharedNetwork] = []
        self.hosts: list[Host] = []
        self.host_locations: dict[str, Location] = {}
        self.omapi_port: int | None = None
        self.omapi_port_statement: Statement | None = None
        self.omapi_key: str | None = None
        self.omapi_key_statement: Statement | None = None

    # -- the walk

    def walk(self, nodes: tuple[Node, ...] | list[Node], scope: _Scope) -> None:
        for node in nodes:
            if node.block is None:
                self.simple(node.statement, scope)
            else:
                self.block(node.statement, node.block, scope)

    def block(self, st: Statement, body: tuple[Node, ...], scope: _Scope) -> None:
        kw, kind = st.keyword, scope.kind
        if kw == "host":
            self.not_in(st, scope, (Kind.HOST,))
            self.host(st, body)
        elif kw == "group":
            self.not_in(st, scope, (Kind.HOST,))
            if len(st.tokens) > 2:
                raise ConfigError("expected '{' after the group name", st.tokens[2].location)
            if len(st.tokens) == 2:
                _name(st.tokens[1], "group", st.location)
            self.walk(body, _Scope(Kind.GROUP, scope.shared, scope.subnet))
        elif kw == "shared-network":
            self.not_in(st, scope, (Kind.SHARED, Kind.SUBNET, Kind.HOST))
            self.shared_network(st, body)
        elif kw == "subnet":
            self.not_in(st, scope, (Kind.SUBNET, Kind.HOST))
            self.subnet(st, body, scope)
        elif kw == "pool":
            if kind not in (Kind.SUBNET, Kind.SHARED):
                raise ConfigError(
                    f"a pool must be declared directly in a subnet or a shared-network, "
                    f"not in {kind.value}",
                    st.location,
                )
            self.pool(st, body, scope)
        elif kw == "failover":
            self.failover_block(st, body, scope)
        elif kw == "key":
            self.key(st, body)
        elif kw not in _SKIPPED_BLOCKS:
            later = next((t for t in st.tokens[1:] if t.text.lower() in _DECLARATIONS), None)
            if later is not None:
                raise ConfigError(f"expected ';' before {later.text!r}", later.location)
            raise ConfigError(
                f"{st.tokens[0].text!r} does not take a block: is a ';' missing?", st.location
            )

    def simple(self, st: Statement, scope: _Scope) -> None:
        kw, kind = st.keyword, scope.kind
        if kw == "omapi-port" and kind is Kind.ROOT:
            self.set_omapi_port(st)
        elif kw == "omapi-key" and kind is Kind.ROOT:
            self.set_omapi_key(st)
        elif kw == "range":
            self.range(st, scope)
        elif kw in ("hardware", "fixed-address"):
            raise ConfigError(f"{kw} is only allowed in a host, not in {kind.value}", st.location)
        elif kw == "failover":
            self.failover_reference(st, scope)
        elif kw == "no" and kind is Kind.POOL:
            raise ConfigError(
                f"{' '.join(t.text for t in st.tokens)!r}: dhcpd 4.4 refuses it in a pool "
                "(leave out 'failover peer' instead)",
                st.location,
            )
        elif kw in _DECLARATIONS and not (kw == "group" and kind is Kind.HOST):
            raise ConfigError(f"{kw}: expected '{{'", st.tokens[-1].location)
        elif kw != "no":
            self.skipped(st)

    def skipped(self, st: Statement) -> None:
        for tok in st.tokens[1:]:
            if tok.text.lower() in _READ_KEYWORDS:
                raise ConfigError(f"expected ';' before {tok.text!r}", tok.location)

    @staticmethod
    def not_in(st: Statement, scope: _Scope, kinds: tuple[Kind, ...]) -> None:
        if scope.kind in kinds:
            raise ConfigError(
                f"a {st.keyword} declaration is not allowed in {scope.kind.value}", st.location
            )

    # -- OMAPI

    def set_omapi_port(self, st: Statement) -> None:
        (tok,) = _words(st, 1, "the omapi-port number")
        if self.omapi_port_statement is not None:
            raise ConfigError(
                f"omapi-port is set twice (first at {self.omapi_port_statement.location})",
                st.location,
            )
        text = tok.text
        octal = len(text) > 1 and text[0] == "0" and lexer.is_number(text)
        if octal or text[:2].lower() == "0x":
            raise ConfigError(
                "omapi-port: write the port in plain decimal (dhcpd would read a leading 0 "
                "as octal and 0x as hexadecimal)",
                tok.location,
            )
        self.omapi_port = number(tok, _PORT_MAX, "omapi-port")
        self.omapi_port_statement = st

    def set_omapi_key(self, st: Statement) -> None:
        (tok,) = _words(st, 1, "the omapi-key name")
        if self.omapi_key_statement is not None:
            raise ConfigError(
                f"omapi-key is set twice (first at {self.omapi_key_statement.location})",
                st.location,
            )
        self.omapi_key = _name(tok, "omapi-key", st.location)
        self.omapi_key_statement = st

    def key(self, st: Statement, body: tuple[Node, ...]) -> None:
        if len(st.tokens) != 2:
            raise ConfigError("expected 'key NAME {'", st.location)
        name = _name(st.tokens[1], "key", st.location)
        algorithm: str | None = None
        secret: str | None = None
        secret_location = st.location
        for node in body:
            tokens = node.statement.tokens
            kw = node.statement.keyword
            # No message here repeats a token: it could be the secret.
            if node.block is not None or kw not in ("algorithm", "secret"):
                raise ConfigError(
                    f"key {name!r}: expected 'algorithm NAME;' or 'secret BASE64;'",
                    tokens[0].location,
                )
            if len(tokens) < 2:
                raise ConfigError(f"key {name!r}: {kw}: expected a value", tokens[0].location)
            if kw == "algorithm":
                if algorithm is not None:
                    raise ConfigError(f"key {name!r}: a second algorithm", tokens[0].location)
                if len(tokens) != 2 or not lexer.NAME_RE.fullmatch(tokens[1].text):
                    raise ConfigError(
                        f"key {name!r}: expected 'algorithm NAME;'", tokens[0].location
                    )
                algorithm = tokens[1].text
                short = algorithm.lower().rstrip(".").removesuffix(_LONG_ALGORITHM_SUFFIX)
                if short not in ALGORITHMS:
                    raise ConfigError(
                        f"key {name!r}: dhcpd cannot use algorithm {algorithm!r} (it logs "
                        f"'Unable to create tsec structure'); it can use {', '.join(ALGORITHMS)}",
                        tokens[1].location,
                    )
            else:
                if secret is not None:
                    raise ConfigError(f"key {name!r}: a second secret", tokens[0].location)
                # dhcpd joins every token up to the ';' (base64 can split into several).
                secret_location = tokens[0].location
                secret = "".join(
                    decode_string(lexer.unquote(t.text)) if t.text[0] == '"' else t.text
                    for t in tokens[1:]
                )
        if algorithm is None or secret is None:
            missing = "algorithm" if algorithm is None else "secret"
            raise ConfigError(f"key {name!r}: no {missing} (dhcpd 4.4 crashes)", st.location)
        try:
            key = Key(name, secret, algorithm)
        except ValueError as exc:  # the algorithm is known: the secret is wrong
            raise ConfigError(f"key {name!r}: {exc}", secret_location) from None
        self.keys[name] = key
        self.key_locations[name] = st.location

    # -- failover

    def peer_name(self, st: Statement, *, quoted_only: bool) -> str:
        tokens = st.tokens
        if len(tokens) < 2 or tokens[1].text.lower() != "peer":
            where = tokens[1].location if len(tokens) > 1 else st.location
            raise ConfigError("expected 'failover peer'", where)
        if len(tokens) < 3:
            raise ConfigError("failover peer: expected a name", tokens[1].location)
        if quoted_only and tokens[2].text[0] != '"':
            raise ConfigError(
                "failover peer: a pool names its peer with a quoted string", tokens[2].location
            )
        return _name(tokens[2], "failover peer", st.location)

    def known_peer(self, name: str, st: Statement) -> None:
        if name not in self.peers:
            raise ConfigError(
                f"failover peer {name!r} is not declared before this statement", st.location
            )

    def failover_block(self, st: Statement, body: tuple[Node, ...], scope: _Scope) -> None:
        name = self.peer_name(st, quoted_only=False)
        tokens = st.tokens
        if len(tokens) == 4 and tokens[3].text.lower() == "state":
            self.known_peer(name, st)  # a state declaration, which this reader skips
            return
        if len(tokens) > 3:
            raise ConfigError("expected '{' after the failover peer name", tokens[3].location)
        if scope.kind not in (Kind.ROOT, Kind.SHARED):
            raise ConfigError(
                "a failover peer is declared at the top level or in a shared-network, "
                f"not in {scope.kind.value}",
                st.location,
            )
        if name in self.peers:
            first = self.peers[name].location
            raise ConfigError(
                f"failover peer {name!r} is declared twice (first at {first})", tokens[2].location
            )
        self.peers[name] = read_failover_peer(name, st.location, body)

    def failover_reference(self, st: Statement, scope: _Scope) -> None:
        if scope.kind is Kind.POOL:
            assert scope.pool is not None
            name = self.peer_name(st, quoted_only=True)
            _words(st, 2, f"failover peer {name!r}")
            self.known_peer(name, st)
            scope.pool.failover_peer = name
            scope.pool.failover_peer_location = st.location
            self.peers_in_pools.add(name)
        elif scope.kind is Kind.SHARED:
            assert scope.shared is not None
            name = self.peer_name(st, quoted_only=False)
            _words(st, 2, f"failover peer {name!r}")
            self.known_peer(name, st)
            scope.shared.failover_peer = name
        else:
            raise ConfigError(
                f"'failover peer NAME;' belongs in a pool or a shared-network, "
                f"not in {scope.kind.value}",
                st.location,
            )

    # -- networks

    def shared_network(self, st: Statement, body: tuple[Node, ...]) -> None:
        if len(st.tokens) != 2:
            raise ConfigError("expected 'shared-network NAME {'", st.location)
        draft = _SharedDraft(_name(st.tokens[1], "shared-network", st.location), st.location)
        self.walk(body, _Scope(Kind.SHARED, draft))
        if not draft.subnets:
            raise ConfigError(f"shared-network {draft.name!r} has no subnet", st.location)
        self.shared.append(
            SharedNetwork(
                draft.name,
                tuple(draft.subnets),
                tuple(draft.pools),
                draft.failover_peer,
                draft.location,
            )
        )

    def subnet(self, st: Statement, body: tuple[Node, ...], scope: _Scope) -> None:
        tokens = st.tokens
        if len(tokens) < 3 or tokens[2].text.lower() != "netmask":
            where = tokens[2].location if len(tokens) > 2 else tokens[-1].location
            raise ConfigError("subnet: expected 'subnet ADDRESS netmask MASK {'", where)
        if len(tokens) != 4:
            where = tokens[4].location if len(tokens) > 4 else tokens[-1].location
            raise ConfigError("subnet: expected 'subnet ADDRESS netmask MASK {'", where)
        address, netmask = _ipv4(tokens[1], "subnet"), _ipv4(tokens[3], "netmask")
        if int(address) & ~int(netmask):
            raise ConfigError(
                f"subnet {address} has bits outside netmask {netmask}", tokens[1].location
            )
        shared = scope.shared
        draft = _SubnetDraft(address, netmask, shared.name if shared else None, st.location)
        if shared is not None:
            shared.subnet_drafts.append(draft)
        self.walk(body, _Scope(Kind.SUBNET, shared, draft))
        subnet = Subnet(
            address,
            netmask,
            tuple(draft.ranges),
            tuple(draft.pools),
            draft.shared_network,
            st.location,
        )
        self.subnets.append(subnet)
        if shared is not None:
            shared.subnets.append(subnet)

    def pool(self, st: Statement, body: tuple[Node, ...], scope: _Scope) -> None:
        if len(st.tokens) != 1:
            raise ConfigError("expected '{' after 'pool'", st.tokens[1].location)
        inherited = scope.shared.failover_peer if scope.shared is not None else None
        draft = _PoolDraft(st.location, inherited)
        self.walk(body, _Scope(Kind.POOL, scope.shared, scope.subnet, draft))
        if not draft.ranges:
            raise ConfigError("a pool needs at least one range", st.location)
        pool = Pool(
            draft.failover_peer, draft.failover_peer_location, tuple(draft.ranges), st.location
        )
        if scope.kind is Kind.SUBNET:
            assert scope.subnet is not None
            scope.subnet.pools.append(pool)
        else:
            assert scope.shared is not None
            scope.shared.pools.append(pool)

    def range(self, st: Statement, scope: _Scope) -> None:
        in_pool = scope.kind is Kind.POOL
        if not in_pool and scope.kind is not Kind.SUBNET:
            raise ConfigError(
                f"a range belongs in a subnet or a pool, not in {scope.kind.value}", st.location
            )
        tokens = list(st.tokens[1:])
        dynamic = bool(tokens) and tokens[0].text.lower() == "dynamic-bootp"
        if dynamic:
            tokens.pop(0)
        if not tokens:
            raise ConfigError("range: expected an address", st.tokens[-1].location)
        if len(tokens) > 2:
            raise ConfigError("expected ';' after the range", tokens[2].location)
        start = _ipv4(tokens[0], "range")
        end = _ipv4(tokens[1], "range") if len(tokens) == 2 else start
        subnet = scope.subnet
        if subnet is None:  # a pool directly in a shared network
            assert scope.shared is not None
            subnet = next((s for s in scope.shared.subnet_drafts if start in s), None)
            if subnet is None:
                raise ConfigError(
                    f"range {start} is in no subnet declared before it in shared-network "
                    f"{scope.shared.name!r}",
                    tokens[0].location,
                )
        for tok, address in zip(tokens, (start, end), strict=False):
            if address not in subnet:
                raise ConfigError(
                    f"range: {address} is not in subnet {subnet.address} netmask {subnet.netmask}",
                    tok.location,
                )
        if in_pool and dynamic and scope.pool is not None and scope.pool.failover_peer:
            raise ConfigError(
                "range dynamic-bootp is not allowed in a pool under a failover peer",
                st.location,
            )
        found = Range(start, end, dynamic, st)
        if in_pool:
            assert scope.pool is not None
            scope.pool.ranges.append(found)
        else:
            subnet.ranges.append(found)

    # -- hosts

    def host(self, st: Statement, body: tuple[Node, ...]) -> None:
        if len(st.tokens) != 2:
            where = st.tokens[2].location if len(st.tokens) > 2 else st.location
            raise ConfigError("expected 'host NAME {'", where)
        name = _name(st.tokens[1], "host", st.location, quoted=False)
        if name in self.host_locations:
            raise ConfigError(
                f"host {name!r} is declared twice (first at {self.host_locations[name]})",
                st.tokens[1].location,
            )
        draft = _HostDraft()
        scope = _Scope(Kind.HOST)
        for node in body:
            inner = node.statement
            if node.block is not None:
                self.block(inner, node.block, scope)
            elif inner.keyword == "hardware":
                if draft.hardware is not None:
                    raise ConfigError(f"host {name!r}: a second hardware", inner.location)
                draft.hardware = self.hardware(inner)
            elif inner.keyword == "fixed-address":
                if draft.fixed is not None:
                    raise ConfigError(f"host {name!r}: a second fixed-address", inner.location)
                draft.fixed = self.fixed_addresses(inner)
            else:
                self.simple(inner, scope)
        htype, haddr = draft.hardware if draft.hardware is not None else (None, None)
        self.hosts.append(Host(name, htype, haddr, draft.fixed or (), st.location))
        self.host_locations[name] = st.location

    @staticmethod
    def hardware(st: Statement) -> tuple[int, MacAddress | None]:
        words = [t.text for t in st.tokens]
        if len(words) > 2 and not lexer.COLON_HEX_RE.fullmatch("".join(words[2:])):
            raise ConfigError(
                "hardware: expected the address as colon-separated hex octets",
                st.tokens[2].location,
            )
        result = lexer.hardware(words)
        if isinstance(result, str):
            raise ConfigError(result, st.location)
        return result

    @staticmethod
    def fixed_addresses(st: Statement) -> tuple[IPv4Address | str, ...]:
        items: list[IPv4Address | str] = []
        expect_item = True
        for tok in st.tokens[1:]:
            if expect_item:
                text = tok.text
                if DIGITS_AND_DOTS.fullmatch(text):
                    items.append(_ipv4(tok, "fixed-address"))
                elif lexer.NAME_RE.fullmatch(text):
                    items.append(text)
                else:
                    raise ConfigError(
                        "fixed-address: expected an IPv4 address or a host name", tok.location
                    )
            elif tok.text != ",":
                raise ConfigError("fixed-address: expected ',' or ';'", tok.location)
            expect_item = not expect_item
        if not items or expect_item:
            raise ConfigError("fixed-address: expected an address", st.tokens[-1].location)
        return tuple(items)

    # -- the end

    def result(self) -> Config:
        if self.omapi_key is not None and self.omapi_key not in self.keys:
            assert self.omapi_key_statement is not None
            raise ConfigError(
                f"omapi-key names key {self.omapi_key!r}, which is not declared",
                self.omapi_key_statement.location,
            )
        for name, peer in self.peers.items():
            if name not in self.peers_in_pools:
                raise ConfigError(
                    f"failover peer {name!r} is named by no pool (dhcpd refuses to start: "
                    f'each peer needs a pool with failover peer "{name}";)',
                    peer.location,
                )
        return Config(
            source=self.source,
            files=tuple(self.files),
            omapi_port=self.omapi_port,
            omapi_key=self.omapi_key,
            keys=MappingProxyType(dict(self.keys)),
            failover_peers=MappingProxyType(dict(self.peers)),
            subnets=tuple(self.subnets),
            shared_networks=tuple(self.shared),
            hosts=tuple(self.hosts),
            omapi_port_statement=self.omapi_port_statement,
            omapi_key_statement=self.omapi_key_statement,
            key_locations=MappingProxyType(dict(self.key_locations)),
        )


def build_config(nodes: list[Node], source: str, files: list[str]) -> Config:
    """The :class:`Config` the statement tree declares.

    Raises:
        ConfigError: at the first statement that is not allowed where it is or that does not
            read.
    """
    builder = _Builder(source, files)
    builder.walk(nodes, _Scope(Kind.ROOT))
    return builder.result()
