"""Lookup benchmarks and the measurements behind them (not imported by ``import aiomapi``).

One module per job: :mod:`~aiomapi.bench.compare` (``aiomapi bench``: aiomapi beside its
peers, with ratios), :mod:`~aiomapi.bench.embedded` (the in-memory server in a process of
its own), :mod:`~aiomapi.bench.peers` (pypureomapi and omshell, each in its own process),
:mod:`~aiomapi.bench.lookups` (aiomapi's lookup runner), :mod:`~aiomapi.bench.process`
(CPU time and memory of processes and the machine), :mod:`~aiomapi.bench.histogram`
(latency percentiles), :mod:`~aiomapi.bench.results` (what a run reports) and
:mod:`~aiomapi.bench.report` (progress bar, text tables).
"""
