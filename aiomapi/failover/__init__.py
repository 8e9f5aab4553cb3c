"""Failover helpers: which peer of a dhcpd failover pair answers a client.

* :mod:`aiomapi.failover.loadbalance`: the decision as pure functions (RFC 3074's hash,
  the hash bucket assignment, the failover states);
* :mod:`aiomapi.failover.explain`: the same decision for a live pair read over OMAPI;
* :mod:`aiomapi.failover.cli`: the ``who-serves`` command;
* :mod:`aiomapi.failover.pair`: both servers of a pair as one (:class:`FailoverPair`:
  status and verdict, resync, guarded partner-down, host reservations on both);
* :mod:`aiomapi.failover.connect`: where the two servers are (options, dhcpd.conf);
* :mod:`aiomapi.failover.cli_pair`: the ``status``, ``resync``, ``partner-down`` and
  ``hosts`` commands.

Built on the public ``aiomapi`` API only. See docs/load-balancing.md and docs/failover.md.
"""

from .explain import explain_who_serves, read_pair
from .loadbalance import (
    HBA_LEN,
    Decision,
    bucket_owner,
    client_key,
    hba_from_split,
    load_balance_hash,
    service_of,
    who_serves,
)
from .pair import (
    FailoverPair,
    HostResult,
    PairHostResult,
    PairStatus,
    PeerStatus,
    RefusedError,
    ResyncResult,
    ResyncStep,
    Verdict,
)

__all__ = [
    "HBA_LEN",
    "Decision",
    "FailoverPair",
    "HostResult",
    "PairHostResult",
    "PairStatus",
    "PeerStatus",
    "RefusedError",
    "ResyncResult",
    "ResyncStep",
    "Verdict",
    "bucket_owner",
    "client_key",
    "explain_who_serves",
    "hba_from_split",
    "load_balance_hash",
    "read_pair",
    "service_of",
    "who_serves",
]
