"""The README's example runs as written (against the in-memory server, not 192.0.2.10)."""

from __future__ import annotations

import asyncio
import re
import threading
from pathlib import Path

import pytest

import aiomapi
from aiomapi.testing import FakeDhcpd, synthetic_leases

README = Path(__file__).resolve().parent.parent.parent / "README.md"


def readme_example() -> str:
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)
    assert blocks, "the README has no python example"
    return str(blocks[0])


def test_readme_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    source = readme_example()
    key_args = re.search(r'aiomapi\.Key\("([^"]+)", "([^"]+)", "([^"]+)"\)', source)
    assert key_args is not None
    key = aiomapi.Key(*key_args.groups())
    ready = threading.Event()
    stop = threading.Event()
    address: list[tuple[str, int]] = []
    fake: list[FakeDhcpd] = []

    async def serve() -> None:
        async with FakeDhcpd(key=key, leases=synthetic_leases(20)) as server:
            address.append((server.host, server.port))
            fake.append(server)
            ready.set()
            await asyncio.to_thread(stop.wait, 30)

    thread = threading.Thread(target=asyncio.run, args=(serve(),))
    thread.start()
    try:
        assert ready.wait(10)
        host, port = address[0]
        runnable = source.replace('"192.0.2.10", 7911', f'"{host}", {port}')
        assert runnable != source
        exec(compile(runnable, str(README), "exec"), {"__name__": "readme"})
    finally:
        stop.set()
        thread.join(10)
    out = capsys.readouterr().out
    assert "02:00:00:00:00:05 active 2037-12-31 23:59:59+00:00" in out
    assert fake[0].host_named("printer") is not None
