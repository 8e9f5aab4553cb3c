"""The files a lab dhcpd reads: ``dhcpd.conf`` and ``dhcpd.leases``.

The data comes from :mod:`aiomapi.testing.layout` (leases, pool, failover settings); this
module only writes it in dhcpd's syntax and checks the arguments a lab is started with.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import ipaddress
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
    "CLIENT_ADDRESS",
    "CLIENT_POOL_FIRST",
    "CLIENT_POOL_SIZE",
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

#: The DHCP client namespace's address on the lab network (outside every pool). perfdhcp
#: sends as a relay agent from it (giaddr), so dhcpd answers from the lab subnet.
CLIENT_ADDRESS = "10.100.0.2"
#: A second pool for simulated DHCP clients, at the top of the lab network so that it never
#: meets the lab's leases: 8,192 addresses, twice the clients a load run simulates. It is
#: served without ping checks (see :func:`write_conf`).
CLIENT_POOL_FIRST = ipaddress.IPv4Address("10.103.0.1")
CLIENT_POOL_SIZE = 8192
#: The class of the simulated clients: those that come through :data:`CLIENT_ADDRESS`.
LOAD_CLASS = "dhcp-load"


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
    client_pool: bool = False,
) -> None:
    """Write ``d/dhcpd.conf``: OMAPI on ``port`` with the lab key, the lab's pool, and with
    ``client_pool`` the pool for simulated DHCP clients."""
    last = lease_ip(n_leases + FREE_ADDRESSES - 1)
    pool_peer = f'failover peer "{PEER_NAME}";' if failover else ""
    load_class = pool_deny = clients = ""
    if client_pool:
        if ipaddress.IPv4Address(last) >= CLIENT_POOL_FIRST:
            raise LabError(f"{n_leases} leases leave no room for the DHCP client pool")
        # The simulated clients come through the client namespace's address as relay agent
        # (giaddr, bytes 24..27 of the packet); they get only the client pool, so the lab's
        # own free addresses stay free.
        giaddr = ":".join(f"{b:02x}" for b in ipaddress.IPv4Address(CLIENT_ADDRESS).packed)
        load_class = f'class "{LOAD_CLASS}" {{ match if packet(24, 4) = {giaddr}; }}\n'
        pool_deny = f'deny members of "{LOAD_CLASS}";'
        # No ping check: dhcpd would wait a second (ping-timeout) before offering each new
        # address, a wait that has nothing to do with how busy it is.
        last_client = CLIENT_POOL_FIRST + CLIENT_POOL_SIZE - 1
        clients = (
            f'  pool {{ allow members of "{LOAD_CLASS}"; ping-check false;\n'
            f"    range {CLIENT_POOL_FIRST} {last_client}; }}\n"
        )
    text = f"""\
omapi-port {port};
key {KEY_NAME} {{ algorithm {algorithm}; secret "{secret}"; }};
{f"omapi-key {KEY_NAME};" if omapi_key else "# no omapi-key: OMAPI is unauthenticated"}
authoritative;
default-lease-time 600;
max-lease-time 7200;
{failover}
{extra_conf}{load_class}
subnet 10.100.0.0 netmask 255.252.0.0 {{
  pool {{
    {pool_peer}{pool_deny}
    range {FIRST_LEASE} {last};
  }}
{clients}}}
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
