"""Lab servers: start a single dhcpd or a failover pair, and stop what a lab made.

Everything a lab builds is recorded first in its work directory (:mod:`.state`); :func:`stop`
undoes it from that record, so stopping is idempotent and also works after a crashed test
run. A single server lives in ``WORKDIR``; a pair in ``WORKDIR/primary`` and
``WORKDIR/secondary``.
"""

from __future__ import annotations

import os
import shutil
import signal
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

from aiomapi._sansio.auth import Key

from ..layout import LAB_MAX_RESPONSE_DELAY, LAB_MCLT, PEER_NAME
from . import netns as ns
from .config import (
    CLIENT_ADDRESS,
    KEY_NAME,
    MIN_RESPONSE_DELAY,
    check_args,
    check_secret,
    failover_stanza,
    write_conf,
    write_leases,
)
from .dhcp_load import stop_load
from .errors import LabError
from .omshell import DEFAULT_TIMEOUT
from .processes import check_environment, pid_is_ours, redact, spawn, stop_pid, wait_serving
from .state import STATE_FILE, LabState, lab_root, load_state, pid_files, save_state

__all__ = ["DhcpdInstance", "FailoverPair", "start_failover", "start_single", "stop"]


@dataclass(frozen=True, slots=True)
class DhcpdInstance:
    """One running dhcpd, reachable for OMAPI at ``host:port`` from the root namespace."""

    host: str
    port: int
    key_name: str
    secret: str = field(repr=False)  # base64
    algorithm: str
    pid: int
    netns: str
    leases: int
    workdir: Path
    log_path: Path
    #: The namespace holding the far end of dhcpd's DHCP link (``dhcp_client=True``), where
    #: :mod:`.dhcp_load` runs perfdhcp; None without one.
    client_netns: str | None = None

    @property
    def key(self) -> Key:
        """The OMAPI key this dhcpd was configured with."""
        return Key(self.key_name, self.secret, self.algorithm)

    def alive(self) -> bool:
        """Whether this dhcpd process still runs."""
        return pid_is_ours(self.pid, self.workdir)

    def log_text(self) -> str:
        """dhcpd's output so far (empty if there is no log yet)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of dhcpd's output, the key's secret redacted (dhcpd
        quotes offending config lines, which may hold it)."""
        return redact("\n".join(self.log_text().splitlines()[-lines:]), self.secret)


@dataclass(slots=True)
class FailoverPair:
    """A primary/secondary failover pair sharing the peer ``peer_name``."""

    primary: DhcpdInstance
    secondary: DhcpdInstance
    workdir: Path
    peer_name: str = PEER_NAME

    def cut(self) -> None:
        """Take the secondary's end of the peer link down (dhcpd notices after
        max-response-delay)."""
        ns.ip("-n", self.secondary.netns, "link", "set", ns.peer_link(self.secondary.port), "down")

    def heal(self) -> None:
        """Bring the peer link back up (dhcpd reconnects within about 5 s)."""
        ns.ip("-n", self.secondary.netns, "link", "set", ns.peer_link(self.secondary.port), "up")

    def kill_secondary(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the secondary and wait until it is gone.

        Debian's dhcpd has no gentle shutdown: SIGTERM ends it like SIGKILL, and
        the primary goes to communications-interrupted, not partner-down.
        """
        stop_pid(self.secondary.pid, self.workdir, sig)

    def start_secondary(self, *, timeout: float = DEFAULT_TIMEOUT) -> DhcpdInstance:
        """(Re)start the secondary on its existing files; waits until it serves,
        not for any failover state.  Returns (and stores) the new instance."""
        stop_pid(self.secondary.pid, self.workdir)
        log = self.secondary.log_path
        if log.exists():
            log.rename(log.with_name(f"{log.name}.{time.time_ns()}"))
        pid = spawn(self.secondary.netns, self.secondary.workdir, self.workdir)
        self.secondary = replace(self.secondary, pid=pid)
        wait_serving(self.secondary, timeout)
        return self.secondary

    def stop(self) -> None:
        """Stop both servers and remove everything the pair created."""
        stop(self.workdir)


def start_single(
    workdir: str | os.PathLike[str],
    port: int,
    n_leases: int,
    algorithm: str = "hmac-md5",
    *,
    secret: str | None = None,
    omapi_key: bool = True,
    extra_conf: str = "",
    leases_text: str | None = None,
    dhcp_client: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
) -> DhcpdInstance:
    """Start one dhcpd with ``n_leases`` active leases and wait until it serves.

    Args:
        workdir: directory for config, leases, pid, log and lab state; a lab
            already running there is stopped first.
        port: OMAPI port; also names the namespace and links.
        n_leases: leases 0..n_leases-1 (see :func:`~aiomapi.testing.layout.lab_lease`).
        algorithm: HMAC algorithm of the OMAPI key.
        secret: base64 key secret; random 32 bytes if None.
        omapi_key: False defines the key but leaves OMAPI unauthenticated.
        extra_conf: appended to the global part of dhcpd.conf.
        leases_text: leases file content instead of the generated leases.
        dhcp_client: also make the DHCP client namespace ``aiom-c-PORT`` on the far end of
            dhcpd's DHCP link, and a pool of
            :data:`~aiomapi.testing.dhcpd_lab.config.CLIENT_POOL_SIZE` addresses for the
            clients simulated there (:func:`~aiomapi.testing.dhcpd_lab.dhcp_load.run_perfdhcp`).
        timeout: seconds to wait for the server.

    Raises:
        LabUnavailable: this machine cannot run the lab.
        LabError: bad arguments, port in use, or dhcpd did not come up.
    """
    check_environment()
    check_args(n_leases, algorithm, port)
    secret = check_secret(secret)
    root = _prepare(workdir)
    netns = ns.port_netns(port)[0]
    client = ns.client_netns(port) if dhcp_client else None
    ns.claim_port(port)
    save_state(root, LabState([netns, *([client] if client else [])], [ns.host_link(port)], []))
    try:
        ns.make_netns(netns, port, "10.100.0.1")
        if client:
            ns.make_client_netns(client, netns, CLIENT_ADDRESS)
        conf = (root, port, algorithm, secret, n_leases, omapi_key, extra_conf)
        write_conf(*conf, client_pool=dhcp_client)
        write_leases(root, n_leases, leases_text)
        inst = _instance(root, netns, port, algorithm, secret, n_leases)
        inst = replace(inst, pid=spawn(netns, root, root), client_netns=client)
        wait_serving(inst, timeout)
    except BaseException:
        stop(root)
        raise
    return inst


def start_failover(
    workdir: str | os.PathLike[str],
    port1: int,
    port2: int,
    n_leases: int = 0,
    algorithm: str = "hmac-md5",
    *,
    mclt: int = LAB_MCLT,
    max_response_delay: int = LAB_MAX_RESPONSE_DELAY,
    auto_partner_down: int | None = None,
    secret: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> FailoverPair:
    """Start a failover pair (primary on ``port1``) with the same leases on both.

    Waits until both serve, not for normal/normal (see
    :func:`~aiomapi.testing.dhcpd_lab.wait_failover_states`).  The primary starts first: a
    secondary whose first connect is refused retries only after 5 s.

    Args:
        mclt: primary's maximum client lead time (>= 1, dhcpd requires one).
        max_response_delay: seconds of silence before a peer counts as gone
            (>= 3, see MIN_RESPONSE_DELAY).
        auto_partner_down: if set, seconds in communications-interrupted
            before dhcpd moves to partner-down by itself.

    Raises:
        LabUnavailable, LabError: as for :func:`start_single`.
    """
    check_environment()
    check_args(n_leases, algorithm, port1, port2)
    if mclt < 1 or max_response_delay < MIN_RESPONSE_DELAY:
        raise LabError(f"need mclt >= 1 and max_response_delay >= {MIN_RESPONSE_DELAY}")
    secret = check_secret(secret)
    root = _prepare(workdir)
    ports = (port1, port2)
    names = [ns.port_netns(p)[1] for p in ports]
    for p in ports:
        ns.claim_port(p)
    save_state(root, LabState(names, [ns.host_link(p) for p in ports], []))
    try:
        ns.make_netns(names[0], port1, "10.100.0.1")
        ns.make_netns(names[1], port2, "10.100.0.2")
        ns.make_peer_link(names, ports)
        insts = []
        for role, netns, port in zip(("primary", "secondary"), names, ports, strict=True):
            d = root / role
            d.mkdir()
            stanza = failover_stanza(role, mclt, max_response_delay, auto_partner_down)
            write_conf(d, port, algorithm, secret, n_leases, True, "", stanza)
            write_leases(d, n_leases, None)  # both: binding updates carry no hostnames
            inst = _instance(d, netns, port, algorithm, secret, n_leases)
            insts.append(inst := replace(inst, pid=spawn(netns, d, root)))
            wait_serving(inst, timeout)
    except BaseException:
        stop(root)
        raise
    return FailoverPair(insts[0], insts[1], root)


def stop(target: DhcpdInstance | FailoverPair | str | os.PathLike[str]) -> None:
    """Stop a lab and delete the namespaces and links it made.

    Idempotent; works from the work directory alone, also after a crash.  For
    a failover member (or its directory) the whole pair is stopped.
    """
    if isinstance(target, FailoverPair | DhcpdInstance):
        target = target.workdir
    root = lab_root(Path(target).resolve())
    state = load_state(root)
    pids = set(state.pids) | pid_files(root)
    for netns in state.netns:
        pids |= ns.netns_pids(netns)
        stop_load(netns)
    for pid in pids:
        stop_pid(pid, root)
    for netns in state.netns:
        if not ns.netns_pids(netns):
            ns.ip("netns", "del", netns, check=False)
    for link in state.links:
        if not ns.port_busy(int(link.removeprefix("aiomh"))):
            ns.ip("link", "del", link, check=False)
    (root / STATE_FILE).unlink(missing_ok=True)


def _instance(
    d: Path, netns: str, port: int, algorithm: str, secret: str, n_leases: int
) -> DhcpdInstance:
    return DhcpdInstance(
        host=ns.host_addr(port, 2),
        port=port,
        key_name=KEY_NAME,
        secret=secret,
        algorithm=algorithm,
        pid=0,
        netns=netns,
        leases=n_leases,
        workdir=d,
        log_path=d / "dhcpd.log",
    )


def _prepare(workdir: str | os.PathLike[str]) -> Path:
    """Make ``workdir`` empty of any previous lab; return it absolute."""
    root = Path(workdir).resolve()
    root.mkdir(parents=True, exist_ok=True)
    stop(root)
    for name in ("dhcpd.conf", "dhcpd.leases", "dhcpd.leases~", "dhcpd.pid", "dhcpd.log"):
        (root / name).unlink(missing_ok=True)
    for role in ("primary", "secondary"):
        shutil.rmtree(root / role, ignore_errors=True)
    return root
