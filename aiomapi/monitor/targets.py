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
from dataclasses import dataclass, field

from aiomapi import Key
from aiomapi.config import Config, load_config
from aiomapi.config.options import LOCAL_HOST, load_key
from aiomapi.failover import connect

from .collect import ServerSpec

__all__ = ["Targets", "add_server_option", "targets_from_options"]


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
    connect.add_server_option(
        parser,
        instead="the pair of the options above; without a pair, --config of a server "
        f"without failover means that server at {LOCAL_HOST}",
    )


def _one(config: Config | None, peer: str | None) -> str | None:
    if peer is not None or config is None:
        return peer
    return next(iter(config.failover_peers)) if len(config.failover_peers) == 1 else None


def _single(
    address: str, args: argparse.Namespace, config: Config | None, peer: str | None
) -> Targets:
    spec, key = connect.single_server(address, args, config)
    return Targets((ServerSpec("server", spec.host, spec.port),), _one(config, peer), key)


def targets_from_options(args: argparse.Namespace) -> Targets:
    """The servers the options name (see the module's docstring).

    Sets ``args.loaded_key`` to the key in use (:func:`aiomapi.config.options.load_key`),
    so that the command line can keep it out of messages.

    Raises:
        ValueError: the options do not locate a server (the message says what to give);
            :class:`aiomapi.config.ConfigError` (a ValueError) if ``--config`` does not
            read.
        OSError: a file cannot be read.
    """
    args.loaded_key = None
    config = load_config(args.config) if args.config else None
    if getattr(args, "server", None):
        targets = _single(args.server, args, config, args.peer)
    elif (
        config is not None
        and not config.failover_peers
        and not (args.primary or args.secondary or args.peer)
    ):
        if config.omapi_port is None:
            raise ValueError(f"{args.config} has no omapi-port: dhcpd serves no OMAPI there")
        targets = _single(LOCAL_HOST, args, config, None)
    else:
        pair = connect.resolve(
            config=args.config,
            primary=args.primary,
            secondary=args.secondary,
            peer=args.peer,
            key=load_key(args, config),
            loaded=config,
        )
        servers = (
            ServerSpec("primary", pair.primary.host, pair.primary.port),
            ServerSpec("secondary", pair.secondary.host, pair.secondary.port),
        )
        targets = Targets(servers, pair.peer, pair.key, dict(pair.sources))
    return targets
