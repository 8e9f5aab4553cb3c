"""Where the two servers of a failover pair are: command-line options and dhcpd.conf.

A dhcpd.conf describes one server. What it gives towards reaching both servers over OMAPI:

* ``omapi-port``: the OMAPI port of the server the file belongs to. The pair's other server
  is assumed to use the same port unless ``--primary``/``--secondary`` give ``HOST:PORT``.
* ``omapi-key``: the key to sign with; the same key is used for both servers.
* ``failover peer "NAME" { primary|secondary; address A; peer address B; ... }``: the peer
  name, and which side the file describes. ``address`` and ``peer address`` are the
  failover link (the failover protocol between the two servers), not OMAPI; but dhcpd
  answers OMAPI on every address it has, so the server that listens for its partner on
  ``address`` also answers OMAPI there. So, by default, the side the file describes is
  reached at ``address`` and the other side at ``peer address``. Where OMAPI is reached
  another way (a management network, a NAT, the failover link firewalled), give
  ``--primary`` and ``--secondary``.

Precedence, first found wins:

* hosts: ``--primary``/``--secondary``, then the failover addresses of ``--config``;
* ports: the ``:PORT`` of ``--primary``/``--secondary``, then ``omapi-port`` of
  ``--config``, then env ``AIOMAPI_PORT``, then 7911;
* peer name: ``--peer``, then the only failover peer of ``--config``, then env
  ``AIOMAPI_PEER``;
* key: the order every command shares (:mod:`aiomapi.config.options`): ``--key-file``,
  then ``--key``, then env ``AIOMAPI_KEY``, then the ``omapi-key`` of ``--config``; none:
  unsigned messages. The same key signs for both servers.

:func:`add_pair_options` adds the options to an argparse parser; :func:`open_pair` (an async
context manager) or :func:`pair_from_options` turn the parsed options into a
:class:`~aiomapi.failover.pair.FailoverPair`; :func:`resolve` does the same from plain
arguments. :func:`add_server_option` and :func:`single_server` are the one-server
alternative that ``leases release`` and the monitor commands offer. The key is read by
:func:`aiomapi.config.options.load_key`, which records it for :mod:`aiomapi.cli`'s scrubbing.
"""

from __future__ import annotations

import argparse
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from os import PathLike

from aiomapi import DEFAULT_PORT, Client, FailoverHierarchy, Key
from aiomapi.config import Config, load_config
from aiomapi.config.options import add_key_options, env_port, find_key, load_key

from .pair import FailoverPair

__all__ = [
    "PairTarget",
    "ServerAddress",
    "add_pair_options",
    "add_server_option",
    "open_pair",
    "pair_from_options",
    "parse_host_port",
    "resolve",
    "single_server",
]

DEFAULT_TIMEOUT = 10.0

_HOSTS_HELP = """\
Where OMAPI is: a dhcpd.conf (--config) describes one server. Its omapi-port is used for
both servers, its omapi-key for both, its failover peer for the name. OMAPI hosts default
to the failover link addresses, since dhcpd answers OMAPI on every address it has: the
side the file describes is reached at its `address`, the other side at `peer address`.
--primary/--secondary HOST[:PORT] override that (give them when OMAPI is reached on
another address or port). Without --config, give --primary, --secondary and --peer.
"""


@dataclass(frozen=True, slots=True)
class ServerAddress:
    """Where one server answers OMAPI."""

    host: str
    port: int

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class PairTarget:
    """Everything needed to reach both servers of a pair.

    Attributes:
        primary, secondary: where each answers OMAPI.
        peer: the failover peer name.
        key: the key for both servers, or ``None`` for unsigned messages.
        sources: for each of ``primary``, ``secondary``, ``peer``, ``key``: where it came
            from, in words (for ``--help``-style explanations and error messages).
    """

    primary: ServerAddress
    secondary: ServerAddress
    peer: str
    key: Key | None = field(default=None, repr=False)
    sources: dict[str, str] = field(default_factory=dict, compare=False)

    def pair(self, *, timeout: float | None = DEFAULT_TIMEOUT) -> FailoverPair:
        """A :class:`FailoverPair` of two (not yet connected) clients."""
        return FailoverPair(
            Client(self.primary.host, self.primary.port, key=self.key, timeout=timeout),
            Client(self.secondary.host, self.secondary.port, key=self.key, timeout=timeout),
            self.peer,
        )


def add_pair_options(parser: argparse.ArgumentParser) -> None:
    """Add the options that say where a pair is to ``parser``.

    ``--config``, ``--primary``, ``--secondary``, ``--peer``, ``--key-file``,
    ``--key-name``, ``--key``, ``--timeout``, ``--json``; see the module's docstring for
    how they combine; ``--help`` shows that explanation above the options.
    """
    group = parser.add_argument_group("the pair", description=_HOSTS_HELP)
    group.add_argument(
        "--config",
        metavar="PATH",
        help="either server's dhcpd.conf: omapi-port, omapi-key, failover peer and addresses",
    )
    group.add_argument(
        "--primary",
        metavar="HOST[:PORT]",
        help="the primary's OMAPI address (default: from --config, see above)",
    )
    group.add_argument(
        "--secondary",
        metavar="HOST[:PORT]",
        help="the secondary's OMAPI address (default: from --config, see above)",
    )
    group.add_argument(
        "--peer",
        metavar="NAME",
        help='the failover peer name, `failover peer "NAME"` (default: the only peer of '
        "--config; env AIOMAPI_PEER)",
    )
    add_key_options(group, servers="both servers")
    group.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_TIMEOUT,
        help=f"seconds per OMAPI request (default {DEFAULT_TIMEOUT:g})",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")


def parse_host_port(text: str, default_port: int | None) -> ServerAddress:
    """``HOST`` or ``HOST:PORT`` (``[V6]:PORT`` for an IPv6 literal).

    Raises:
        ValueError: an empty host, a port that is not 1-65535, or no port and no default.
    """
    host, port_text = text, ""
    if text.startswith("["):
        inside, bracket, rest = text[1:].partition("]")
        if not bracket or (rest and not rest.startswith(":")):
            raise ValueError(f"not HOST[:PORT]: {text!r}")
        host, port_text = inside, rest[1:]
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
    if not host:
        raise ValueError(f"no host in {text!r}")
    if port_text:
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ValueError(f"not a port: {port_text!r} in {text!r}")
        return ServerAddress(host, int(port_text))
    if default_port is None:
        raise ValueError(f"no port in {text!r} and none from --config")
    return ServerAddress(host, default_port)


def resolve(
    *,
    config: str | PathLike[str] | None = None,
    primary: str | None = None,
    secondary: str | None = None,
    peer: str | None = None,
    key: Key | None = None,
    env: dict[str, str] | None = None,
    loaded: Config | None = None,
) -> PairTarget:
    """Work out where the pair is, with the precedence of the module's docstring.

    Args:
        config: either server's dhcpd.conf.
        primary, secondary: ``HOST`` or ``HOST:PORT``.
        peer: the failover peer name.
        key: a key given explicitly; without it, env ``AIOMAPI_KEY``, then the file's
            ``omapi-key`` (:func:`aiomapi.config.options.find_key`).
        env: the environment to read ``AIOMAPI_PORT``, ``AIOMAPI_PEER`` and ``AIOMAPI_KEY``
            from (default ``os.environ``).
        loaded: ``config`` already read (it is not read again).

    Raises:
        ValueError: something needed is neither given nor in the file; the message says
            which option supplies it. :class:`aiomapi.config.ConfigError` (a ValueError):
            the file does not read.
        OSError: the file cannot be read.
    """
    environ = os.environ if env is None else env
    sources: dict[str, str] = {}
    port: int | None = None
    hosts: dict[str, str | None] = {"primary": None, "secondary": None}
    conf: Config | None = None
    if config is not None:
        conf = load_config(config) if loaded is None else loaded
        if peer is None and conf.failover_peers:
            try:
                peer = conf.peer().name
            except KeyError:
                names = ", ".join(sorted(conf.failover_peers))
                raise ValueError(
                    f"{config} declares several failover peers ({names}): give --peer"
                ) from None
            sources["peer"] = f"the only failover peer of {config}"
        if peer is not None and peer in conf.failover_peers:
            decl = conf.failover_peers[peer]
            # A peer declaration without primary/secondary is a primary to dhcpd.
            mine = "secondary" if decl.role == FailoverHierarchy.SECONDARY else "primary"
            other = "primary" if mine == "secondary" else "secondary"
            if decl.address is not None:
                hosts[mine] = str(decl.address)
                sources[mine] = f"`address` of peer {peer!r} in {config} ({mine}'s own file)"
            if decl.peer_address is not None:
                hosts[other] = str(decl.peer_address)
                sources[other] = f"`peer address` of peer {peer!r} in {config}"
        elif peer is not None:
            raise ValueError(f"{config} declares no failover peer {peer!r}")
        port = conf.omapi_port
    if peer is None:
        peer = environ.get("AIOMAPI_PEER") or None
        sources["peer"] = "env AIOMAPI_PEER"
    if peer is None:
        raise ValueError("no failover peer name: give --peer or --config")
    if port is None:
        port = env_port(DEFAULT_PORT, environ)
    if key is None:
        key, source = find_key(env=environ, config=conf, config_name=str(config))
        if source is not None:
            sources["key"] = source
    given = {"primary": primary, "secondary": secondary}
    addresses: dict[str, ServerAddress] = {}
    for side in ("primary", "secondary"):
        text = given[side]
        if text is not None:
            sources[side] = f"--{side}"
        else:
            text = hosts[side]
        if text is None:
            raise ValueError(
                f"no OMAPI address for the {side}: give --{side} HOST[:PORT], or --config "
                "with a failover peer that has `address` and `peer address`"
            )
        addresses[side] = parse_host_port(text, port)
    return PairTarget(addresses["primary"], addresses["secondary"], peer, key, sources)


def add_server_option(parser: argparse.ArgumentParser, *, instead: str) -> None:
    """Add ``--server HOST[:PORT]``: one server instead of the pair (see
    :func:`single_server`); ``instead`` says what the command does without it."""
    parser.add_argument(
        "--server",
        metavar="HOST[:PORT]",
        help="one server without the pair (port default: omapi-port of --config, env "
        f"AIOMAPI_PORT, {DEFAULT_PORT}); without it, {instead}",
    )


def single_server(
    address: str, args: argparse.Namespace, config: Config | None
) -> tuple[ServerAddress, Key | None]:
    """Where ``--server HOST[:PORT]`` is, and the key for it.

    The port: ``:PORT``, then the ``omapi-port`` of ``config``, then env ``AIOMAPI_PORT``,
    then 7911. The key: :func:`aiomapi.config.options.load_key` (recorded in ``args``).

    Raises:
        ValueError: ``address`` or a key option does not read. OSError: a key file cannot
            be read.
    """
    key = load_key(args, config)
    port = config.omapi_port if config is not None else None
    if port is None:
        port = env_port(DEFAULT_PORT)
    return parse_host_port(address, port), key


def pair_from_options(args: argparse.Namespace) -> FailoverPair:
    """The pair the options of :func:`add_pair_options` describe (clients not connected).

    Sets ``args.loaded_key`` to the key in use (:func:`aiomapi.config.options.load_key`), so
    that the caller can keep it out of messages.

    Raises:
        ValueError, OSError: as :func:`resolve`, :meth:`aiomapi.Key.from_dhcpd_conf` and
            :meth:`aiomapi.Key.from_spec` raise them.
    """
    conf = load_config(args.config) if args.config else None
    key = load_key(args, conf)
    target = resolve(
        config=args.config,
        primary=args.primary,
        secondary=args.secondary,
        peer=args.peer,
        key=key,
        loaded=conf,
    )
    if args.key_source is not None:
        target.sources["key"] = args.key_source
    args.pair_target = target
    return target.pair(timeout=args.timeout)


@asynccontextmanager
async def open_pair(args: argparse.Namespace) -> AsyncIterator[FailoverPair]:
    """``async with open_pair(args) as pair:`` — :func:`pair_from_options`, closed on exit.

    The clients connect on their first request, so a server that does not answer shows up
    there (and :meth:`FailoverPair.status` reports it rather than raising).
    """
    pair = pair_from_options(args)
    try:
        yield pair
    finally:
        await pair.close()
