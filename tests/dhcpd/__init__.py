"""Tests against the real ISC dhcpd 4.4.3 (and failover pairs) in network namespaces."""
