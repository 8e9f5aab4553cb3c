"""What :mod:`aiomapi.config` reads from a dhcpd.conf: locations, statements and declarations.

Every result is a frozen, slotted dataclass; mappings are read-only views. Each declaration
carries the :class:`Location` of its keyword, and the statements that matter to a later
configuration check (every statement of a failover peer, every ``range``, ``omapi-port`` and
``omapi-key``) keep their tokens with their exact locations.

A value the file leaves out is ``None``, never a default: dhcpd's defaults are described in the
docstrings and in docs/config.md, so that a checker can tell "omitted" from "set to the
default".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv4Network
from itertools import chain
from types import MappingProxyType

from aiomapi import FailoverHierarchy, Key, MacAddress

__all__ = [
    "Config",
    "ConfigError",
    "FailoverPeerConfig",
    "Host",
    "Location",
    "Pool",
    "Range",
    "SharedNetwork",
    "Statement",
    "Subnet",
    "Token",
]


@dataclass(frozen=True, slots=True)
class Location:
    """A place in a configuration file.

    Attributes:
        file: the file name, as given to :func:`~aiomapi.config.load_config` or resolved from an
            ``include``.
        line: 1-based line.
        column: 1-based column, counted in characters (a tab counts as one).
        offset: 0-based character offset from the start of the file.
    """

    file: str
    line: int
    column: int
    offset: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}:{self.column}"


class ConfigError(ValueError):
    """The configuration cannot be read; nothing of it is returned.

    ``str()`` is ``FILE:LINE:COLUMN: message``. No message repeats a key's secret.

    Attributes:
        message: what is wrong, or what was expected.
        location: where, or ``None`` for a problem with no place in a file.
    """

    def __init__(self, message: str, location: Location | None = None) -> None:
        self.message = message
        self.location = location
        super().__init__(f"{location}: {message}" if location is not None else message)

    @property
    def file(self) -> str | None:
        return None if self.location is None else self.location.file

    @property
    def line(self) -> int | None:
        return None if self.location is None else self.location.line

    @property
    def column(self) -> int | None:
        return None if self.location is None else self.location.column


@dataclass(frozen=True, slots=True)
class Token:
    """One token as written (a quoted string keeps its quotes), and where it starts."""

    text: str
    location: Location


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement: its tokens up to (not including) the ``;``.

    Attributes:
        keyword: the keyword words, lower-case and joined by one blank (``"peer address"``,
            ``"load balance max seconds"``).
        tokens: every token of the statement, the keyword's included.
    """

    keyword: str
    tokens: tuple[Token, ...]

    @property
    def location(self) -> Location:
        """Where the statement's first token starts."""
        return self.tokens[0].location


@dataclass(frozen=True, slots=True)
class Range:
    """``range [dynamic-bootp] START [END];``.

    Attributes:
        start, end: as written; ``end`` is ``start`` for a one-address range. dhcpd accepts
            them in either order.
        dynamic_bootp: ``dynamic-bootp`` was given.
        statement: the statement, with its tokens' locations.
    """

    start: IPv4Address
    end: IPv4Address
    dynamic_bootp: bool
    statement: Statement = field(repr=False)

    @property
    def location(self) -> Location:
        return self.statement.location

    @property
    def low(self) -> IPv4Address:
        return min(self.start, self.end)

    @property
    def high(self) -> IPv4Address:
        return max(self.start, self.end)

    def __len__(self) -> int:
        return int(self.high) - int(self.low) + 1

    def __contains__(self, address: object) -> bool:
        return isinstance(address, IPv4Address) and self.low <= address <= self.high


@dataclass(frozen=True, slots=True)
class Pool:
    """``pool { ... }``.

    Attributes:
        failover_peer: the peer the pool is under: named in the pool, or else inherited from its
            shared network's ``failover peer "NAME";``; ``None`` for none.
        failover_peer_location: where the pool names its peer; ``None`` when it does not.
        ranges: the pool's ranges (dhcpd refuses a pool without one).
        location: the ``pool`` keyword.
    """

    failover_peer: str | None
    failover_peer_location: Location | None
    ranges: tuple[Range, ...]
    location: Location


@dataclass(frozen=True, slots=True)
class Subnet:
    """``subnet ADDRESS netmask MASK { ... }``.

    Attributes:
        address, netmask: as written. dhcpd accepts a mask that is not contiguous; then
            :attr:`network` is ``None``.
        ranges: ``range`` statements directly in the subnet.
        pools: ``pool`` declarations directly in the subnet.
        shared_network: the name of the ``shared-network`` it is declared in, if any.
        location: the ``subnet`` keyword.
    """

    address: IPv4Address
    netmask: IPv4Address
    ranges: tuple[Range, ...]
    pools: tuple[Pool, ...]
    shared_network: str | None
    location: Location

    @property
    def network(self) -> IPv4Network | None:
        """The subnet as a network, or ``None`` if the mask is not contiguous."""
        try:
            return IPv4Network(f"{self.address}/{self.netmask}")
        except ValueError:
            return None

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, IPv4Address):
            return False
        mask = int(self.netmask)
        return int(address) & mask == int(self.address) & mask


@dataclass(frozen=True, slots=True)
class SharedNetwork:
    """``shared-network NAME { ... }``.

    Attributes:
        name: the name.
        subnets: its subnets (dhcpd refuses a shared network without one).
        pools: ``pool`` declarations directly in the shared network.
        failover_peer: ``failover peer "NAME";`` in the shared network, which its pools inherit.
        location: the ``shared-network`` keyword.
    """

    name: str
    subnets: tuple[Subnet, ...]
    pools: tuple[Pool, ...]
    failover_peer: str | None
    location: Location


@dataclass(frozen=True, slots=True)
class Host:
    """``host NAME { ... }`` (dhcpd makes every host global, wherever it is declared).

    Attributes:
        name: the name.
        hardware_type: the ``hardware`` type number (ethernet = 1), ``None`` without one.
        hardware_address: ``None`` without ``hardware`` or with a type and no address.
        fixed_addresses: ``fixed-address`` in order; a DNS name stays a ``str`` (dhcpd looks
            it up when it needs it).
        location: the ``host`` keyword.
    """

    name: str
    hardware_type: int | None
    hardware_address: MacAddress | None
    fixed_addresses: tuple[IPv4Address | str, ...]
    location: Location


@dataclass(frozen=True, slots=True)
class FailoverPeerConfig:
    """``failover peer "NAME" { ... }``: one side of a failover pair, as its own file says.

    Every field is ``None`` when the declaration leaves it out. What dhcpd does then:

    * ``role``: a peer without ``primary;`` or ``secondary;`` is a primary to dhcpd, which then
      demands ``split`` or ``hba`` and ``mclt``.
    * ``port``, ``peer_port``: 647 (also for ``port 0``).
    * ``max_response_delay``, ``max_unacked_updates``: dhcpd picks its own defaults.
    * ``load_balance_max_seconds``: 0, which turns load balancing off (dhcpd warns).

    The OMAPI address and port of this server are not here: see docs/config.md.

    Attributes:
        name: the peer name.
        role: primary or secondary (the failover-state ``hierarchy`` over OMAPI).
        address, port: where this server listens for its partner (``address``, ``port``); an
            address can be a DNS name, kept as a ``str``.
        peer_address, peer_port: where the partner listens (``peer address``, ``peer port``).
        max_response_delay, max_unacked_updates: this server's.
        peer_max_response_delay, peer_max_unacked_updates: ``peer max-response-delay`` and
            ``peer max-unacked-updates``.
        mclt: maximum client lead time, seconds.
        split: ``split N`` (0-256).
        hba: ``hba`` as 32 bytes.
        load_balance_max_seconds: ``load balance max seconds N``.
        auto_partner_down, max_lease_misbalance, max_lease_ownership, max_balance,
            min_balance: the statements of those names.
        location: the ``failover`` keyword.
        statements: every statement of the declaration, in order, with its tokens' locations.
    """

    name: str
    role: FailoverHierarchy | None = None
    address: IPv4Address | str | None = None
    port: int | None = None
    peer_address: IPv4Address | str | None = None
    peer_port: int | None = None
    max_response_delay: int | None = None
    max_unacked_updates: int | None = None
    peer_max_response_delay: int | None = None
    peer_max_unacked_updates: int | None = None
    mclt: int | None = None
    split: int | None = None
    hba: bytes | None = None
    load_balance_max_seconds: int | None = None
    auto_partner_down: int | None = None
    max_lease_misbalance: int | None = None
    max_lease_ownership: int | None = None
    max_balance: int | None = None
    min_balance: int | None = None
    location: Location | None = field(default=None, compare=False)
    statements: tuple[Statement, ...] = field(default=(), repr=False, compare=False)

    def statement(self, keyword: str) -> Statement | None:
        """The last statement with this keyword (``"mclt"``, ``"peer address"``), or ``None``."""
        for st in reversed(self.statements):
            if st.keyword == keyword:
                return st
        return None

    @property
    def hash_buckets(self) -> bytes | None:
        """The 32-byte hash bucket assignment dhcpd builds from the last ``split`` or ``hba``.

        ``split N`` sets buckets 0 to N-1, bucket ``i`` being bit ``i % 8`` of byte ``i // 8``.
        A primary sends this to its secondary, and OMAPI shows it as ``load-balance-hba``.
        """
        for st in reversed(self.statements):
            if st.keyword == "hba":
                return self.hba
            if st.keyword == "split" and self.split is not None:
                buckets = bytearray(32)
                for i in range(self.split):
                    buckets[i >> 3] |= 1 << (i & 7)
                return bytes(buckets)
        return None


@dataclass(frozen=True, slots=True)
class Config:
    """A whole dhcpd.conf with everything it includes.

    Attributes:
        source: the main file's name.
        files: every file read, the main one first, in the order they were included.
        omapi_port: ``omapi-port`` (dhcpd serves OMAPI only when it is set).
        omapi_key: the key name ``omapi-key`` gives.
        keys: every ``key`` declaration by name, as :class:`aiomapi.Key`; a later declaration
            of a name replaces an earlier one, as in dhcpd.
        failover_peers: ``failover peer`` declarations by name.
        subnets: every subnet, in file order, also those inside shared networks and groups.
        shared_networks: every ``shared-network``, in file order.
        hosts: every host, in file order.
        omapi_port_statement, omapi_key_statement: those statements, for their locations.
        key_locations: where each key in :attr:`keys` is declared.
    """

    source: str
    files: tuple[str, ...] = ()
    omapi_port: int | None = None
    omapi_key: str | None = None
    keys: Mapping[str, Key] = field(default_factory=lambda: MappingProxyType({}))
    failover_peers: Mapping[str, FailoverPeerConfig] = field(
        default_factory=lambda: MappingProxyType({})
    )
    subnets: tuple[Subnet, ...] = ()
    shared_networks: tuple[SharedNetwork, ...] = ()
    hosts: tuple[Host, ...] = ()
    omapi_port_statement: Statement | None = field(default=None, repr=False, compare=False)
    omapi_key_statement: Statement | None = field(default=None, repr=False, compare=False)
    key_locations: Mapping[str, Location] = field(
        default_factory=lambda: MappingProxyType({}), repr=False, compare=False
    )

    def peer(self, name: str | None = None) -> FailoverPeerConfig:
        """The failover peer called ``name``; without a name, the only one.

        Raises:
            KeyError: no peer of that name, or no name given and there is not exactly one peer.
        """
        if name is not None:
            return self.failover_peers[name]
        if len(self.failover_peers) != 1:
            raise KeyError(
                f"the configuration declares {len(self.failover_peers)} failover peers; "
                "name the one you want"
            )
        return next(iter(self.failover_peers.values()))

    def key(self) -> Key | None:
        """The key ``omapi-key`` names (what an OMAPI client must sign with), or ``None``."""
        if self.omapi_key is None:
            return None
        return self.keys[self.omapi_key]

    def host(self, name: str) -> Host:
        """The host called ``name``.

        Raises:
            KeyError: there is none.
        """
        for host in self.hosts:
            if host.name == name:
                return host
        raise KeyError(name)

    @property
    def pools(self) -> tuple[Pool, ...]:
        """Every pool: those of each subnet, then those of each shared network."""
        in_subnets = chain.from_iterable(s.pools for s in self.subnets)
        in_networks = chain.from_iterable(n.pools for n in self.shared_networks)
        return (*in_subnets, *in_networks)

    @property
    def ranges(self) -> tuple[Range, ...]:
        """Every range: directly in subnets, then in pools."""
        direct = chain.from_iterable(s.ranges for s in self.subnets)
        pooled = chain.from_iterable(p.ranges for p in self.pools)
        return (*direct, *pooled)
