"""Benchmarks: ``python -m benchmarks.run`` (lookups against dhcpd) and
``python -m benchmarks.codec`` (codec micro-benchmarks). See docs/benchmarks.md."""
