"""Network namespaces and veth links of the lab, made and removed with ``ip``.

Each server runs in its own namespace (``aiom-s-PORT`` for a single server, ``aiom-f-PORT``
for a failover peer). The root namespace reaches it over a veth pair on a /30 of its own carved
from 100.80.0.0/14 (``aiomhPORT`` = 100.80.0.0 + 4*PORT + 1 on the host, ``aiomnPORT`` = +2 in
the namespace), where OMAPI is dialled; nothing is routed. dhcpd serves DHCP on ``lease0``, one
end of a veth pair inside the namespace that carries 10.100.0.0/14. Failover peers talk over a
third veth pair between their namespaces (``aiompPORT``, 10.254.0.1 <-> 10.254.0.2).

A single server started with a DHCP client namespace (``aiom-c-PORT``) has the other end of
its DHCP link, ``lease1``, moved into that namespace (:func:`make_client_netns`): DHCP load
generated there reaches dhcpd's ``lease0`` and nothing else, never the host's interfaces.
"""

from __future__ import annotations

import ipaddress
import subprocess

from ..layout import PRIMARY_PEER_ADDRESS, SECONDARY_PEER_ADDRESS
from .errors import LabError, LabUnavailable

__all__ = [
    "HOST_NET",
    "claim_port",
    "client_netns",
    "host_addr",
    "host_link",
    "ip",
    "make_client_netns",
    "make_netns",
    "make_peer_link",
    "netns_pids",
    "peer_link",
    "port_busy",
    "port_netns",
]

HOST_NET = ipaddress.IPv4Address("100.80.0.0")  # /14: one /30 per port 0..65535


def host_addr(port: int, k: int) -> str:
    """Address ``k`` (1: the host's end, 2: the namespace's) of ``port``'s /30."""
    return str(HOST_NET + 4 * port + k)


def host_link(port: int) -> str:
    """The host's end of the link to ``port``'s namespace."""
    return f"aiomh{port}"


def peer_link(port: int) -> str:
    """The failover peer link's end in the namespace of ``port``."""
    return f"aiomp{port}"


def port_netns(port: int) -> tuple[str, str]:
    """(single-server, failover-peer) namespace names for ``port``."""
    return (f"aiom-s-{port}", f"aiom-f-{port}")


def client_netns(port: int) -> str:
    """The DHCP client namespace of ``port``'s single server."""
    return f"aiom-c-{port}"


def _all_netns(port: int) -> tuple[str, ...]:
    return (*port_netns(port), client_netns(port))


def ip(*args: str, check: bool = True) -> str:
    """Run ``ip ARGS``; raise LabError on failure if ``check``."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def netns_pids(netns: str) -> set[int]:
    """The processes running in ``netns`` (none if it does not exist)."""
    out = ip("netns", "pids", netns, check=False)
    return {int(p) for p in out.split()}


def port_busy(port: int) -> bool:
    """Whether a lab namespace for ``port`` still runs processes (maybe another lab's)."""
    return any(netns_pids(netns) for netns in _all_netns(port))


def claim_port(port: int) -> None:
    """Refuse a port whose namespace still runs something; drop stale leftovers."""
    if port_busy(port):
        raise LabError(f"port {port} is in use by another lab (stop it first)")
    for netns in _all_netns(port):
        ip("netns", "del", netns, check=False)
    ip("link", "del", host_link(port), check=False)


def make_netns(netns: str, port: int, lease_addr: str) -> None:
    """Namespace + host link on the port's /30 + internal lease veth."""
    try:
        ip("netns", "add", netns)
    except LabError as exc:
        raise LabUnavailable(f"cannot create network namespaces: {exc}") from exc
    host, inner = host_link(port), f"aiomn{port}"
    ip("-n", netns, "link", "set", "lo", "up")
    ip("link", "add", host, "type", "veth", "peer", "name", inner, "netns", netns)
    ip("addr", "add", f"{host_addr(port, 1)}/30", "dev", host)
    ip("link", "set", host, "up")
    ip("-n", netns, "addr", "add", f"{host_addr(port, 2)}/30", "dev", inner)
    ip("-n", netns, "link", "set", inner, "up")
    ip("-n", netns, "link", "add", "lease0", "type", "veth", "peer", "name", "lease1")
    ip("-n", netns, "addr", "add", f"{lease_addr}/14", "dev", "lease0")
    ip("-n", netns, "link", "set", "lease0", "up")
    ip("-n", netns, "link", "set", "lease1", "up")


def make_peer_link(names: list[str], ports: tuple[int, int]) -> None:
    """The veth pair between the two failover namespaces."""
    a, b = (peer_link(p) for p in ports)
    ip("link", "add", a, "netns", names[0], "type", "veth", "peer", "name", b, "netns", names[1])
    for netns, link, addr in (
        (names[0], a, PRIMARY_PEER_ADDRESS),
        (names[1], b, SECONDARY_PEER_ADDRESS),
    ):
        ip("-n", netns, "addr", "add", f"{addr}/30", "dev", link)
        ip("-n", netns, "link", "set", link, "up")


def make_client_netns(client: str, server: str, addr: str) -> None:
    """Namespace ``client`` holding ``lease1``, the far end of ``server``'s DHCP link.

    ``addr`` (with the lab network's /14) is the client side's address: DHCP load sent from
    there reaches dhcpd on ``lease0`` and has no other way out.
    """
    try:
        ip("netns", "add", client)
    except LabError as exc:
        raise LabUnavailable(f"cannot create network namespaces: {exc}") from exc
    ip("-n", client, "link", "set", "lo", "up")
    ip("-n", server, "link", "set", "lease1", "netns", client)
    ip("-n", client, "addr", "add", f"{addr}/14", "dev", "lease1")
    ip("-n", client, "link", "set", "lease1", "up")
