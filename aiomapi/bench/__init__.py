"""Lookup benchmarks and the measurements behind them (not imported by ``import aiomapi``).

One module per job: :mod:`~aiomapi.bench.lookups` (the lookup runner, and ``bench_server`` /
``bench_embedded`` behind ``aiomapi bench``), :mod:`~aiomapi.bench.process` (CPU time and
memory of processes and the machine), :mod:`~aiomapi.bench.histogram` (latency
percentiles), :mod:`~aiomapi.bench.results` (what a run reports) and
:mod:`~aiomapi.bench.report` (progress line, text tables).
"""
