"""ISC's own ``omshell`` (dhcpctl) against aiomapi's server, the FakeDhcpd.

omshell is driven in script mode, commands on stdin; it prints values as quoted strings or
colon hex (docs/dhcpd-behaviour.md, "omshell"). The server runs on this test's event loop
while omshell runs as a subprocess.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator

import pytest

from aiomapi import Key
from aiomapi.testing import FakeDhcpd, FakeFailoverPeer

OMSHELL = shutil.which("omshell")
pytestmark = pytest.mark.skipif(
    OMSHELL is None and os.environ.get("AIOMAPI_REQUIRE_DHCPD") != "1",
    reason="omshell not installed (isc-dhcp-server ships it)",
)


@pytest.fixture(params=["hmac-md5", "hmac-sha256"])
async def fake(request: pytest.FixtureRequest) -> AsyncIterator[FakeDhcpd]:
    key = Key.generate("omapi_key", request.param)
    peer = FakeFailoverPeer(b"lab")
    async with FakeDhcpd.like_lab(20, key=key, failover_peers=[peer]) as server:
        yield server


async def omshell(
    server: FakeDhcpd, script: str, key: Key | None = None, *, with_key: bool = True
) -> str:
    """Run omshell against ``server`` with its key (or ``key``, or none); returns its output."""
    key = (key or server.key) if with_key else None
    lines = [f"server {server.host}", f"port {server.port}"]
    if key is not None:
        lines += [f"key-algorithm {key.algorithm}", f"key {key.name} {key.secret}"]
    stdin = "\n".join([*lines, "connect", script.strip(), ""]).encode()
    assert OMSHELL is not None
    proc = await asyncio.create_subprocess_exec(
        OMSHELL,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    async with asyncio.timeout(15):
        out, _ = await proc.communicate(stdin)
    return out.decode(errors="replace")


def values(output: str) -> dict[str, str]:
    """The last value omshell printed for each name."""
    found: dict[str, str] = {}
    for line in output.splitlines():
        name, sep, value = line.partition(" = ")
        if sep:
            found[name.lstrip("> ").strip()] = value.strip()
    return found


async def test_open_lease_by_ip(fake: FakeDhcpd) -> None:
    out = await omshell(fake, "new lease\nset ip-address = 10.100.1.5\nopen")
    got = values(out)
    assert got["state"] == "00:00:00:02"
    assert got["client-hostname"] == '"host5"'
    assert got["hardware-address"] == "02:00:00:00:00:05"
    assert got["hardware-type"] == "00:00:00:01"
    assert got["ends"] == "7f:e8:17:7f"  # 2037-12-31 23:59:59
    assert got["flags"] == "00"
    assert "can't" not in out


async def test_open_lease_by_mac(fake: FakeDhcpd) -> None:
    out = await omshell(fake, "new lease\nset hardware-address = 02:00:00:00:00:07\nopen")
    got = values(out)
    assert got["ip-address"] == "0a:64:01:07"
    assert got["client-hostname"] == '"host7"'


async def test_not_found(fake: FakeDhcpd) -> None:
    out = await omshell(fake, "new lease\nset ip-address = 10.99.1.5\nopen")
    assert "can't open object: not found" in out
    out = await omshell(fake, 'new host\nset name = "nobody"\nopen')
    assert "can't open object: not found" in out


async def test_create_and_remove_host(fake: FakeDhcpd) -> None:
    script = """
new host
set name = "omh1"
set hardware-address = 0a:0b:0c:0d:0e:0f
set hardware-type = 1
set ip-address = 10.100.50.1
create
"""
    out = await omshell(fake, script)
    assert "can't" not in out
    assert values(out)["hardware-address"] == "0a:0b:0c:0d:0e:0f"
    host = fake.host_named("omh1")
    assert host is not None
    assert host.fixed_address == bytes([10, 100, 50, 1])

    out = await omshell(fake, 'new host\nset name = "omh1"\nopen\nremove')
    assert "can't" not in out
    assert fake.host_named("omh1") is None
    out = await omshell(fake, 'new host\nset name = "omh1"\nopen')
    assert "can't open object: not found" in out


async def test_create_existing_host(fake: FakeDhcpd) -> None:
    script = """
new host
set name = "dup"
set hardware-address = 0a:00:00:00:00:01
set hardware-type = 1
create
"""
    assert "can't" not in await omshell(fake, script)
    assert "can't open object: already exists" in await omshell(fake, script)


async def test_update_lease_state(fake: FakeDhcpd) -> None:
    out = await omshell(
        fake, "new lease\nset ip-address = 10.100.1.6\nopen\nset state = 3\nupdate\nrefresh"
    )
    assert "can't" not in out
    assert values(out)["state"] == "00:00:00:03"
    lease = fake.lease("10.100.1.6")
    assert lease is not None
    assert lease.state == 3


async def test_read_failover_state(fake: FakeDhcpd) -> None:
    out = await omshell(fake, 'new failover-state\nset name = "lab"\nopen')
    got = values(out)
    assert got["local-state"] == "00:00:00:02"
    assert got["partner-state"] == "00:00:00:02"
    assert got["load-balance-hba"].startswith("ff:ff")


async def test_set_failover_state(fake: FakeDhcpd) -> None:
    out = await omshell(
        fake, 'new failover-state\nset name = "lab"\nopen\nset local-state = 4\nupdate\nrefresh'
    )
    assert values(out)["local-state"] == "00:00:00:04"


async def test_control_object(fake: FakeDhcpd) -> None:
    out = await omshell(fake, "new control\nopen")
    assert values(out)["state"] == "00:00:00:00"


async def test_wrong_secret_is_refused(fake: FakeDhcpd) -> None:
    assert fake.key is not None
    wrong = Key(fake.key.name, Key.generate("x").secret, fake.key.algorithm)
    out = await omshell(fake, "new lease\nset ip-address = 10.100.1.5\nopen", key=wrong)
    assert '"host5"' not in out
    assert "can't open object" in out


async def test_no_key_is_refused(fake: FakeDhcpd) -> None:
    out = await omshell(fake, "new lease\nset ip-address = 10.100.1.5\nopen", with_key=False)
    # omshell without a key cannot authenticate: the fake answers NOKEYS like dhcpd
    assert '"host5"' not in out
