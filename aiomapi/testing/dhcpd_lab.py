"""Real ISC dhcpd in private network namespaces, for tests and benchmarks.

Theory of operation
-------------------
Each server runs in its own network namespace (``aiom-s-PORT`` for a single
server, ``aiom-f-PORT`` for a failover peer), so any number of them can listen
on any port without touching the host's networking.  The root namespace
reaches a server over a veth pair on its own /30 carved from 100.80.0.0/14
(``aiomhPORT`` = 100.80.0.0 + 4*PORT + 1 on the host, ``aiomnPORT`` = +2 in
the namespace), which is where OMAPI is dialled; nothing is routed, the host
only talks to directly connected /30s.  dhcpd serves DHCP on ``lease0``, one
end of a veth pair internal to the namespace that carries 10.100.0.0/14, so
breaking other links never disturbs its DHCP interface.  Failover peers talk
over a third veth pair between their namespaces (10.254.0.1 <-> 10.254.0.2,
port 647); :meth:`FailoverPair.cut` downs the secondary's end of it.

dhcpd runs as ``setsid ip netns exec NS dhcpd -4 -f -d ...``: ``ip netns exec``
and ``setsid`` both exec, so the pid we spawn *is* dhcpd's, in a session of its
own, logging to ``dhcpd.log`` in its directory.  A server counts as started once
its log says ``Server starting service.`` and its OMAPI port accepts a TCP
connection.

Everything a lab builds is recorded first in ``aiomapi-lab.json`` in its work
directory; :func:`stop` reads it (or, if it was lost, the ports named in the
dhcpd configs) and undoes it, so stopping is idempotent and also works after a
crashed test run.  A process is only ever killed if its command line shows it
is a dhcpd whose ``-cf`` lies inside that work directory.

Names (``aiom*``) and addresses (100.80.0.0/14) are chosen not to collide with
other namespace labs on the same host.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import datetime as dt
import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

DHCPD = "/usr/sbin/dhcpd"
KEY_NAME = "omapi_key"
PEER_NAME = "lab"
ALGORITHMS = frozenset(
    {"hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"}
)
DEFAULT_TIMEOUT = 60.0  # seconds for any wait; 200 000 leases start in < 2 s
STATE_FILE = "aiomapi-lab.json"
FREE_ADDRESSES = 16  # pool addresses beyond the n_leases leases
# 10.100.0.0/14 minus the first /24 and the broadcast address leaves 261 887 hosts.
MAX_POOL = 261_880
HOST_NET = ipaddress.IPv4Address("100.80.0.0")  # /14: one /30 per port 0..65535
FIRST_LEASE = ipaddress.IPv4Address("10.100.1.0")
FAILOVER_PORT = 647
# Contacts go out every max-response-delay / 3 seconds (integer division in
# dhcpd's failover.c), so below 3 dhcpd would send them in a busy loop.
MIN_RESPONSE_DELAY = 3
FAILOVER_STATES = {
    0: "unknown",
    1: "startup",
    2: "normal",
    3: "communications-interrupted",
    4: "partner-down",
    5: "potential-conflict",
    6: "recover",
    7: "paused",
    8: "shutdown",
    9: "recover-done",
    10: "resolution-interrupted",
    11: "conflict-done",
    254: "recover-wait",
}


class LabError(RuntimeError):
    """The lab could not be started or changed."""


class LabUnavailable(LabError):
    """This machine cannot run the lab at all (not root, dhcpd or ip missing)."""


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

    def alive(self) -> bool:
        """Whether this dhcpd process still runs."""
        return _pid_is_ours(self.pid, self.workdir)

    def log_text(self) -> str:
        """dhcpd's output so far (empty if there is no log yet)."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    def log_tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of dhcpd's output, the key's secret redacted (dhcpd
        quotes offending config lines, which may hold it)."""
        return _redact("\n".join(self.log_text().splitlines()[-lines:]), self.secret)


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
        _ip("-n", self.secondary.netns, "link", "set", _peer_link(self.secondary.port), "down")

    def heal(self) -> None:
        """Bring the peer link back up (dhcpd reconnects within about 5 s)."""
        _ip("-n", self.secondary.netns, "link", "set", _peer_link(self.secondary.port), "up")

    def kill_secondary(self, sig: int = signal.SIGKILL) -> None:
        """Send ``sig`` to the secondary and wait until it is gone.

        Debian's dhcpd has no gentle shutdown: SIGTERM ends it like SIGKILL, and
        the primary goes to communications-interrupted, not partner-down.
        """
        _stop_pid(self.secondary.pid, self.workdir, sig)

    def start_secondary(self, *, timeout: float = DEFAULT_TIMEOUT) -> DhcpdInstance:
        """(Re)start the secondary on its existing files; waits until it serves,
        not for any failover state.  Returns (and stores) the new instance."""
        _stop_pid(self.secondary.pid, self.workdir)
        log = self.secondary.log_path
        if log.exists():
            log.rename(log.with_name(f"{log.name}.{time.time_ns()}"))
        pid = _spawn(self.secondary.netns, self.secondary.workdir, self.workdir)
        self.secondary = replace(self.secondary, pid=pid)
        _wait_serving(self.secondary, timeout)
        return self.secondary

    def stop(self) -> None:
        """Stop both servers and remove everything the pair created."""
        stop(self.workdir)


# ---------------------------------------------------------------- public helpers


def lease_ip(i: int) -> str:
    """Address of lab lease ``i`` (0-based): 10.100.1.0 + i."""
    return str(FIRST_LEASE + i)


def lease_mac(i: int) -> str:
    """Hardware address of lab lease ``i``: 02:00 followed by ``i`` as 4 bytes."""
    return ":".join(f"{b:02x}" for b in b"\x02\x00" + i.to_bytes(4, "big"))


def check_environment() -> None:
    """Raise :class:`LabUnavailable` unless this process can run the lab."""
    if os.geteuid() != 0:
        raise LabUnavailable("the dhcpd lab needs root (network namespaces)")
    if not os.access(DHCPD, os.X_OK):
        raise LabUnavailable(f"{DHCPD} not found (apt-get install isc-dhcp-server)")
    for tool in ("ip", "setsid"):
        if shutil.which(tool) is None:
            raise LabUnavailable(f"{tool!r} not found (apt-get install iproute2 util-linux)")


def port_busy(port: int) -> bool:
    """Whether a lab namespace for ``port`` still runs processes (maybe another lab's)."""
    return any(_netns_pids(netns) for netns in _port_netns(port))


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
    timeout: float = DEFAULT_TIMEOUT,
) -> DhcpdInstance:
    """Start one dhcpd with ``n_leases`` active leases and wait until it serves.

    Args:
        workdir: directory for config, leases, pid, log and lab state; a lab
            already running there is stopped first.
        port: OMAPI port; also names the namespace and links.
        n_leases: leases 0..n_leases-1 (see :func:`lease_ip`).
        algorithm: HMAC algorithm of the OMAPI key.
        secret: base64 key secret; random 32 bytes if None.
        omapi_key: False defines the key but leaves OMAPI unauthenticated.
        extra_conf: appended to the global part of dhcpd.conf.
        leases_text: leases file content instead of the generated leases.
        timeout: seconds to wait for the server.

    Raises:
        LabUnavailable: this machine cannot run the lab.
        LabError: bad arguments, port in use, or dhcpd did not come up.
    """
    check_environment()
    _check_args(n_leases, algorithm, port)
    secret = _check_secret(secret)
    root = _prepare(workdir)
    netns = _port_netns(port)[0]
    _claim_port(port)
    _save_state(root, _LabState([netns], [_host_link(port)], []))
    try:
        _make_netns(netns, port, "10.100.0.1")
        _write_conf(root, port, algorithm, secret, n_leases, omapi_key, extra_conf)
        _write_leases(root, n_leases, leases_text)
        inst = _instance(root, netns, port, algorithm, secret, n_leases)
        inst = replace(inst, pid=_spawn(netns, root, root))
        _wait_serving(inst, timeout)
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
    mclt: int = 30,
    max_response_delay: int = 30,
    auto_partner_down: int | None = None,
    secret: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> FailoverPair:
    """Start a failover pair (primary on ``port1``) with the same leases on both.

    Waits until both serve, not for normal/normal (see
    :func:`wait_failover_states`).  The primary starts first: a secondary whose
    first connect is refused retries only after 5 s.

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
    _check_args(n_leases, algorithm, port1, port2)
    if mclt < 1 or max_response_delay < MIN_RESPONSE_DELAY:
        raise LabError(f"need mclt >= 1 and max_response_delay >= {MIN_RESPONSE_DELAY}")
    secret = _check_secret(secret)
    root = _prepare(workdir)
    ports = (port1, port2)
    names = [_port_netns(p)[1] for p in ports]
    for p in ports:
        _claim_port(p)
    _save_state(root, _LabState(names, [_host_link(p) for p in ports], []))
    try:
        _make_netns(names[0], port1, "10.100.0.1")
        _make_netns(names[1], port2, "10.100.0.2")
        _make_peer_link(names, ports)
        insts = []
        for role, netns, port in zip(("primary", "secondary"), names, ports, strict=True):
            d = root / role
            d.mkdir()
            stanza = _failover_stanza(role, mclt, max_response_delay, auto_partner_down)
            _write_conf(d, port, algorithm, secret, n_leases, True, "", stanza)
            _write_leases(d, n_leases, None)  # both: binding updates carry no hostnames
            inst = _instance(d, netns, port, algorithm, secret, n_leases)
            insts.append(inst := replace(inst, pid=_spawn(netns, d, root)))
            _wait_serving(inst, timeout)
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
    root = _lab_root(Path(target).resolve())
    state = _load_state(root)
    pids = set(state.pids) | _pid_files(root)
    for netns in state.netns:
        pids |= _netns_pids(netns)
    for pid in pids:
        _stop_pid(pid, root)
    for netns in state.netns:
        if not _netns_pids(netns):
            _ip("netns", "del", netns, check=False)
    for link in state.links:
        if not port_busy(int(link.removeprefix("aiomh"))):
            _ip("link", "del", link, check=False)
    (root / STATE_FILE).unlink(missing_ok=True)


def omshell(
    instance: DhcpdInstance, script: str, *, key: bool = True, timeout: float = 10.0
) -> str:
    """Run ``omshell`` connected to ``instance`` (with its key unless ``key`` is
    False) on the commands in ``script``; returns its output, secret redacted."""
    lines = [f"server {instance.host}", f"port {instance.port}"]
    if key:
        lines += [
            f"key-algorithm {instance.algorithm}",
            f"key {instance.key_name} {instance.secret}",
        ]
    stdin = "\n".join([*lines, "connect", script.strip(), ""])
    try:
        done = subprocess.run(
            ["omshell"], input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except FileNotFoundError as exc:
        raise LabUnavailable("omshell not found (apt-get install isc-dhcp-server)") from exc
    except subprocess.TimeoutExpired as exc:
        raise LabError(f"omshell against {instance.host}:{instance.port} timed out") from exc
    return _redact(done.stdout + done.stderr, instance.secret)


def omshell_failover_states(instance: DhcpdInstance) -> tuple[str, str]:
    """(local-state, partner-state) of the lab's failover peer, via omshell.

    ("down", "down") if the server does not answer.  partner-state is the last
    state the partner reported, so it lags while the peers cannot talk.
    """
    out = omshell(instance, f'new failover-state\nset name = "{PEER_NAME}"\nopen')
    local = re.findall(r"local-state = ([0-9a-f:]+)", out)
    partner = re.findall(r"partner-state = ([0-9a-f:]+)", out)
    if not local or not partner:
        return ("down", "down")
    return (_state_name(local[-1]), _state_name(partner[-1]))


def wait_failover_states(
    pair: FailoverPair,
    primary: str | None = "normal",
    secondary: str | None = "normal",
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> float:
    """Poll with omshell until the local states are ``primary``/``secondary``
    (None: any); returns the seconds it took.

    Raises:
        LabError: not reached within ``timeout``.
    """
    t0 = time.monotonic()
    while True:
        a = omshell_failover_states(pair.primary)
        b = omshell_failover_states(pair.secondary)
        if primary in (None, a[0]) and secondary in (None, b[0]):
            return time.monotonic() - t0
        if time.monotonic() - t0 > timeout:
            raise LabError(f"after {timeout} s: primary {a}, secondary {b}")
        time.sleep(0.25)


def _state_name(value: str) -> str:
    """omshell prints states as 4 hex bytes: 00:00:00:02 -> "normal"."""
    n = int(value.replace(":", ""), 16)
    return FAILOVER_STATES.get(n, f"state{n}")


# ---------------------------------------------------------------- configuration


def _check_args(n_leases: int, algorithm: str, *ports: int) -> None:
    if algorithm not in ALGORITHMS:
        raise LabError(f"algorithm must be one of {sorted(ALGORITHMS)}, not {algorithm!r}")
    if not 0 <= n_leases <= MAX_POOL - FREE_ADDRESSES:
        raise LabError(f"n_leases must be 0..{MAX_POOL - FREE_ADDRESSES}")
    if not all(0 < p < 65536 for p in ports) or len(set(ports)) != len(ports):
        raise LabError(f"bad ports {ports}")


def _check_secret(secret: str | None) -> str:
    if secret is None:
        return base64.b64encode(secrets.token_bytes(32)).decode()
    try:
        base64.b64decode(secret, validate=True)
    except binascii.Error:
        raise LabError("secret must be base64") from None
    return secret


def _write_conf(
    d: Path,
    port: int,
    algorithm: str,
    secret: str,
    n_leases: int,
    omapi_key: bool,
    extra_conf: str,
    failover: str = "",
) -> None:
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


def _failover_stanza(role: str, mclt: int, delay: int, auto_partner_down: int | None) -> str:
    me, peer = ("10.254.0.1", "10.254.0.2") if role == "primary" else ("10.254.0.2", "10.254.0.1")
    extra = f"mclt {mclt}; split 128;" if role == "primary" else ""
    if auto_partner_down is not None:
        extra += f" auto-partner-down {auto_partner_down};"
    return f"""\
failover peer "{PEER_NAME}" {{
  {role}; address {me}; port {FAILOVER_PORT}; peer address {peer}; peer port {FAILOVER_PORT};
  max-response-delay {delay}; max-unacked-updates 10; load balance max seconds 5; {extra}
}}"""


def _write_leases(d: Path, n_leases: int, leases_text: str | None) -> None:
    with (d / "dhcpd.leases").open("w") as f:
        if leases_text is not None:
            f.write(leases_text)
        else:
            f.writelines(_lease_records(n_leases))


def _lease_records(n: int) -> Iterator[str]:
    # %w: dhcpd's weekday field, 0 = Sunday.  2037-12-31 23:59:59 UTC is the
    # latest end dhcpd keeps as a date (later ones it writes as "never").
    now = dt.datetime.now(dt.UTC).strftime("%w %Y/%m/%d %H:%M:%S")
    for i in range(n):
        yield (
            f"lease {lease_ip(i)} {{\n  starts {now};\n  ends 4 2037/12/31 23:59:59;\n"
            f"  cltt {now};\n  binding state active;\n  next binding state free;\n"
            f"  rewind binding state free;\n  hardware ethernet {lease_mac(i)};\n"
            f'  client-hostname "host{i}";\n}}\n'
        )


def _instance(
    d: Path, netns: str, port: int, algorithm: str, secret: str, n_leases: int
) -> DhcpdInstance:
    return DhcpdInstance(
        host=_host_addr(port, 2),
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


# ---------------------------------------------------------------- networking


def _host_addr(port: int, k: int) -> str:
    return str(HOST_NET + 4 * port + k)


def _host_link(port: int) -> str:
    return f"aiomh{port}"


def _peer_link(port: int) -> str:
    return f"aiomp{port}"


def _ip(*args: str, check: bool = True) -> str:
    """Run ``ip ARGS``; raise LabError on failure if ``check``."""
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise LabError(f"ip {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


def _netns_pids(netns: str) -> set[int]:
    out = _ip("netns", "pids", netns, check=False)
    return {int(p) for p in out.split()}


def _claim_port(port: int) -> None:
    """Refuse a port whose namespace still runs something; drop stale leftovers."""
    if port_busy(port):
        raise LabError(f"port {port} is in use by another lab (stop it first)")
    for netns in _port_netns(port):
        _ip("netns", "del", netns, check=False)
    _ip("link", "del", _host_link(port), check=False)


def _port_netns(port: int) -> tuple[str, str]:
    return (f"aiom-s-{port}", f"aiom-f-{port}")


def _make_netns(netns: str, port: int, lease_addr: str) -> None:
    """Namespace + host link on the port's /30 + internal lease veth."""
    try:
        _ip("netns", "add", netns)
    except LabError as exc:
        raise LabUnavailable(f"cannot create network namespaces: {exc}") from exc
    host, inner = _host_link(port), f"aiomn{port}"
    _ip("-n", netns, "link", "set", "lo", "up")
    _ip("link", "add", host, "type", "veth", "peer", "name", inner, "netns", netns)
    _ip("addr", "add", f"{_host_addr(port, 1)}/30", "dev", host)
    _ip("link", "set", host, "up")
    _ip("-n", netns, "addr", "add", f"{_host_addr(port, 2)}/30", "dev", inner)
    _ip("-n", netns, "link", "set", inner, "up")
    _ip("-n", netns, "link", "add", "lease0", "type", "veth", "peer", "name", "lease1")
    _ip("-n", netns, "addr", "add", f"{lease_addr}/14", "dev", "lease0")
    _ip("-n", netns, "link", "set", "lease0", "up")
    _ip("-n", netns, "link", "set", "lease1", "up")


def _make_peer_link(names: list[str], ports: tuple[int, int]) -> None:
    a, b = (_peer_link(p) for p in ports)
    _ip("link", "add", a, "netns", names[0], "type", "veth", "peer", "name", b, "netns", names[1])
    for netns, link, addr in ((names[0], a, "10.254.0.1"), (names[1], b, "10.254.0.2")):
        _ip("-n", netns, "addr", "add", f"{addr}/30", "dev", link)
        _ip("-n", netns, "link", "set", link, "up")


# ---------------------------------------------------------------- processes

# The dhcpds this process started, with their argv, so they can be reaped
# (a dead but unreaped child would look alive to kill(pid, 0)).
_children: dict[int, tuple[subprocess.Popen[bytes], list[str]]] = {}


def _spawn(netns: str, d: Path, root: Path) -> int:
    """Start dhcpd for the files in ``d``; record its pid in the lab state."""
    # A stale pid file naming a not-yet-reaped zombie makes dhcpd refuse to start.
    (d / "dhcpd.pid").unlink(missing_ok=True)
    argv = ["setsid", "ip", "netns", "exec", netns, DHCPD, "-4", "-f", "-d"]
    argv += ["-cf", str(d / "dhcpd.conf"), "-lf", str(d / "dhcpd.leases")]
    argv += ["-pf", str(d / "dhcpd.pid"), "lease0"]
    with (d / "dhcpd.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    _children[proc.pid] = (proc, argv)
    state = _load_state(root)
    state.pids.append(proc.pid)
    _save_state(root, state)
    return proc.pid


def _wait_serving(inst: DhcpdInstance, timeout: float) -> None:
    """Wait for "Server starting service." and an accepted TCP connect."""
    deadline = time.monotonic() + timeout
    while True:
        if not inst.alive():
            raise LabError(f"dhcpd {inst.pid} exited:\n{inst.log_tail()}")
        if "Server starting service." in inst.log_text() and _connects(inst.host, inst.port):
            return
        if time.monotonic() > deadline:
            raise LabError(f"dhcpd {inst.pid} not serving after {timeout} s:\n{inst.log_tail()}")
        time.sleep(0.05)


def _connects(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=1.0).close()
    except OSError:
        return False
    return True


def _redact(text: str, secret: str) -> str:
    return text.replace(secret, "<secret>") if secret else text


def _pid_is_ours(pid: int, root: Path) -> bool:
    """A live dhcpd whose -cf lies inside ``root``.

    Our own children are judged by ``poll()``: while setsid and ip exec their
    way to dhcpd, /proc/PID/cmdline briefly reads empty.  Other pids (left by
    an earlier, crashed run) by their cmdline, which a zombie does not have.
    """
    if pid in _children:
        proc, argv = _children[pid]
        if proc.poll() is not None:
            del _children[pid]
            return False
    else:
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            return False
    if not any(Path(a).name == "dhcpd" for a in argv) or "-cf" not in argv[:-1]:
        return False
    return Path(argv[argv.index("-cf") + 1]).is_relative_to(root)


def _stop_pid(pid: int, root: Path, sig: int = signal.SIGTERM, grace: float = 3.0) -> None:
    """Send ``sig`` to our dhcpd ``pid``, SIGKILL it after ``grace`` s, reap it."""
    if not _pid_is_ours(pid, root):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + grace
    while _pid_is_ours(pid, root):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + grace
        time.sleep(0.02)


# ---------------------------------------------------------------- lab state


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


def _lab_root(path: Path) -> Path:
    """The lab directory for ``path``: itself, or the pair directory above a role."""
    if not (path / STATE_FILE).exists() and (path.parent / STATE_FILE).exists():
        return path.parent
    return path


@dataclass(slots=True)
class _LabState:
    """What a lab created, saved as JSON before it is created."""

    netns: list[str]
    links: list[str]
    pids: list[int]


def _save_state(root: Path, state: _LabState) -> None:
    (root / STATE_FILE).write_text(json.dumps(asdict(state)))


def _load_state(root: Path) -> _LabState:
    """The saved state, or if it was lost what the dhcpd configs imply."""
    try:
        return _LabState(**json.loads((root / STATE_FILE).read_text()))
    except FileNotFoundError:
        pass
    ports = set()
    for conf in [root / "dhcpd.conf", *root.glob("*/dhcpd.conf")]:
        with contextlib.suppress(OSError):
            ports |= set(re.findall(r"^omapi-port (\d+);", conf.read_text(), re.M))
    return _LabState(
        netns=[netns for p in sorted(ports) for netns in _port_netns(int(p))],
        links=[f"aiomh{p}" for p in sorted(ports)],
        pids=[],
    )


def _pid_files(root: Path) -> set[int]:
    pids = set()
    for f in [root / "dhcpd.pid", *root.glob("*/dhcpd.pid")]:
        with contextlib.suppress(OSError, ValueError):
            pids.add(int(f.read_text().strip()))
    return pids
