"""Which servers the monitor commands read, from the options of :mod:`aiomapi.failover.connect`.

A failover pair is located as ``aiomapi failover status`` locates it (``--config``,
``--primary``, ``--secondary``, ``--peer``, the key options; see
:mod:`aiomapi.failover.connect`). Two more cases are the monitor's own:

* ``--server HOST[:PORT]``: one server, with or without failover (its failover state is
  read when a peer is named or the configuration declares exactly one);
* ``--config`` of a server without failover, and no other address: that server on this
  machine, ``127.0.0.1`` at the file's ``omapi-port`` (an exporter runs beside its dhcpd).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field

from aiomapi import DEFAULT_PORT, Key
from aiomapi.config import Config, load_config
from aiomapi.failover.connect import parse_host_port, resolve

from .collect import ServerSpec

__all__ = ["Targets", "add_server_option", "targets_from_options"]

#: Where a server without failover is looked for when only its dhcpd.conf is given.
LOCAL_HOST = "127.0.0.1"


@dataclass(frozen=True, slots=True)
class Targets:
    """The servers to read and how.

    Attributes:
        servers: a pair's ``primary`` and ``secondary``, or one ``server``.
        peer: the failover peer name, or ``None`` (then no failover state is read).
        key: the key for every server, or ``None``.
        sources: where each came from, in words.
    """

    servers: tuple[ServerSpec, ...]
    peer: str | None
    key: Key | None = field(default=None, repr=False)
    sources: dict[str, str] = field(default_factory=dict, compare=False)


def add_server_option(parser: argparse.ArgumentParser) -> None:
    """Add ``--server`` (one server instead of a pair)."""
    parser.add_argument(
        "--server",
        metavar="HOST[:PORT]",
        help="read this one server instead of a failover pair (port default: omapi-port of "
        "--config, env AIOMAPI_PORT, 7911); without it and without a pair, --config of a "
        f"server without failover means that server at {LOCAL_HOST}",
    )


def _explicit_key(args: argparse.Namespace) -> Key | None:
    if getattr(args, "key_file", None):
        return Key.from_dhcpd_conf(args.key_file, args.key_name)
    if getattr(args, "key", None):
        return Key.from_spec(args.key)
    return None


def _one(config: Config | None, peer: str | None) -> str | None:
    if peer is not None or config is None:
        return peer
    return next(iter(config.failover_peers)) if len(config.failover_peers) == 1 else None


def _single(address: str, config: Config | None, key: Key | None, peer: str | None) -> Targets:
    port = config.omapi_port if config is not None else None
    if port is None:
        port = int(os.environ.get("AIOMAPI_PORT", DEFAULT_PORT))
    if key is None and config is not None:
        key = config.key()
    if key is None and os.environ.get("AIOMAPI_KEY"):
        key = Key.from_spec(os.environ["AIOMAPI_KEY"])
    spec = parse_host_port(address, port)
    return Targets((ServerSpec("server", spec.host, spec.port),), _one(config, peer), key)


def targets_from_options(args: argparse.Namespace) -> Targets:
    """The servers the options name (see the module's docstring).

    Sets ``args.loaded_key`` to the key in use, so that the command line can keep it out
    of messages.

    Raises:
        ValueError: the options do not locate a server (the message says what to give);
            :class:`aiomapi.config.ConfigError` (a ValueError) if ``--config`` does not
            read.
        OSError: a file cannot be read.
    """
    args.loaded_key = None
    key = _explicit_key(args)
    config = load_config(args.config) if args.config else None
    if getattr(args, "server", None):
        targets = _single(args.server, config, key, args.peer)
    elif (
        config is not None
        and not config.failover_peers
        and not (args.primary or args.secondary or args.peer)
    ):
        if config.omapi_port is None:
            raise ValueError(f"{args.config} has no omapi-port: dhcpd serves no OMAPI there")
        targets = _single(LOCAL_HOST, config, key, None)
    else:
        pair = resolve(
            config=args.config,
            primary=args.primary,
            secondary=args.secondary,
            peer=args.peer,
            key=key,
        )
        servers = (
            ServerSpec("primary", pair.primary.host, pair.primary.port),
            ServerSpec("secondary", pair.secondary.host, pair.secondary.port),
        )
        targets = Targets(servers, pair.peer, pair.key, dict(pair.sources))
    args.loaded_key = targets.key
    return targets
