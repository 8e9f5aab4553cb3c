"""Monitoring ISC dhcpd: a Prometheus exporter and a pool utilisation report.

Theory of operation
-------------------
Three sources describe a dhcpd installation, and this package joins them:

* **dhcpd.conf** gives the address plan: ranges, the pools dhcpd builds from them, subnets
  and shared networks (:mod:`~aiomapi.monitor.layout`);
* **the lease file** gives each lease's binding state as dhcpd last wrote it
  (:mod:`~aiomapi.monitor.usage`);
* **the live servers**, over OMAPI, give their failover states and their own pool
  counters (:mod:`~aiomapi.monitor.live`, and :class:`aiomapi.failover.FailoverPair` for
  the pair's verdict).

:class:`Monitor` (:mod:`~aiomapi.monitor.collect`) gathers all three into a
:class:`Snapshot`, with bounded load on dhcpd and without ever raising for what it reads;
:mod:`~aiomapi.monitor.metrics` turns a snapshot into Prometheus metrics and
:mod:`~aiomapi.monitor.http` serves them; :mod:`~aiomapi.monitor.report` turns the same
sources into the ``aiomapi pools`` report. :mod:`~aiomapi.monitor.cli` holds the two
commands. See docs/monitoring.md.
"""

from .collect import LeaseFileReading, Monitor, ServerReading, ServerSpec, Snapshot
from .http import MetricsServer, make_registry
from .layout import Plan, PlanPool, PlanRange, PlanShared, PlanSubnet, plan_of
from .live import PoolRead, read_pools
from .metrics import METRICS, MetricSpec, MonitorCollector
from .report import PoolsReport, Row, build_report
from .targets import Targets, targets_from_options
from .usage import FileUsage, LiveCounts, StateCounts, count_file, live_totals

__all__ = [
    "METRICS",
    "FileUsage",
    "LeaseFileReading",
    "LiveCounts",
    "MetricSpec",
    "MetricsServer",
    "Monitor",
    "MonitorCollector",
    "Plan",
    "PlanPool",
    "PlanRange",
    "PlanShared",
    "PlanSubnet",
    "PoolRead",
    "PoolsReport",
    "Row",
    "ServerReading",
    "ServerSpec",
    "Snapshot",
    "StateCounts",
    "Targets",
    "build_report",
    "count_file",
    "live_totals",
    "make_registry",
    "plan_of",
    "read_pools",
    "targets_from_options",
]
