"""The options every single-server command takes, and the client they build.

A server is named by ``--server``/``--port``, or found in a dhcpd.conf given with
``--config`` (its ``omapi-port`` and ``omapi-key``; the server defaults to 127.0.0.1, where
a configuration file usually is); explicit options win over the configuration. The key is
found in the one order of :mod:`aiomapi.config.options` (``--key-file``, ``--key``, env
``AIOMAPI_KEY``, the ``omapi-key`` of ``--config``), which every command shares.
"""

from __future__ import annotations

import argparse

from aiomapi import Client, Key
from aiomapi.config import Config, load_config
from aiomapi.config import options as shared

__all__ = ["client", "connection_options", "key", "server_address"]


def connection_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add --server/--port/--config/--key-file/--key-name/--key/--timeout/--json."""
    shared.add_server_options(
        parser, config_help="dhcpd.conf: the omapi-port and the omapi-key are read from it"
    )
    shared.add_key_options(parser)
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print JSON (errors too)")
    parser.set_defaults(server_required=required)


def key(args: argparse.Namespace) -> Key | None:
    """The key the options name (recorded in ``args``, so messages can be scrubbed of it)."""
    return shared.load_key(args, _config(args))


def server_address(args: argparse.Namespace) -> tuple[str, int]:
    """``(host, port)`` from the options, then the configuration, then the defaults."""
    return shared.server_address(args, _config(args))


def client(args: argparse.Namespace, *, connections: int | None = None) -> Client:
    host, port = server_address(args)
    options = {} if connections is None else {"connections": connections}
    return Client(host, port, key=key(args), timeout=args.timeout, **options)


def _config(args: argparse.Namespace) -> Config | None:
    if not getattr(args, "config", None):
        return None
    loaded: Config | None = getattr(args, "loaded_config", None)
    if loaded is None:
        loaded = args.loaded_config = load_config(args.config)
    return loaded
