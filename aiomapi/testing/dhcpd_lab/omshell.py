"""ISC's ``omshell``, run against lab servers: a second opinion independent of aiomapi."""

from __future__ import annotations

import re
import subprocess
import time
from typing import TYPE_CHECKING

from aiomapi.facts import FAILOVER_STATE_NAMES

from ..layout import PEER_NAME
from .errors import LabError, LabUnavailable
from .processes import redact

if TYPE_CHECKING:
    from .servers import DhcpdInstance, FailoverPair

__all__ = [
    "DEFAULT_TIMEOUT",
    "FAILOVER_STATES",
    "omshell",
    "omshell_failover_states",
    "wait_failover_states",
]

DEFAULT_TIMEOUT = 60.0  # seconds for any wait; 200 000 leases start in < 2 s
#: Failover state names by number, as dhcpd logs them (aiomapi.facts).
FAILOVER_STATES = FAILOVER_STATE_NAMES


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
    return redact(done.stdout + done.stderr, instance.secret)


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
    return (state_name(local[-1]), state_name(partner[-1]))


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


def state_name(value: str) -> str:
    """omshell prints states as 4 hex bytes: 00:00:00:02 -> "normal"."""
    n = int(value.replace(":", ""), 16)
    return FAILOVER_STATES.get(n, f"state{n}")
