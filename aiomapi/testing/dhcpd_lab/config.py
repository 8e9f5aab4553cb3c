"""The files a lab dhcpd reads: ``dhcpd.conf`` and ``dhcpd.leases``.

The data comes from :mod:`aiomapi.testing.layout` (leases, pool, failover settings); this
module only writes it in dhcpd's syntax and checks the arguments a lab is started with.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets
from collections.abc import Iterator
from pathlib import Path

from aiomapi.facts import ALGORITHMS
from aiomapi.leasefile import format_lease

from ..layout import (
    FAILOVER_PORT,
    FIRST_LEASE,
    FREE_ADDRESSES,
    LAB_LOAD_BALANCE_MAX_SECONDS,
    LAB_MAX_UNACKED_UPDATES,
    LAB_SPLIT,
    MAX_POOL,
    PEER_NAME,
    PRIMARY_PEER_ADDRESS,
    SECONDARY_PEER_ADDRESS,
    lab_lease,
    lease_ip,
)
from .errors import LabError

__all__ = [
    "ALGORITHMS",
    "KEY_NAME",
    "MIN_RESPONSE_DELAY",
    "check_args",
    "check_secret",
    "failover_stanza",
    "lease_records",
    "write_conf",
    "write_leases",
]

KEY_NAME = "omapi_key"
# Contacts go out every max-response-delay / 3 seconds (integer division in
# dhcpd's failover.c), so below 3 dhcpd would send them in a busy loop.
MIN_RESPONSE_DELAY = 3


def check_args(n_leases: int, algorithm: str, *ports: int) -> None:
    if algorithm not in ALGORITHMS:
        raise LabError(f"algorithm must be one of {sorted(ALGORITHMS)}, not {algorithm!r}")
    if not 0 <= n_leases <= MAX_POOL - FREE_ADDRESSES:
        raise LabError(f"n_leases must be 0..{MAX_POOL - FREE_ADDRESSES}")
    if not all(0 < p < 65536 for p in ports) or len(set(ports)) != len(ports):
        raise LabError(f"bad ports {ports}")


def check_secret(secret: str | None) -> str:
    """``secret`` if it is base64, or a random 32-byte secret for ``None``."""
    if secret is None:
        return base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        base64.b64decode(secret, validate=True)
    except binascii.Error:
        raise LabError("secret must be base64") from None
    return secret


def write_conf(
    d: Path,
    port: int,
    algorithm: str,
    secret: str,
    n_leases: int,
    omapi_key: bool,
    extra_conf: str,
    failover: str = "",
) -> None:
    """Write ``d/dhcpd.conf``: OMAPI on ``port`` with the lab key, the lab's pool."""
    last = lease_ip(n_leases + FREE_ADDRESSES - 1)
    pool_peer = f'failover peer "{PEER_NAME}";' if failover else ""
    text = f"""\
omapi-port {port};
key {KEY_NAME} {{ algorithm {algorithm}; secret "{secret}"; }};
{f"omapi-key {KEY_NAME};" if omapi_key else "# no omapi-key: OMAPI is unauthenticated"}
authoritative;
default-lease-time 600;
max-lease-time 7200;
{failover}
{extra_conf}
subnet 10.100.0.0 netmask 255.252.0.0 {{
  pool {{
    {pool_peer}
    range {FIRST_LEASE} {last};
  }}
}}
"""
    (d / "dhcpd.conf").write_text(text)


def failover_stanza(role: str, mclt: int, delay: int, auto_partner_down: int | None) -> str:
    """The ``failover peer`` declaration of the lab pair for ``role``."""
    me, peer = (PRIMARY_PEER_ADDRESS, SECONDARY_PEER_ADDRESS)
    if role != "primary":
        me, peer = peer, me
    extra = f"mclt {mclt}; split {LAB_SPLIT};" if role == "primary" else ""
    if auto_partner_down is not None:
        extra += f" auto-partner-down {auto_partner_down};"
    return f"""\
failover peer "{PEER_NAME}" {{
  {role}; address {me}; port {FAILOVER_PORT}; peer address {peer}; peer port {FAILOVER_PORT};
  max-response-delay {delay}; max-unacked-updates {LAB_MAX_UNACKED_UPDATES}; \
load balance max seconds {LAB_LOAD_BALANCE_MAX_SECONDS}; {extra}
}}"""


def write_leases(d: Path, n_leases: int, leases_text: str | None) -> None:
    """Write ``d/dhcpd.leases``: ``leases_text``, or lab leases 0..n_leases-1."""
    with (d / "dhcpd.leases").open("w") as f:
        if leases_text is not None:
            f.write(leases_text)
        else:
            f.writelines(lease_records(n_leases))


def lease_records(n: int) -> Iterator[str]:
    """Lab leases 0..n-1 in lease-file syntax, starting now."""
    now = dt.datetime.now(dt.UTC)
    for i in range(n):
        yield format_lease(lab_lease(i, now=now))
