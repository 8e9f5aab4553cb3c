"""The exporter's metrics: one table (:data:`METRICS`) and a collector that fills it.

Theory of operation
-------------------
Every metric is declared once in :data:`METRICS`: name, type, help text and labels.
docs/monitoring.md describes the same list and a test checks that the two agree.
:class:`MonitorCollector` is a ``prometheus_client`` collector: each call of ``collect()``
turns the monitor's latest :class:`~aiomapi.monitor.collect.Snapshot` into metric families.
It does no I/O and never waits: the HTTP side awaits :meth:`Monitor.snapshot` first and
only then renders, so the exposition is a pure function of the snapshot and the counters.

Naming follows Prometheus' conventions: ``dhcpd_`` for what describes dhcpd (its servers,
failover, pools, configuration and lease file), ``aiomapi_`` for the exporter itself;
units in names (``_seconds``, ``_timestamp_seconds``); ``_total`` only for counters;
plain ``leases`` and ``addresses`` as the unit of counts.

A state is a *state set*: one series per state name, 1 for the current state and 0 for
the others (label ``state``, or ``verdict`` for the pair), so that
``dhcpd_failover_local_state{state="normal"} == 0`` alerts and a dashboard can colour each
state; the number itself is in ``*_state_code``. A figure that could not be read is not
emitted at all (its series goes stale), and ``aiomapi_scrape_success`` says which stage
failed.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Final, Literal

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    InfoMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

from aiomapi import FailoverState, __version__
from aiomapi.failover import Verdict

from .collect import Monitor, Snapshot
from .usage import STATES

__all__ = ["METRICS", "MetricSpec", "MonitorCollector", "families"]

Kind = Literal["gauge", "counter", "info"]

_SERVER = ("server",)
_PEER = ("server", "peer")
_POOL = ("server", "pool", "subnet", "shared_network")


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One metric: its full name as exposed, type, help and label names."""

    name: str
    kind: Kind
    help: str
    labels: tuple[str, ...] = ()


M = MetricSpec
#: Every metric the exporter serves (besides prometheus_client's process_ and python_ ones).
METRICS: Final[tuple[MetricSpec, ...]] = (
    # ------------------------------------------------------------ the exporter
    M("aiomapi_exporter_info", "info", "The exporter's version.", ("version",)),
    M(
        "aiomapi_scrape_duration_seconds",
        "gauge",
        "How long the collection served took (OMAPI reads of every server, files).",
    ),
    M(
        "aiomapi_scrape_timestamp_seconds",
        "gauge",
        "When the collection served began, in seconds since the epoch.",
    ),
    M(
        "aiomapi_scrape_collections_total",
        "counter",
        "Collections made (each reads every server once).",
    ),
    M(
        "aiomapi_scrape_reused_total",
        "counter",
        "Scrapes answered with an earlier collection (younger than the reuse interval).",
    ),
    M(
        "aiomapi_scrape_success",
        "gauge",
        "Whether a stage of the collection served worked (1) or failed (0); stages "
        'omapi, failover and pools per server, config and leasefile with server="".',
        ("server", "stage"),
    ),
    M(
        "aiomapi_scrape_errors_total",
        "counter",
        "Collections in which a stage failed.",
        ("server", "stage"),
    ),
    # ------------------------------------------------------------ servers
    M("dhcpd_server_info", "info", "A server read, and where its OMAPI is.", ("server", "address")),
    M(
        "dhcpd_up",
        "gauge",
        "Whether the server answered an OMAPI request (connection, key and reply).",
        _SERVER,
    ),
    M(
        "dhcpd_omapi_round_trip_seconds",
        "gauge",
        "Seconds from sending one OMAPI request (open the control object) to its reply.",
        _SERVER,
    ),
    # ------------------------------------------------------------ failover
    M(
        "dhcpd_failover_local_state",
        "gauge",
        "The server's own failover state: 1 for the current state, 0 for the others.",
        (*_PEER, "state"),
    ),
    M(
        "dhcpd_failover_partner_state",
        "gauge",
        "The state the server last heard its partner in (stale while they cannot talk): "
        "1 for that state, 0 for the others.",
        (*_PEER, "state"),
    ),
    M(
        "dhcpd_failover_local_state_code",
        "gauge",
        "The server's own failover state as dhcpd's number (2 normal, 3 "
        "communications-interrupted, 4 partner-down, ...).",
        _PEER,
    ),
    M(
        "dhcpd_failover_partner_state_code",
        "gauge",
        "The partner's state as the server last heard it, as dhcpd's number.",
        _PEER,
    ),
    M(
        "dhcpd_failover_local_state_seconds",
        "gauge",
        "Seconds since the server entered its failover state (local-stos).",
        _PEER,
    ),
    M(
        "dhcpd_failover_partner_state_seconds",
        "gauge",
        "Seconds since the partner entered its state, as the server knows it (partner-stos).",
        _PEER,
    ),
    M(
        "dhcpd_failover_mclt_seconds",
        "gauge",
        "Maximum client lead time the server uses (a secondary learns it from its primary).",
        _PEER,
    ),
    M(
        "dhcpd_failover_max_response_delay_seconds",
        "gauge",
        "Seconds of silence after which the server counts its partner as gone.",
        _PEER,
    ),
    M(
        "dhcpd_failover_unacked_updates",
        "gauge",
        "Binding updates sent to the partner and not yet acknowledged.",
        _PEER,
    ),
    M(
        "dhcpd_failover_answers_clients",
        "gauge",
        "Whether the server answers DHCP clients at all in its failover state.",
        _PEER,
    ),
    M(
        "dhcpd_failover_pair_verdict",
        "gauge",
        "The pair judged from both servers' states: 1 for the verdict, 0 for the others "
        "(healthy, degraded, recovering, partner-down, inconsistent, unreachable).",
        ("peer", "verdict"),
    ),
    # ------------------------------------------------------------ pools (OMAPI)
    M("dhcpd_pool_leases", "gauge", "Leases in the pool (dhcpd's lease-count).", _POOL),
    M(
        "dhcpd_pool_free_leases",
        "gauge",
        "Free leases of the pool (dhcpd's free-leases; on a failover pair the primary's "
        "to give out).",
        _POOL,
    ),
    M(
        "dhcpd_pool_backup_leases",
        "gauge",
        "Backup leases of the pool (dhcpd's backup-leases: the failover secondary's to give out).",
        _POOL,
    ),
    M(
        "dhcpd_pool_active_leases",
        "gauge",
        "Leases of the pool neither free nor backup: leases - free - backup (held by "
        "clients, or expired, released or abandoned and not yet free again).",
        _POOL,
    ),
    # ------------------------------------------------------------ configuration
    M(
        "dhcpd_config_pool_addresses",
        "gauge",
        "Addresses in the pool's ranges, by dhcpd.conf.",
        ("pool", "subnet", "shared_network", "failover_peer"),
    ),
    M(
        "dhcpd_config_subnet_addresses",
        "gauge",
        "Addresses in the ranges of the subnet, by dhcpd.conf.",
        ("subnet", "shared_network"),
    ),
    M(
        "dhcpd_config_shared_network_addresses",
        "gauge",
        "Addresses in the ranges of the shared network, by dhcpd.conf.",
        ("shared_network",),
    ),
    # ------------------------------------------------------------ lease file
    M(
        "dhcpd_leasefile_pool_leases",
        "gauge",
        "Addresses of the pool by binding state in the lease file (addresses the file "
        "does not mention count as free).",
        ("pool", "subnet", "shared_network", "state"),
    ),
    M(
        "dhcpd_leasefile_subnet_leases",
        "gauge",
        "Addresses of the subnet's ranges by binding state in the lease file.",
        ("subnet", "shared_network", "state"),
    ),
    M(
        "dhcpd_leasefile_shared_network_leases",
        "gauge",
        "Addresses of the shared network's ranges by binding state in the lease file.",
        ("shared_network", "state"),
    ),
    M(
        "dhcpd_leasefile_outside_ranges_leases",
        "gauge",
        "Leases in the lease file outside every range of dhcpd.conf.",
    ),
    M(
        "dhcpd_leasefile_modified_timestamp_seconds",
        "gauge",
        "When dhcpd last wrote the lease file, in seconds since the epoch.",
    ),
    M(
        "aiomapi_leasefile_read_timestamp_seconds",
        "gauge",
        "When the lease-file counts served were made, in seconds since the epoch.",
    ),
)

_BY_NAME: Final = {m.name: m for m in METRICS}
_STATES: Final = tuple(FailoverState)
_VERDICTS: Final = tuple(Verdict)


class _Families:
    """Metric families by name, made from :data:`METRICS` on first use."""

    def __init__(self) -> None:
        self._made: dict[str, Metric] = {}

    def get(self, name: str) -> Metric:
        family = self._made.get(name)
        if family is None:
            family = self._made[name] = _family(_BY_NAME[name])
        return family

    def gauge(self, name: str, labels: Iterable[str], value: float) -> None:
        family = self.get(name)
        assert isinstance(family, GaugeMetricFamily)
        family.add_metric(list(labels), value)

    def counter(self, name: str, labels: Iterable[str], value: float) -> None:
        family = self.get(name)
        assert isinstance(family, CounterMetricFamily)
        family.add_metric(list(labels), value)

    def info(self, name: str, labels: Iterable[str], value: dict[str, str]) -> None:
        family = self.get(name)
        assert isinstance(family, InfoMetricFamily)
        family.add_metric(list(labels), value)

    def all(self) -> list[Metric]:
        """Every family that has samples, in the order of :data:`METRICS`."""
        return [self._made[m.name] for m in METRICS if m.name in self._made]


def _family(spec: MetricSpec) -> Metric:
    if spec.kind == "gauge":
        return GaugeMetricFamily(spec.name, spec.help, labels=spec.labels)
    if spec.kind == "counter":
        return CounterMetricFamily(spec.name, spec.help, labels=spec.labels)
    # InfoMetricFamily adds the _info suffix; its own labels are passed per sample.
    info_labels = [label for label in spec.labels if label not in _INFO_VALUE_LABELS]
    return InfoMetricFamily(spec.name.removesuffix("_info"), spec.help, labels=info_labels)


#: Labels of info metrics that are the info's value, not its identity.
_INFO_VALUE_LABELS: Final = frozenset({"version", "address"})


def families(
    snapshot: Snapshot | None,
    *,
    collections: int = 0,
    reused: int = 0,
    errors: dict[tuple[str, str], int] | None = None,
) -> list[Metric]:
    """The metric families for ``snapshot`` and the monitor's counters.

    Args:
        snapshot: the collection to describe; ``None`` before the first (then only the
            exporter's own metrics are given).
        collections, reused, errors: the monitor's counters (see :class:`Monitor`).
    """
    out = _Families()
    out.info("aiomapi_exporter_info", [], {"version": __version__})
    out.counter("aiomapi_scrape_collections_total", [], collections)
    out.counter("aiomapi_scrape_reused_total", [], reused)
    counted = dict(errors or {})
    if snapshot is not None:  # every stage that applies, failed or not, so rates start at 0
        for server, stage, _ok in snapshot.stages():
            counted.setdefault((server, stage), 0)
    for (server, stage), count in sorted(counted.items()):
        out.counter("aiomapi_scrape_errors_total", [server, stage], count)
    if snapshot is None:
        return out.all()
    out.gauge("aiomapi_scrape_duration_seconds", [], snapshot.duration)
    out.gauge("aiomapi_scrape_timestamp_seconds", [], snapshot.taken_at)
    for server, stage, ok in snapshot.stages():
        out.gauge("aiomapi_scrape_success", [server, stage], 1.0 if ok else 0.0)
    _servers(out, snapshot)
    _pair(out, snapshot)
    _config(out, snapshot)
    _leasefile(out, snapshot)
    return out.all()


def _servers(out: _Families, snapshot: Snapshot) -> None:
    plan = snapshot.plan
    pools = {} if plan is None else {p.name: p for p in plan.pools}
    for s in snapshot.servers:
        out.info("dhcpd_server_info", [s.label], {"address": s.address})
        out.gauge("dhcpd_up", [s.label], 1.0 if s.up else 0.0)
        if s.round_trip is not None:
            out.gauge("dhcpd_omapi_round_trip_seconds", [s.label], s.round_trip)
        _failover(out, s.label, snapshot)
        for read in s.pools:
            pool = pools.get(read.pool)
            if read.counts is None or pool is None:
                continue
            labels = [s.label, pool.name, pool.subnet, pool.shared_network]
            c = read.counts
            out.gauge("dhcpd_pool_leases", labels, c.leases)
            out.gauge("dhcpd_pool_free_leases", labels, c.free)
            out.gauge("dhcpd_pool_backup_leases", labels, c.backup)
            if c.active is not None:
                out.gauge("dhcpd_pool_active_leases", labels, c.active)


def _state_set(out: _Families, name: str, labels: list[str], value: object) -> None:
    for state in _STATES:
        out.gauge(name, [*labels, state.dhcpd_name], 1.0 if value == state else 0.0)


def _failover(out: _Families, label: str, snapshot: Snapshot) -> None:
    reading = next(s for s in snapshot.servers if s.label == label)
    status = reading.failover
    if status is None or status.peer is None or snapshot.peer is None:
        return
    peer = status.peer
    labels = [label, snapshot.peer]
    now = snapshot.pair.read_at if snapshot.pair is not None else _utc(snapshot.taken_at)
    _state_set(out, "dhcpd_failover_local_state", labels, peer.local_state)
    _state_set(out, "dhcpd_failover_partner_state", labels, peer.partner_state)
    out.gauge("dhcpd_failover_local_state_code", labels, int(peer.local_state))
    out.gauge("dhcpd_failover_partner_state_code", labels, int(peer.partner_state))
    seconds = status.seconds_in_state(now)
    if seconds is not None:
        out.gauge("dhcpd_failover_local_state_seconds", labels, seconds)
    since = status.partner_since
    if since is not None:
        partner = max(0.0, (now - since).total_seconds())
        out.gauge("dhcpd_failover_partner_state_seconds", labels, partner)
    out.gauge("dhcpd_failover_mclt_seconds", labels, peer.mclt)
    out.gauge("dhcpd_failover_max_response_delay_seconds", labels, peer.max_response_delay)
    out.gauge("dhcpd_failover_unacked_updates", labels, peer.cur_unacked_updates)
    answers = status.answers_clients
    if answers is not None:
        out.gauge("dhcpd_failover_answers_clients", labels, 1.0 if answers else 0.0)


def _pair(out: _Families, snapshot: Snapshot) -> None:
    pair = snapshot.pair
    if pair is None:
        return
    for verdict in _VERDICTS:
        value = 1.0 if pair.verdict is verdict else 0.0
        out.gauge("dhcpd_failover_pair_verdict", [pair.name, str(verdict)], value)


def _config(out: _Families, snapshot: Snapshot) -> None:
    plan = snapshot.plan
    if plan is None:
        return
    for p in plan.pools:
        labels = [p.name, p.subnet, p.shared_network, p.failover_peer or ""]
        out.gauge("dhcpd_config_pool_addresses", labels, p.addresses)
    for s in plan.subnets:
        out.gauge("dhcpd_config_subnet_addresses", [s.name, s.shared_network], s.addresses)
    for n in plan.shared_networks:
        out.gauge("dhcpd_config_shared_network_addresses", [n.name], n.addresses)


def _leasefile(out: _Families, snapshot: Snapshot) -> None:
    lf = snapshot.leasefile
    if lf is None:
        return
    if lf.modified is not None:
        out.gauge("dhcpd_leasefile_modified_timestamp_seconds", [], lf.modified)
    usage, plan = lf.usage, snapshot.plan
    if usage is None or plan is None or lf.read_at is None:
        return
    out.gauge("aiomapi_leasefile_read_timestamp_seconds", [], lf.read_at)
    out.gauge("dhcpd_leasefile_outside_ranges_leases", [], usage.outside)
    for p in plan.pools:
        counts = usage.get("pool", p.name)
        if counts is not None:
            for state in STATES:
                labels = [p.name, p.subnet, p.shared_network, state]
                out.gauge("dhcpd_leasefile_pool_leases", labels, counts.states.get(state, 0))
    for s in plan.subnets:
        counts = usage.get("subnet", s.name)
        if counts is not None:
            for state in STATES:
                labels = [s.name, s.shared_network, state]
                out.gauge("dhcpd_leasefile_subnet_leases", labels, counts.states.get(state, 0))
    for n in plan.shared_networks:
        counts = usage.get("shared-network", n.name)
        if counts is not None:
            for state in STATES:
                value = counts.states.get(state, 0)
                out.gauge("dhcpd_leasefile_shared_network_leases", [n.name, state], value)


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


class MonitorCollector(Collector):
    """A ``prometheus_client`` collector of a :class:`Monitor`'s latest snapshot.

    ``collect()`` does no I/O: await :meth:`Monitor.snapshot` before rendering.
    """

    def __init__(self, monitor: Monitor) -> None:
        self.monitor = monitor

    def describe(self) -> Iterator[Metric]:
        """Every family, without samples (for the registry's name checks)."""
        for spec in METRICS:
            yield _family(spec)

    def collect(self) -> Iterator[Metric]:
        m = self.monitor
        yield from families(m.last, collections=m.collections, reused=m.reused, errors=m.errors)
