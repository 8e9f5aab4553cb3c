"""Real ISC dhcpd in private network namespaces, for tests and benchmarks.

Theory of operation
-------------------
Each server runs in its own network namespace, so any number of them can listen on any
port without touching the host's networking (:mod:`.netns`). The root namespace reaches a
server over a veth pair on a /30 of its own, which is where OMAPI is dialled; dhcpd serves
DHCP on a veth pair inside its namespace, so breaking other links never disturbs its DHCP
interface. With ``dhcp_client=True`` the far end of that pair sits in a client namespace of
its own, where :mod:`.dhcp_load` runs perfdhcp to measure dhcpd's DHCP service. Failover
peers talk over a third veth pair between their namespaces; :meth:`FailoverPair.cut` downs
the secondary's end of it.

A lab server's files are written by :mod:`.config` from the data in
:mod:`aiomapi.testing.layout` (the same data :class:`~aiomapi.testing.FakeDhcpd` can be
seeded with); :mod:`.processes` runs dhcpd in the namespace and waits until it serves;
:mod:`.state` records everything a lab builds before it is built, so that :func:`stop`
(:mod:`.servers`) can always undo it, also after a crashed test run; :mod:`.omshell` runs
ISC's own client against a server.

Names (``aiom*``) and addresses (100.80.0.0/14) are chosen not to collide with other
namespace labs on the same host. The binary is :data:`.processes.DHCPD`.
"""

from __future__ import annotations

from ..layout import (
    FAILOVER_PORT,
    FIRST_LEASE,
    FREE_ADDRESSES,
    MAX_POOL,
    PEER_NAME,
    lease_ip,
    lease_mac,
)
from .config import ALGORITHMS, CLIENT_ADDRESS, CLIENT_POOL_SIZE, KEY_NAME, MIN_RESPONSE_DELAY

# The config writers under their old private names (tests/unit/test_config.py drives them).
from .config import failover_stanza as _failover_stanza
from .config import lease_records as _lease_records
from .config import write_conf as _write_conf
from .dhcp_load import PERFDHCP, Exchange, LoadReport, parse_report, perfdhcp, run_perfdhcp
from .errors import LabError, LabUnavailable
from .netns import HOST_NET, port_busy
from .omshell import (
    DEFAULT_TIMEOUT,
    FAILOVER_STATES,
    omshell,
    omshell_failover_states,
    wait_failover_states,
)
from .processes import DHCPD, check_environment
from .servers import DhcpdInstance, FailoverPair, start_failover, start_single, stop
from .state import STATE_FILE

__all__ = [
    "ALGORITHMS",
    "CLIENT_ADDRESS",
    "CLIENT_POOL_SIZE",
    "DEFAULT_TIMEOUT",
    "DHCPD",
    "FAILOVER_PORT",
    "FAILOVER_STATES",
    "FIRST_LEASE",
    "FREE_ADDRESSES",
    "HOST_NET",
    "KEY_NAME",
    "MAX_POOL",
    "MIN_RESPONSE_DELAY",
    "PEER_NAME",
    "PERFDHCP",
    "STATE_FILE",
    "DhcpdInstance",
    "Exchange",
    "FailoverPair",
    "LabError",
    "LabUnavailable",
    "LoadReport",
    "_failover_stanza",
    "_lease_records",
    "_write_conf",
    "check_environment",
    "lease_ip",
    "lease_mac",
    "omshell",
    "omshell_failover_states",
    "parse_report",
    "perfdhcp",
    "port_busy",
    "run_perfdhcp",
    "start_failover",
    "start_single",
    "stop",
    "wait_failover_states",
]
