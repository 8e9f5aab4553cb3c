"""The options that name a server, its key and the addresses to act on, shared by the
``aiomapi`` commands.

Every command reads its key the same way, in one order (:data:`KEY_ORDER`, also printed by
``aiomapi --help``); the first source that is given wins:

1. ``--key-file PATH``: a file with a dhcpd ``key`` stanza (dhcpd.conf, omapi.conf): the key
   ``--key-name`` names, else the one its ``omapi-key`` names, else its only key;
2. ``--key NAME:SECRET`` or ``ALGORITHM:NAME:SECRET``: works, but warns on stderr, since
   ``ps`` shows a command line to every user of the machine;
3. the environment variable ``AIOMAPI_KEY``, in the form of ``--key``;
4. the ``omapi-key`` of the dhcpd.conf the command reads anyway (``--config``; for
   ``config check --live``, the file checked);
5. none: the messages go unsigned (dhcpd without ``omapi-key`` takes them).

The explicit ways (an option, the environment) come before the configuration file, whose
key is only the default of the server the file describes.

:func:`add_key_options` adds ``--key-file``, ``--key-name`` and ``--key``;
:func:`add_server_options` adds ``--server``, ``--port`` and ``--config`` (one server);
:func:`add_address_file_options` and :func:`address_set` are the addresses a command over many
leases acts on (``leases scan``, ``release``, ``expire``, ``failover diff``).
:func:`load_key` reads the key from parsed options and records it as ``args.loaded_key``,
and the environment's spec as ``args.env_key``, which the command line hides from every
message it prints (:mod:`aiomapi.cli.scrub`); :func:`find_key` is the same order on plain
arguments. :func:`server_address` says where the one server is.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from collections.abc import Mapping, Sequence
from os import PathLike
from typing import Final, TextIO

from aiomapi import DEFAULT_PORT, Key
from aiomapi.client import DEFAULT_BULK_RATE
from aiomapi.ranges import AddressSet, from_config, from_ips_file, from_leases_file

from .model import Config

__all__ = [
    "HOST_ENV",
    "KEY_ENV",
    "KEY_ORDER",
    "KEY_WARNING",
    "LOCAL_HOST",
    "PORT_ENV",
    "add_address_file_options",
    "add_key_options",
    "add_rate_option",
    "add_server_options",
    "address_set",
    "env_port",
    "find_key",
    "load_key",
    "parse_rate",
    "server_address",
]

KEY_ENV: Final = "AIOMAPI_KEY"
HOST_ENV: Final = "AIOMAPI_HOST"
PORT_ENV: Final = "AIOMAPI_PORT"

#: Where a server named only by its dhcpd.conf is looked for: a configuration file usually
#: sits on the server it configures.
LOCAL_HOST: Final = "127.0.0.1"

#: The resolution order of the key, as ``aiomapi --help`` and docs/cli.md print it.
KEY_ORDER: Final = """\
keys (the same for every command; the first one given wins):
  1. --key-file PATH   a file with a dhcpd key stanza: the key --key-name names, else its
                       omapi-key, else its only key
  2. --key NAME:SECRET or ALGORITHM:NAME:SECRET (warns: ps shows it to every user)
  3. env AIOMAPI_KEY   the same form as --key
  4. the omapi-key of the dhcpd.conf the command reads (--config; config check: FILE)
  5. none: unsigned messages"""

KEY_WARNING: Final = (
    "aiomapi: warning: a key on the command line is visible to every user in ps; "
    f"use --key-file or {KEY_ENV}"
)

# argparse's parser and argument group both have add_argument; the group class is private.
_Adder = argparse.ArgumentParser | argparse._ArgumentGroup


def add_key_options(parser: _Adder, *, servers: str = "the server") -> None:
    """Add ``--key-file``, ``--key-name`` and ``--key`` (read by :func:`load_key`).

    Args:
        parser: a parser or an argument group.
        servers: whom the key is for, in the help of ``--key`` ("both servers").
    """
    parser.add_argument(
        "--key-file",
        metavar="PATH",
        help="a file with a dhcpd key stanza, e.g. dhcpd.conf (the key order: aiomapi --help)",
    )
    parser.add_argument(
        "--key-name",
        metavar="NAME",
        help="which key of --key-file (default: its omapi-key, else its only key)",
    )
    parser.add_argument(
        "--key",
        metavar="NAME:SECRET",
        help=f"NAME:SECRET or ALGORITHM:NAME:SECRET for {servers}; visible in ps: prefer "
        f"--key-file or env {KEY_ENV}",
    )


def add_server_options(parser: _Adder, *, config_help: str) -> None:
    """Add ``--server``, ``--port`` and ``--config`` for one server (see
    :func:`server_address`); ``config_help`` says what the command reads from the file."""
    parser.add_argument(
        "--server",
        default=os.environ.get(HOST_ENV),
        help=f"dhcpd's address (env {HOST_ENV}; with --config: {LOCAL_HOST})",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=env_port(None),
        help=f"its omapi-port (env {PORT_ENV}; default: --config's, else {DEFAULT_PORT})",
    )
    parser.add_argument("--config", metavar="PATH", help=config_help)


def env_port(default: int | None, env: Mapping[str, str] | None = None) -> int | None:
    """The port of env ``AIOMAPI_PORT``, else ``default``.

    Raises:
        ValueError: the variable is set but is not a number.
    """
    text = (os.environ if env is None else env).get(PORT_ENV)
    return int(text) if text else default


def server_address(args: argparse.Namespace, config: Config | None) -> tuple[str, int]:
    """``(host, port)`` of :func:`add_server_options`: the options (and their environment
    variables), then ``config`` (its ``omapi-port``, at :data:`LOCAL_HOST`), then 7911.

    Raises:
        ValueError: no server named.
    """
    host, port = args.server, args.port
    if config is not None:
        host = host or LOCAL_HOST
        if port is None:
            port = config.omapi_port
    if host is None:
        raise ValueError(f"which server? give --server HOST (or env {HOST_ENV}) or --config")
    return host, port if port is not None else DEFAULT_PORT


def find_key(
    *,
    key_file: str | PathLike[str] | None = None,
    key_name: str | None = None,
    spec: str | None = None,
    env: Mapping[str, str] | None = None,
    config: Config | str | PathLike[str] | None = None,
    config_name: str = "the configuration",
) -> tuple[Key | None, str | None]:
    """The key in the order of :data:`KEY_ORDER`, and where it came from, in words.

    Args:
        key_file, key_name: ``--key-file`` and ``--key-name``.
        spec: ``--key``.
        env: where ``AIOMAPI_KEY`` is read (default ``os.environ``).
        config: the configuration the command reads: its ``omapi-key``; or the path of a
            file that does not read as a whole, whose key stanza is then read on its own
            (no key if that does not read either).
        config_name: the configuration, in the returned words.

    Returns:
        ``(key, source)``; ``(None, None)`` when no source gives a key.

    Raises:
        ValueError: a key option, or ``AIOMAPI_KEY``, does not read (the message shows no
            part of it).
        OSError: ``--key-file`` cannot be read.
    """
    if key_file:
        return Key.from_dhcpd_conf(key_file, key_name), f"--key-file {key_file}"
    if spec:
        return Key.from_spec(spec), "--key"
    from_env = (os.environ if env is None else env).get(KEY_ENV)
    if from_env:
        return Key.from_spec(from_env), f"env {KEY_ENV}"
    key: Key | None = None
    if isinstance(config, Config):
        key = config.key()
    elif config is not None:
        with contextlib.suppress(ValueError):
            key = Key.from_dhcpd_conf(config)
    return (key, f"omapi-key of {config_name}") if key is not None else (None, None)


def load_key(
    args: argparse.Namespace,
    config: Config | str | PathLike[str] | None = None,
    *,
    config_name: str | None = None,
    env: Mapping[str, str] | None = None,
    stderr: TextIO | None = None,
) -> Key | None:
    """The key of :func:`add_key_options`' options, in the order of :data:`KEY_ORDER`.

    Warns on ``stderr`` (once per ``args``) when ``--key`` is given. Sets
    ``args.loaded_key`` to the key (``None`` until it has read), ``args.key_source`` to where
    it came from, and ``args.env_key`` to ``AIOMAPI_KEY``'s value, so that the command line
    can keep all of them out of what it prints.

    Args:
        args: parsed options; ``key_file``, ``key_name`` and ``key`` are read if present.
        config: as in :func:`find_key`.
        config_name: the configuration in words (default: ``args.config``).
        env: where ``AIOMAPI_KEY`` is read (default ``os.environ``).

    Raises:
        ValueError, OSError: as :func:`find_key`.
    """
    environ = os.environ if env is None else env
    spec: str | None = getattr(args, "key", None)
    if spec and not getattr(args, "key_warned", False):
        print(KEY_WARNING, file=sys.stderr if stderr is None else stderr)
        args.key_warned = True
    args.env_key = environ.get(KEY_ENV) or None
    args.loaded_key = None
    key, source = find_key(
        key_file=getattr(args, "key_file", None),
        key_name=getattr(args, "key_name", None),
        spec=spec,
        env=environ,
        config=config,
        config_name=config_name or str(getattr(args, "config", None) or "the configuration"),
    )
    args.loaded_key, args.key_source = key, source
    return key


def parse_rate(text: str) -> float | None:
    """``--rate``: a number above 0, or ``unlimited``/``none`` for no limit."""
    if text.strip().lower() in ("unlimited", "none"):
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError(f"must be above 0, got {text}")
    return value


def add_rate_option(parser: _Adder, *, per: str = "") -> None:
    """Add ``--rate N`` (``args.rate``; :data:`~aiomapi.client.DEFAULT_BULK_RATE` unless given).

    ``per`` says what the rate counts, e.g. ``" on each server"``.
    """
    parser.add_argument(
        "--rate",
        type=parse_rate,
        metavar="N",
        default=DEFAULT_BULK_RATE,
        help=f"at most N OMAPI requests a second{per}, so that dhcpd keeps time for DHCP "
        f"(default {DEFAULT_BULK_RATE:,.0f}; 'unlimited': no limit but --concurrency)",
    )


def add_address_file_options(parser: _Adder) -> None:
    """Add ``--ips-file`` and ``--leases-file`` (see :func:`address_set`)."""
    parser.add_argument("--ips-file", metavar="PATH", help="a file of such ranges, one a line")
    parser.add_argument(
        "--leases-file", metavar="PATH", help="a dhcpd.leases: every address it declares"
    )


def address_set(
    specs: Sequence[str] | None,
    ips_file: str | PathLike[str] | None,
    leases_file: str | PathLike[str] | None,
    config: Config | None,
    *,
    config_name: str = "the configuration",
    peer: str | None = None,
    give: str = "ranges",
) -> AddressSet:
    """The union of the address sources given; without any, the ranges of ``config``.

    Args:
        specs: CIDR blocks, ``A-B`` ranges, single addresses.
        ips_file: a file of such specs, one a line.
        leases_file: a dhcpd.leases: every address it declares.
        config: the configuration whose ranges are the default.
        config_name: ``config`` in messages.
        peer: with ``config``, only the pools under this failover peer, if it declares it.
        give: how the command names ``specs``, for the message when nothing is given.

    Raises:
        ValueError: nothing given and no ranges in ``config``, a spec that does not read,
            too many addresses.
        OSError: a file cannot be read.
    """
    found = AddressSet()
    if specs:
        found |= AddressSet.parse(specs)
    if ips_file:
        found |= from_ips_file(ips_file)
    if leases_file:
        found |= from_leases_file(leases_file)
    if specs or ips_file or leases_file:
        return found
    if config is None:
        raise ValueError(f"which addresses? give {give}, --ips-file, --leases-file or --config")
    if peer is not None and peer not in config.failover_peers:
        peer = None
    found = from_config(config, peer=peer)
    if not found:
        raise ValueError(f"{config_name} declares no ranges")
    return found
