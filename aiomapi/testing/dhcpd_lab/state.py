"""What a lab created, saved before it is created, so that it can always be undone.

The record is ``aiomapi-lab.json`` in the lab's work directory. If it was lost (a crashed
run), the ports named in the dhcpd configs there say which namespaces and links to remove.
"""

from __future__ import annotations

import contextlib
import json
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from .netns import client_netns, host_link, port_netns

__all__ = ["STATE_FILE", "LabState", "lab_root", "load_state", "pid_files", "save_state"]

STATE_FILE = "aiomapi-lab.json"


@dataclass(slots=True)
class LabState:
    """What a lab created, saved as JSON before it is created."""

    netns: list[str]
    links: list[str]
    pids: list[int]


def save_state(root: Path, state: LabState) -> None:
    (root / STATE_FILE).write_text(json.dumps(asdict(state)))


def load_state(root: Path) -> LabState:
    """The saved state, or if it was lost what the dhcpd configs imply."""
    try:
        return LabState(**json.loads((root / STATE_FILE).read_text()))
    except FileNotFoundError:
        pass
    ports = set()
    for conf in [root / "dhcpd.conf", *root.glob("*/dhcpd.conf")]:
        with contextlib.suppress(OSError):
            ports |= set(re.findall(r"^omapi-port (\d+);", conf.read_text(), re.M))
    return LabState(
        netns=[n for p in sorted(ports) for n in (*port_netns(int(p)), client_netns(int(p)))],
        links=[host_link(int(p)) for p in sorted(ports)],
        pids=[],
    )


def lab_root(path: Path) -> Path:
    """The lab directory for ``path``: itself, or the pair directory above a role."""
    if not (path / STATE_FILE).exists() and (path.parent / STATE_FILE).exists():
        return path.parent
    return path


def pid_files(root: Path) -> set[int]:
    """The pids in the dhcpd pid files of the lab at ``root``."""
    pids = set()
    for f in [root / "dhcpd.pid", *root.glob("*/dhcpd.pid")]:
        with contextlib.suppress(OSError, ValueError):
            pids.add(int(f.read_text().strip()))
    return pids
