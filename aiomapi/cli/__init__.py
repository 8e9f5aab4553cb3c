"""The ``aiomapi`` command line, built only on the public API.

``aiomapi bench`` with no arguments measures lease lookups against the embedded in-memory
server; with ``--server`` it measures a real dhcpd. The other commands are what an operator
reaches for: leases and hosts, failover pairs, shutting the server down. Every outcome has
its exit code (:mod:`.exits`), every command takes ``--json`` (errors included), and nothing
printed ever holds a key given to it (:mod:`.scrub`).
"""

from aiomapi.cli.main import build_parser, main

__all__ = ["build_parser", "main"]
