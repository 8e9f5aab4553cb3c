"""Lookup benchmarks and the measurements behind them (not imported by ``import aiomapi``)."""
