"""Starting, watching and stopping the lab's dhcpd processes.

dhcpd runs as ``setsid ip netns exec NS dhcpd -4 -f -d ...``: ``ip netns exec`` and
``setsid`` both exec, so the pid spawned *is* dhcpd's, in a session of its own, logging to
``dhcpd.log`` in its directory. A server counts as started once its log says ``Server
starting service.`` and its OMAPI port accepts a TCP connection. A process is only ever
signalled if its command line shows it is a dhcpd whose ``-cf`` lies inside the lab's work
directory.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import LabError, LabUnavailable
from .state import load_state, save_state

if TYPE_CHECKING:
    from .servers import DhcpdInstance

__all__ = [
    "DHCPD",
    "check_environment",
    "pid_is_ours",
    "redact",
    "spawn",
    "stop_pid",
    "wait_serving",
]

#: The dhcpd binary the lab runs (Debian's isc-dhcp-server).
DHCPD = "/usr/sbin/dhcpd"

# The dhcpds this process started, with their argv, so they can be reaped
# (a dead but unreaped child would look alive to kill(pid, 0)).
_children: dict[int, tuple[subprocess.Popen[bytes], list[str]]] = {}


def check_environment() -> None:
    """Raise :class:`LabUnavailable` unless this process can run the lab."""
    if os.geteuid() != 0:
        raise LabUnavailable("the dhcpd lab needs root (network namespaces)")
    if not os.access(DHCPD, os.X_OK):
        raise LabUnavailable(f"{DHCPD} not found (apt-get install isc-dhcp-server)")
    for tool in ("ip", "setsid"):
        if shutil.which(tool) is None:
            raise LabUnavailable(f"{tool!r} not found (apt-get install iproute2 util-linux)")


def spawn(netns: str, d: Path, root: Path) -> int:
    """Start dhcpd for the files in ``d``; record its pid in the lab state."""
    # A stale pid file naming a not-yet-reaped zombie makes dhcpd refuse to start.
    (d / "dhcpd.pid").unlink(missing_ok=True)
    argv = ["setsid", "ip", "netns", "exec", netns, DHCPD, "-4", "-f", "-d"]
    argv += ["-cf", str(d / "dhcpd.conf"), "-lf", str(d / "dhcpd.leases")]
    argv += ["-pf", str(d / "dhcpd.pid"), "lease0"]
    with (d / "dhcpd.log").open("wb") as log:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    _children[proc.pid] = (proc, argv)
    state = load_state(root)
    state.pids.append(proc.pid)
    save_state(root, state)
    return proc.pid


def wait_serving(inst: DhcpdInstance, timeout: float) -> None:
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


def redact(text: str, secret: str) -> str:
    """``text`` with ``secret`` replaced by ``<secret>``."""
    return text.replace(secret, "<secret>") if secret else text


def pid_is_ours(pid: int, root: Path) -> bool:
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


def stop_pid(pid: int, root: Path, sig: int = signal.SIGTERM, grace: float = 3.0) -> None:
    """Send ``sig`` to our dhcpd ``pid``, SIGKILL it after ``grace`` s, reap it."""
    if not pid_is_ours(pid, root):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, sig)
    deadline = time.monotonic() + grace
    while pid_is_ours(pid, root):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + grace
        time.sleep(0.02)
