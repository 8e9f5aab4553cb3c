"""The options every server command takes, and the client they build.

A server is named by ``--server``/``--port``, or found in a dhcpd.conf given with
``--config`` (its ``omapi-port`` and ``omapi-key``; the server defaults to 127.0.0.1, where
a configuration file usually is). Keys come from ``--key-file`` (a file with a dhcpd ``key``
stanza, such as dhcpd.conf) or the environment variable ``AIOMAPI_KEY``; ``--key`` on the
command line works but warns, since ``ps`` shows it to every user. Explicit options win over
the configuration.
"""

from __future__ import annotations

import argparse
import os
import sys

from aiomapi import Client, Key
from aiomapi.client import DEFAULT_PORT
from aiomapi.config import Config, load_config

__all__ = ["client", "connection_options", "key", "server_address"]


def connection_options(parser: argparse.ArgumentParser, *, required: bool = True) -> None:
    """Add --server/--port/--config/--key-file/--key/--key-name/--timeout/--json."""
    parser.add_argument(
        "--server",
        default=os.environ.get("AIOMAPI_HOST"),
        help="dhcpd's address (env AIOMAPI_HOST; with --config: 127.0.0.1)",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=int(os.environ["AIOMAPI_PORT"]) if "AIOMAPI_PORT" in os.environ else None,
        help=f"its omapi-port (env AIOMAPI_PORT; default: --config's, else {DEFAULT_PORT})",
    )
    parser.add_argument(
        "--config", help="dhcpd.conf: the omapi-port and the omapi-key are read from it"
    )
    parser.add_argument("--key-file", help="a file with a dhcpd key stanza (e.g. dhcpd.conf)")
    parser.add_argument("--key-name", help="which key of --key-file (default: the omapi-key)")
    parser.add_argument(
        "--key",
        default=None,
        help="NAME:SECRET or ALGORITHM:NAME:SECRET; prefer --key-file or env AIOMAPI_KEY "
        "(a key on the command line is visible in ps)",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds per request")
    parser.add_argument("--json", action="store_true", help="print JSON (errors too)")
    parser.set_defaults(server_required=required)


def key(args: argparse.Namespace) -> Key | None:
    """The key the options name (and remember it, so messages can be scrubbed of it)."""
    found: Key | None = None
    spec = args.key
    if spec:
        print(
            "aiomapi: warning: a key on the command line is visible to every user in ps; "
            "use --key-file or AIOMAPI_KEY",
            file=sys.stderr,
        )
    else:
        spec = os.environ.get("AIOMAPI_KEY")
        args.key = spec  # scrubbed from messages like a --key
    if args.key_file:
        found = Key.from_dhcpd_conf(args.key_file, args.key_name)
    elif spec:
        found = Key.from_spec(spec)
    elif getattr(args, "config", None):
        found = _config(args).key()
    args.loaded_key = found
    return found


def server_address(args: argparse.Namespace) -> tuple[str, int]:
    """``(host, port)`` from the options, then the configuration, then the defaults."""
    host, port = args.server, args.port
    if getattr(args, "config", None):
        config = _config(args)
        host = host or "127.0.0.1"
        port = port if port is not None else config.omapi_port
    if host is None:
        raise ValueError("name the server: --server HOST (or AIOMAPI_HOST, or --config)")
    return host, port if port is not None else DEFAULT_PORT


def client(args: argparse.Namespace, *, connections: int | None = None) -> Client:
    host, port = server_address(args)
    options = {} if connections is None else {"connections": connections}
    return Client(host, port, key=key(args), timeout=args.timeout, **options)


def _config(args: argparse.Namespace) -> Config:
    loaded: Config | None = getattr(args, "loaded_config", None)
    if loaded is None:
        loaded = args.loaded_config = load_config(args.config)
    return loaded
