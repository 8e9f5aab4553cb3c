"""asyncio tests on loopback against aiomapi's own server or hostile peers; no dhcpd."""
