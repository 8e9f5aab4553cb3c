"""Read and write dhcpd's lease file (``dhcpd.leases``) as ISC dhcpd 4.4 does.

Theory of operation
-------------------
The lease file is a log: dhcpd appends a declaration every time a lease, host, group, class or
failover state changes, and rewrites the whole file about once an hour (dhcpd.leases(5)).
:func:`parse_leases` replays the log the way dhcpd does into a :class:`LeaseDatabase`, the seed
of an in-memory dhcpd stand-in, and the ``format_*`` functions write declarations back in
dhcpd's own spelling. One module per job:

* :mod:`~aiomapi.leasefile.lexer` — tokens, quoted strings, addresses, hardware addresses and
  dates: the words dhcpd.conf and dhcpd.leases share (:mod:`aiomapi.config` reads dhcpd.conf
  with the same lexer);
* :mod:`~aiomapi.leasefile.records` — the record dataclasses and :class:`LeaseDatabase`: what is
  kept, what is interpreted;
* :mod:`~aiomapi.leasefile.parser` — the declarations of the lease file, replayed in order;
* :mod:`~aiomapi.leasefile.writer` — ``format_*``, as dhcpd's server/db.c writes.

The public names are the ones this package exports; the modules are internal.
"""

from .lexer import HARDWARE_TYPE_NAMES
from .parser import load_leases, parse_leases
from .records import (
    BindingValue,
    ClassRecord,
    FailoverPeerRecord,
    GroupRecord,
    HostRecord,
    LeaseDatabase,
    LeaseFileError,
    LeaseRecord,
    SubclassRecord,
)
from .writer import (
    format_class,
    format_database,
    format_failover_peer,
    format_group,
    format_host,
    format_lease,
    format_subclass,
)

__all__ = [
    "HARDWARE_TYPE_NAMES",
    "BindingValue",
    "ClassRecord",
    "FailoverPeerRecord",
    "GroupRecord",
    "HostRecord",
    "LeaseDatabase",
    "LeaseFileError",
    "LeaseRecord",
    "SubclassRecord",
    "format_class",
    "format_database",
    "format_failover_peer",
    "format_group",
    "format_host",
    "format_lease",
    "format_subclass",
    "load_leases",
    "parse_leases",
]
