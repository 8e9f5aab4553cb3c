"""The in-flight budget against the real dhcpd, with data built to fool any size learner.

Leases and hosts whose replies range from the smallest dhcpd sends (a free lease) to several
KB (binding variables from the lease file, host names of thousands of characters) are looked
up by 1,000 concurrent awaiters in orders chosen to mislead a rule that learns reply sizes:
small first then large, alternating, one huge among many small. Every answer must match its
question and dhcpd must be alive afterwards with no ``REQUIRE`` in its log.

Each order runs :data:`SECONDS` seconds per algorithm: 3 s by default (CI), 20 s with
``AIOMAPI_FULL_RUN=1``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import os
import time
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import pytest_asyncio

import aiomapi
from aiomapi._sansio import budget
from aiomapi._sansio.wire import Opcode
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip, lease_mac

from ..conftest import start_lab

pytestmark = [pytest.mark.dhcpd, pytest.mark.slow]

SECONDS = 20.0 if os.environ.get("AIOMAPI_FULL_RUN") == "1" else 3.0
AWAITERS = 1000
#: Active leases written to the lease file; the pool's other addresses are free leases.
LEASES = 300
#: Every HUGE_EVERY-th lease carries 60 binding variables of about 100 bytes each.
HUGE_EVERY = 50
#: The last ATTACK leases have only a client-hostname, of 660 + k characters: replies whose
#: sizes go up byte by byte, to place a reply exactly where dhcpd aborts.
ATTACK = 101
ATTACK_FIRST = LEASES - ATTACK


def variables_of(i: int) -> int:
    """Binding variables of lease ``i``: none for most, up to 60 (about 6.5 KB)."""
    if i >= ATTACK_FIRST:
        return 0
    if i % HUGE_EVERY == 0:
        return 60
    return (i * 7) % 11 if i % 3 == 0 else 0


def lease_text(n: int) -> str:
    now = dt.datetime.now(dt.UTC).strftime("%w %Y/%m/%d %H:%M:%S")
    out = []
    for i in range(n):
        lines = [
            f"lease {lease_ip(i)} {{",
            f"  starts {now};",
            "  ends 4 2037/12/31 23:59:59;",
            "  binding state active;",
            "  next binding state free;",
            f"  hardware ethernet {lease_mac(i)};",
        ]
        if hostname_of(i) is not None:
            lines.append(f'  client-hostname "{hostname_of(i)}";')
        if i % 5 == 1 and i < ATTACK_FIRST:
            lines.append("  uid " + ":".join(f"{b:02x}" for b in (i % 251).to_bytes(1) * 200) + ";")
        lines += [f'  set v{k} = "{"x" * 90}{k:08d}";' for k in range(variables_of(i))]
        out.append("\n".join([*lines, "}", ""]))
    return "\n".join(out)


def hostname_of(i: int) -> str | None:
    if i >= ATTACK_FIRST:
        return f"attack{i}-" + "a" * (660 + i - ATTACK_FIRST)
    return f"lease{i}-" + "h" * ((i * 37) % 200) if i % 2 else None


def start_varied_lab(workdir: Path, port: int, algorithm: str) -> DhcpdInstance:
    """A dhcpd whose LEASES leases have the varied and hostile sizes of :func:`lease_text`."""
    return start_lab(
        dhcpd_lab.start_single,
        workdir,
        port,
        LEASES,
        algorithm,
        leases_text=lease_text(LEASES),
    )


@pytest.fixture(scope="module", params=["hmac-md5", "hmac-sha512"])
def varied_dhcpd(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    lab_port: Callable[[], int],
) -> Iterator[DhcpdInstance]:
    inst = start_varied_lab(tmp_path_factory.mktemp("varied"), lab_port(), request.param)
    yield inst
    dhcpd_lab.stop(inst)


@pytest_asyncio.fixture
async def omapi(varied_dhcpd: DhcpdInstance) -> AsyncIterator[aiomapi.Client]:
    inst = varied_dhcpd
    key = inst.key
    async with aiomapi.Client(inst.host, inst.port, key=key, timeout=30) as client:
        yield client


def assert_alive(inst: DhcpdInstance) -> None:
    assert inst.alive(), inst.log_tail()
    assert "REQUIRE" not in inst.log_text(), inst.log_tail()


# Addresses past LEASES are free leases of the pool: the smallest lease replies there are.
SMALL = [lease_ip(i) for i in range(LEASES, LEASES + dhcpd_lab.FREE_ADDRESSES)] + [
    lease_ip(i) for i in range(ATTACK_FIRST) if hostname_of(i) is None and not variables_of(i)
]
LARGE = [lease_ip(i) for i in range(LEASES) if variables_of(i) >= 5 or i % 5 == 1]
HUGE = [lease_ip(i) for i in range(0, LEASES, HUGE_EVERY)]

ORDERS: dict[str, Callable[[], list[str]]] = {
    "small-then-large": lambda: SMALL + LARGE,
    "alternating": lambda: [ip for pair in zip(SMALL, itertools.cycle(LARGE)) for ip in pair],
    "one-huge-among-many-small": lambda: [
        HUGE[k // 100 % len(HUGE)] if k % 100 == 99 else SMALL[k % len(SMALL)] for k in range(2000)
    ],
}


@pytest.mark.parametrize("order", list(ORDERS))
async def test_leases_of_every_size_in_adversarial_orders(
    omapi: aiomapi.Client, varied_dhcpd: DhcpdInstance, order: str
) -> None:
    sequence = ORDERS[order]()
    deadline = time.monotonic() + SECONDS
    cursor = itertools.count()
    checked = 0
    sizes: set[int] = set()

    async def awaiter() -> None:
        nonlocal checked
        while time.monotonic() < deadline:
            ip = sequence[next(cursor) % len(sequence)]
            lease = await omapi.leases.get(ip=ip)
            assert str(lease.ip_address) == ip
            i = int(lease.ip_address) - int(dhcpd_lab.FIRST_LEASE)
            if i < LEASES:
                remote_handle = "remote-handle" in lease.variables
                assert len(lease.variables) == variables_of(i) + remote_handle
                assert lease.client_hostname == hostname_of(i)
            sizes.add(len(lease.variables))
            checked += 1

    async with asyncio.timeout(SECONDS + 60):
        await asyncio.gather(*(awaiter() for _ in range(AWAITERS)))
    assert checked > AWAITERS
    assert {0, 60} <= sizes  # both ends of the size range were exercised
    assert_alive(varied_dhcpd)


def reply_size(obj: aiomapi.OmapiObject, digest_size: int) -> int:
    """Bytes of dhcpd's UPDATE reply carrying ``obj``: header, empty message list, object
    list, signature."""
    values = sum(2 + len(name) + 4 + len(value) for name, value in obj.values.items())
    return 24 + 2 + values + 2 + digest_size


async def test_replies_placed_exactly_on_the_abort_window(
    omapi: aiomapi.Client, varied_dhcpd: DhcpdInstance
) -> None:
    """A fresh client sees one small reply, then looks up a few leases at once whose replies
    but the last total 4041 bytes: the last reply would start where its authlen straddles
    dhcpd's buffer boundary. A rule that bounds replies by the small one seen first sends
    them all together and dhcpd aborts; the budget sends lease lookups one at a time."""
    digest = omapi.key.signer().digest_size if omapi.key else 0
    attack = range(ATTACK_FIRST, LEASES)
    measured = await asyncio.gather(
        *(omapi.open("lease", {"ip-address": lease_ip(i)}) for i in attack)
    )
    size = {i: reply_size(obj, digest) for i, obj in zip(attack, measured, strict=True)}
    by_size = {s: i for i, s in size.items()}
    # m - 1 replies of one size, then one that ends them at 4041: reply m + 1 starts there
    a, b = next(
        (a, b)
        for a in sorted(by_size)
        for b in sorted(by_size)
        if (4041 - b) % a == 0 and (4041 - b) // a >= 1
    )
    batch = [by_size[a]] * ((4041 - b) // a) + [by_size[b], ATTACK_FIRST]
    assert sum(size[i] for i in batch[:-1]) == 4041
    for _ in range(3):
        async with aiomapi.Client(omapi.host, omapi.port, key=omapi.key, timeout=10) as fresh:
            await fresh.leases.get(ip=SMALL[0])
            leases = await asyncio.gather(*(fresh.leases.get(ip=lease_ip(i)) for i in batch))
            assert [lease.client_hostname for lease in leases] == [hostname_of(i) for i in batch]
    assert_alive(varied_dhcpd)


async def test_the_host_reproduction_that_crashed_dhcpd(
    omapi: aiomapi.Client, varied_dhcpd: DhcpdInstance
) -> None:
    """One short host, then 40 hosts with 905-character names looked up at once: this
    aborted dhcpd 4.4.3 under the budget that learned reply sizes (2 runs of 2)."""
    tag = varied_dhcpd.algorithm[-3:]
    short_mac = "0a:00:00:00:ff:01"
    await omapi.hosts.create(name=f"short{tag}", hardware_address=short_mac)
    long_macs = [f"0a:00:00:01:00:{i:02x}" for i in range(40)]
    for i, mac in enumerate(long_macs):
        name = f"long{tag}{i:02d}" + "n" * (905 - 6 - len(tag))
        await omapi.hosts.create(name=name, hardware_address=mac)
    huge_mac = "0a:00:00:02:00:01"
    await omapi.hosts.create(name="huge" + tag + "z" * 3000, hardware_address=huge_mac)

    key = omapi.key
    for _ in range(3):  # a fresh client each time: nothing learned beforehand
        async with aiomapi.Client(omapi.host, omapi.port, key=key, timeout=30) as fresh:
            assert (await fresh.hosts.get(mac=short_mac)).name == f"short{tag}"
            hosts = await asyncio.gather(*(fresh.hosts.get(mac=mac) for mac in long_macs))
            assert [h.name[:8] for h in hosts] == [f"long{tag}{i:02d}"[:8] for i in range(40)]
            assert [str(h.hardware_address) for h in hosts] == long_macs
            mixed = [short_mac, huge_mac, *long_macs[:5]] * 30
            found = await asyncio.gather(*(fresh.hosts.get(mac=mac) for mac in mixed))
            assert [str(h.hardware_address) for h in found] == mixed
    assert_alive(varied_dhcpd)


async def test_bounded_replies_and_missing_objects(
    omapi: aiomapi.Client, varied_dhcpd: DhcpdInstance
) -> None:
    """Control objects have a fixed size and are pipelined; lookups of missing leases are
    answered by a STATUS. Both at once, many in flight: every answer right, dhcpd alive."""
    missing = [f"10.100.{200 + k // 250}.{k % 250 + 1}" for k in range(300)]
    results = await asyncio.gather(
        *(omapi.leases.get(ip=ip) for ip in missing), return_exceptions=True
    )
    assert all(isinstance(r, aiomapi.NotFound) for r in results), results[:3]
    controls = await asyncio.gather(*(omapi.control.get() for _ in range(200)))
    assert len(controls) == 200
    assert_alive(varied_dhcpd)


async def test_fixed_objects_have_the_attributes_their_bounds_assume(
    omapi: aiomapi.Client,
) -> None:
    """aiomapi._sansio.budget bounds control and pool replies by their attribute sets: dhcpd sends
    exactly these, each an int32, and the replies stay within the bound."""
    digest = omapi.key.signer().digest_size if omapi.key else 0
    control = await omapi.open("control", {})
    assert {name: len(value) for name, value in control.values.items()} == {"state": 4}
    assert reply_size(control, digest) <= budget.reply_bound(Opcode.OPEN, "control")
    lease = await omapi.leases.get(ip=SMALL[0])
    assert lease.pool is not None
    pool = await omapi.refresh(lease.pool)
    assert {name: len(value) for name, value in pool.values.items()} == {
        "lease-count": 4,
        "free-leases": 4,
        "backup-leases": 4,
    }
    assert reply_size(pool, digest) <= budget.reply_bound(Opcode.REFRESH, "pool")
    # the status texts dhcpd sends fit the bound's 64 bytes
    mac = f"0a:00:00:03:00:{digest:02x}"
    await omapi.hosts.create(name=f"dup{digest}", hardware_address=mac)
    texts = []
    with pytest.raises(aiomapi.NotFound) as not_found:
        await omapi.leases.get(ip="10.100.250.1")
    texts.append(not_found.value.text)
    with pytest.raises(aiomapi.ServerError) as no_keys:
        await omapi.open("lease", {})
    texts.append(no_keys.value.text)
    with pytest.raises(aiomapi.AlreadyExists) as exists:
        await omapi.hosts.create(name=f"dup{digest}", hardware_address=mac)
    texts.append(exists.value.text)
    assert all(0 < len(text.encode()) <= budget.MAX_STATUS_TEXT for text in texts), texts
