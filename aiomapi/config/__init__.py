"""Read ISC dhcpd's configuration file (``dhcpd.conf``): what an OMAPI client needs from it.

Theory of operation
-------------------
:func:`load_config` reads a dhcpd.conf and the files it includes into a :class:`Config`: the
OMAPI port and key, the keys, the failover peers, and the address plan (shared networks,
subnets, pools, ranges, hosts). It reads the file with the lexer dhcpd.leases is read with
(:mod:`aiomapi.leasefile.lexer`), in two steps, one module each:

* :mod:`~aiomapi.config.source` — characters, tokens, blocks and includes: text → a tree of
  statements, every token with its file, line and column;
* :mod:`~aiomapi.config.reader` — the tree → declarations, in their scopes, with dhcpd's
  checks; :mod:`~aiomapi.config.failover` holds the failover peer grammar.

The results (:mod:`~aiomapi.config.model`) are frozen dataclasses that carry their locations.
Anything that does not read raises :class:`ConfigError` naming ``file:line:column`` and what
was expected; nothing is ever half-read. Statements this package does not read are skipped
whole, without being checked. See docs/config.md for what dhcpd does and what this reader
does with each statement.
"""

from __future__ import annotations

from os import PathLike
from pathlib import Path

from .check import check_config, check_file
from .check_report import DhcpdVerdict, Finding, Report, Severity
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
from .reader import build_config
from .source import MAX_FILES, read_file, read_text

__all__ = [
    "MAX_FILES",
    "Config",
    "ConfigError",
    "DhcpdVerdict",
    "FailoverPeerConfig",
    "Finding",
    "Host",
    "Location",
    "Pool",
    "Range",
    "Report",
    "Severity",
    "SharedNetwork",
    "Statement",
    "Subnet",
    "Token",
    "check_config",
    "check_file",
    "load_config",
    "parse_config",
]


def parse_config(
    text: str,
    *,
    source: str = "<string>",
    include_dir: str | PathLike[str] | None = None,
) -> Config:
    """Read a configuration from its text.

    Args:
        text: the configuration. Bytes that are not UTF-8 should arrive as lone surrogates
            (``errors="surrogateescape"``).
        source: a name for locations and messages.
        include_dir: where a relative ``include`` is looked for: dhcpd looks in its working
            directory, so pass that directory to read as dhcpd does. ``None``: the current
            directory for ``text`` itself, and for an included file, that file's directory.

    Returns:
        The whole configuration.

    Raises:
        ConfigError: the text (or a file it includes) does not read; nothing is returned.
    """
    base = Path(include_dir) if include_dir is not None else None
    nodes, files = read_text(text, source, include_dir=base, directory=Path())
    return build_config(nodes, source, files)


def load_config(
    path: str | PathLike[str], *, include_dir: str | PathLike[str] | None = None
) -> Config:
    """Read a dhcpd.conf and every file it includes.

    Args:
        path: the file.
        include_dir: where a relative ``include`` is looked for (dhcpd: its working
            directory); ``None``: the directory of the file that holds the ``include``.

    Returns:
        The whole configuration.

    Raises:
        ConfigError: the file (or one it includes) does not read, with ``file:line:column``;
            nothing is returned.
        OSError: ``path`` itself cannot be read.
    """
    p = Path(path)
    base = Path(include_dir) if include_dir is not None else None
    nodes, files = read_file(p, include_dir=base)
    return build_config(nodes, str(p), files)
