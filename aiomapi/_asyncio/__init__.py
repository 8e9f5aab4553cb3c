"""The asyncio driver: connections, the pool, bounded concurrency."""
