"""Load balancing on a real dhcpd 4.4.3 failover pair: who answers which DHCPDISCOVER.

How the network is wired
------------------------
The lab runs each peer in its own namespace, serving DHCP on ``lease0``, one end of a veth
pair whose other end, ``lease1``, sits unused in the same namespace. Here both ``lease1``
ends move (renamed ``lb0``, ``lb1``) into a third namespace, ``aiom-lb-PORT``, and join a
bridge there together with a client veth ``cl1``/``cl0``. A frame written to ``cl0`` is
flooded by the bridge to both peers' ``lease0``: one client, one L2 segment, two servers.

The client is a raw ``AF_PACKET`` socket on ``cl0`` (a short Python program started with
``ip netns exec``), which writes whole Ethernet frames built here: a broadcast
DHCPDISCOVER from 0.0.0.0 with the ``chaddr``, ``secs`` and client identifier under test.
No DHCP client software is needed.

Which peer answered is read from each dhcpd's log: ``DHCPOFFER on IP to MAC`` means it
answered; ``DHCPDISCOVER from MAC via lease0: load balance to peer lab`` means it left the
client to its partner. Every frame of a batch carries its own ``chaddr``, so each log line
belongs to exactly one frame.

Why the clients are the lab's own leases
----------------------------------------
dhcpd holds an offered address for two minutes, and the lab's pool has 16 free addresses
(8 per peer once balanced), so a stream of new clients runs dry after a few frames and the
peers then log "peer holds all free leases" instead of deciding anything. A client that
already has an active lease gets that lease offered again and allocates nothing, and dhcpd
load-balances it exactly like a new one. So most frames come from the lab's 2048 leased
hardware addresses, picked so that every one of the 256 buckets is covered; a few new
clients check the allocating path too.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import ipaddress
import json
import re
import struct
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

import aiomapi
from aiomapi import FailoverState, MacAddress
from aiomapi.failover import explain_who_serves
from aiomapi.failover.cli import add_who_serves_parser, run_who_serves
from aiomapi.failover.loadbalance import (
    MessageType,
    Role,
    Serving,
    bucket_owner,
    client_key,
    hba_from_split,
    load_balance_hash,
    who_serves,
)
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, FailoverPair, LabUnavailable

from ..conftest import require_dhcpd, start_lab

NORMAL = FailoverState.NORMAL
INTERRUPTED = FailoverState.COMMUNICATIONS_INTERRUPTED
PARTNER_DOWN = FailoverState.PARTNER_DOWN

# ---------------------------------------------------------------- DHCP frames


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


@dataclass(frozen=True, slots=True)
class Probe:
    """One client message: a DHCPDISCOVER unless ``message`` says otherwise."""

    chaddr: bytes
    client_id: bytes | None = None
    secs: int = 0
    message: int = 1  # DHCPDISCOVER; 3 = DHCPREQUEST
    requested_ip: bytes | None = None  # option 50
    ciaddr: bytes = b"\0\0\0\0"

    @property
    def mac(self) -> str:
        return str(MacAddress(self.chaddr))


def dhcp_frame(probe: Probe, xid: int) -> bytes:
    """A broadcast Ethernet/IPv4/UDP frame from 0.0.0.0:68 to 255.255.255.255:67."""
    bootp = struct.pack(
        "!BBBBIHH4s4s4s4s16s64s128s",
        1,  # BOOTREQUEST
        1,  # htype: Ethernet
        len(probe.chaddr),
        0,
        xid,
        probe.secs,
        0,
        probe.ciaddr,
        b"\0" * 4,
        b"\0" * 4,
        b"\0" * 4,
        probe.chaddr.ljust(16, b"\0"),
        b"",
        b"",
    )
    options = b"\x63\x82\x53\x63" + bytes([53, 1, probe.message])
    if probe.client_id is not None:
        options += bytes([61, len(probe.client_id)]) + probe.client_id
    if probe.requested_ip is not None:
        options += bytes([50, 4]) + probe.requested_ip
    payload = (bootp + options + b"\xff").ljust(300, b"\0")  # BOOTP's minimum size
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload  # no UDP checksum
    ip = struct.pack(
        "!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0, 64, 17, 0, b"\0" * 4, b"\xff" * 4
    )
    ip = ip[:10] + struct.pack("!H", _checksum(ip)) + ip[12:]
    ethernet = b"\xff" * 6 + b"\x02\xee\x00\x00\x00\x01" + b"\x08\x00"
    return ethernet + ip + udp


# The client: writes each hex line of stdin to cl0 as one frame, paced so that dhcpd's
# socket buffer never overflows.
_SENDER = r"""
import socket, sys, time
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("cl0", 0))
for line in sys.stdin:
    s.send(bytes.fromhex(line.strip()))
    time.sleep(0.001)
"""


# ---------------------------------------------------------------- the shared segment


def _ip(*args: str, check: bool = True) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True, timeout=30, check=False)
    if check and done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


@dataclass
class Segment:
    """Both peers' DHCP interfaces and a client on one bridge (see the module doc)."""

    pair: FailoverPair
    netns: str
    _xid: Iterator[int] = field(default_factory=lambda: iter(range(1, 1 << 31)))

    @classmethod
    def build(cls, pair: FailoverPair, ready: Iterator[bytes]) -> Segment:
        """Wire the segment; ``ready`` yields the hardware addresses of readiness probes."""
        netns = f"aiom-lb-{pair.primary.port}"
        if Path(f"/run/netns/{netns}").exists():  # left by a crashed run
            _ip("netns", "del", netns, check=False)
        _ip("netns", "add", netns)
        seg = cls(pair, netns)
        try:
            try:
                _ip("-n", netns, "link", "add", "br0", "type", "bridge")
            except RuntimeError as exc:
                raise LabUnavailable(f"no Linux bridge here: {exc}") from exc
            _ip("-n", netns, "link", "set", "br0", "up")
            for i, inst in enumerate((pair.primary, pair.secondary)):
                # A link is renamed only while down; it comes up again in the bridge.
                _ip("-n", inst.netns, "link", "set", "lease1", "down")
                _ip("-n", inst.netns, "link", "set", "lease1", "name", f"lb{i}")
                _ip("-n", inst.netns, "link", "set", f"lb{i}", "netns", netns)
                _ip("-n", netns, "link", "set", f"lb{i}", "master", "br0", "up")
            _ip("-n", netns, "link", "add", "cl0", "type", "veth", "peer", "name", "cl1")
            _ip("-n", netns, "link", "set", "cl1", "master", "br0", "up")
            _ip("-n", netns, "link", "set", "cl0", "up")
            seg.wait_ready(ready)
        except BaseException:
            seg.remove()
            raise
        return seg

    def remove(self) -> None:
        """Delete the bridge namespace (its veth ends, and so the peers' lease0, go too)."""
        _ip("netns", "del", self.netns, check=False)

    def send(self, probes: Sequence[Probe]) -> None:
        frames = "\n".join(dhcp_frame(p, next(self._xid)).hex() for p in probes)
        cmd = ["ip", "netns", "exec", self.netns, sys.executable, "-c", _SENDER]
        subprocess.run(cmd, input=frames, text=True, check=True, timeout=30)

    def wait_ready(self, ready: Iterator[bytes], timeout: float = 15.0) -> None:
        """Send a probe until both peers log it: carrier on a moved veth comes up late.

        Raises:
            RuntimeError: not within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            probe = Probe(next(ready))
            marks = [log_size(inst) for inst in self.peers]
            self.send([probe])
            poll_end = min(deadline, time.monotonic() + 1.0)
            while time.monotonic() < poll_end:
                if all(
                    f"DHCPDISCOVER from {probe.mac}" in log_since(inst, mark)
                    for inst, mark in zip(self.peers, marks, strict=True)
                ):
                    return
                time.sleep(0.05)
            if time.monotonic() >= deadline:
                raise RuntimeError("the DHCP segment did not reach both peers")

    @property
    def peers(self) -> tuple[DhcpdInstance, DhcpdInstance]:
        return (self.pair.primary, self.pair.secondary)


# ---------------------------------------------------------------- reading the logs


def log_size(inst: DhcpdInstance) -> int:
    try:
        return inst.log_path.stat().st_size
    except FileNotFoundError:
        return 0


def log_since(inst: DhcpdInstance, mark: int) -> str:
    try:
        with inst.log_path.open("rb") as f:
            f.seek(mark)
            return f.read().decode(errors="replace")
    except FileNotFoundError:
        return ""


_OFFER = re.compile(r"^DHCP(?:OFFER|ACK) on \S+ to (\S+)", re.M)
_HEARD = re.compile(r"^DHCP(?:DISCOVER|REQUEST)(?: for \S+)?(?: \(\S+\))? from (\S+)(.*)$", re.M)


@dataclass(frozen=True, slots=True)
class Verdict:
    heard: bool
    answered: bool
    note: str  # what dhcpd wrote after "via lease0", e.g. ": load balance to peer lab"


def verdicts(text: str) -> dict[str, Verdict]:
    """For each chaddr in a log excerpt: heard, answered, and dhcpd's note."""
    answered = set(_OFFER.findall(text))
    notes: dict[str, str] = {}
    for mac, rest in _HEARD.findall(text):
        notes[mac] = rest.partition("via lease0")[2]
    return {
        mac: Verdict(mac in notes, mac in answered, notes.get(mac, ""))
        for mac in notes.keys() | answered
    }


def exchange(
    segment: Segment,
    probes: Sequence[Probe],
    *,
    listening: tuple[bool, bool] = (True, True),
    timeout: float = 15.0,
) -> list[Serving]:
    """Send ``probes`` and read from the logs which peers answered each.

    Waits until every listening peer has logged a final word on every probe: an answer, or
    a note such as "load balance to peer" (a new client's offer comes after a one-second
    ping check). A peer that is not listening (not running) answers nobody.

    Raises:
        AssertionError: a listening peer did not hear or settle a probe within ``timeout``.
    """
    assert len({p.mac for p in probes}) == len(probes), "one chaddr per probe"
    marks = [log_size(inst) for inst in segment.peers]
    segment.send(probes)
    deadline = time.monotonic() + timeout
    while True:
        found = [
            verdicts(log_since(inst, mark)) if on else {}
            for inst, mark, on in zip(segment.peers, marks, listening, strict=True)
        ]
        pending = [
            (role, p.mac)
            for k, role in enumerate(ROLES)
            if listening[k]
            for p in probes
            if not _settled(found[k].get(p.mac))
        ]
        if not pending:
            break
        assert time.monotonic() < deadline, f"no final word after {timeout} s: {pending[:8]}"
        time.sleep(0.1)
    return [_serving(found[0].get(p.mac), found[1].get(p.mac)) for p in probes]


def _settled(v: Verdict | None) -> bool:
    return v is not None and v.heard and (v.answered or v.note != "")


def _serving(a: Verdict | None, b: Verdict | None) -> Serving:
    answered = (a is not None and a.answered, b is not None and b.answered)
    return {
        (True, True): "both",
        (True, False): "primary",
        (False, True): "secondary",
        (False, False): "none",
    }[answered]  # type: ignore[return-value]


def assert_predicted(
    probes: Sequence[Probe], predicted: Sequence[Serving], got: Sequence[Serving]
) -> None:
    wrong = [
        f"{p.mac} id={p.client_id!r} secs={p.secs}: predicted {want}, dhcpd {seen}"
        for p, want, seen in zip(probes, predicted, got, strict=True)
        if want != seen
    ]
    assert not wrong, f"{len(wrong)} of {len(probes)} mispredicted:\n" + "\n".join(wrong[:20])


# ---------------------------------------------------------------- the lab

pytestmark = [pytest.mark.dhcpd, pytest.mark.failover]

PEER = dhcpd_lab.PEER_NAME
ROLES: tuple[Role, Role] = ("primary", "secondary")
# The lab's hardware addresses spread evenly over the buckets: 2048 leases, 8 per bucket.
N_LEASES = 2048
MCLT = 5
RESPONSE_DELAY = dhcpd_lab.MIN_RESPONSE_DELAY  # a cut link is noticed within ~3 s
LAB_MAX_SECS = 5  # the lab's `load balance max seconds`, on both peers
SPLIT_128 = hba_from_split(128)
# After the restart: an HBA with a different mix of bits in every byte (a wrong byte or bit
# order shows on every bucket), and a secondary that waits longer than the primary.
CUSTOM_HBA = bytes((i * 0x9D + 0x3C) & 0xFF for i in range(32))
SECONDARY_MAX_SECS = 9


def lab_bucket(i: int) -> int:
    return load_balance_hash(client_key(mac=dhcpd_lab.lease_mac(i)))


@dataclass
class Lab:
    """The pair, its client segment, and the lab leases not used as probes yet."""

    pair: FailoverPair
    segment: Segment
    unused: dict[int, list[int]]  # bucket -> lab lease indices

    def take(self, bucket: int) -> int:
        """A lab lease (its index) whose hardware address hashes to ``bucket``."""
        return self.unused[bucket].pop()

    def take_owned(self, hba: bytes, owner: Role, n: int) -> list[int]:
        """``n`` lab leases whose buckets ``hba`` gives to ``owner``, from many buckets."""
        buckets = [b for b in range(256) if bucket_owner(hba, b) == owner]
        buckets.sort(key=lambda b: -len(self.unused[b]))
        return [self.take(buckets[k % len(buckets)]) for k in range(n)]

    def client(self, role: Role) -> aiomapi.Client:
        inst = self.pair.primary if role == "primary" else self.pair.secondary
        key = inst.key
        return aiomapi.Client(inst.host, inst.port, key=key, timeout=10)


def offered_ips(inst: DhcpdInstance, mac: str) -> list[str]:
    """The addresses ``inst`` offered to ``mac`` so far, by its log."""
    return re.findall(rf"^DHCPOFFER on (\S+) to {mac}\b", inst.log_text(), re.M)


def owner_of(p: Probe, hba: bytes) -> Role:
    return bucket_owner(hba, load_balance_hash(client_key(mac=p.chaddr, client_id=p.client_id)))


def lab_probe(i: int, **kwargs: Any) -> Probe:
    return Probe(MacAddress(dhcpd_lab.lease_mac(i)).packed, **kwargs)


def lab_ip(i: int) -> bytes:
    return ipaddress.IPv4Address(dhcpd_lab.lease_ip(i)).packed


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]) -> Iterator[Lab]:
    port1, port2 = lab_port(), lab_port()
    pair = start_lab(
        dhcpd_lab.start_failover,
        tmp_path_factory.mktemp("loadbalance"),
        port1,
        port2,
        N_LEASES,
        mclt=MCLT,
        max_response_delay=RESPONSE_DELAY,
    )
    segment: Segment | None = None
    try:
        dhcpd_lab.wait_failover_states(pair, timeout=30)
        unused: dict[int, list[int]] = {b: [] for b in range(256)}
        for i in range(N_LEASES):
            unused[lab_bucket(i)].append(i)
        assert all(len(v) >= 6 for v in unused.values()), "some bucket has too few lab leases"
        # Readiness probes: the last lab leases, whatever their bucket.
        ready = iter([MacAddress(dhcpd_lab.lease_mac(N_LEASES - 1 - k)).packed for k in range(50)])
        for k in range(50):
            unused[lab_bucket(N_LEASES - 1 - k)].remove(N_LEASES - 1 - k)
        segment = start_lab(Segment.build, pair, ready)
        yield Lab(pair, segment, unused)
    finally:
        pair.stop()
        if segment is not None:
            segment.remove()


@contextlib.asynccontextmanager
async def both(lab: Lab) -> AsyncIterator[tuple[aiomapi.Client, aiomapi.Client]]:
    async with lab.client("primary") as p, lab.client("secondary") as s:
        yield p, s


async def wait_states(
    lab: Lab,
    primary: FailoverState,
    secondary: FailoverState | None,
    *,
    hba: bytes | None = None,
    timeout: float = 30.0,
) -> None:
    """Poll over OMAPI until the local states are as given (None: secondary not asked) and,
    if ``hba`` is given, both peers hold it."""
    deadline = time.monotonic() + timeout
    seen: list[tuple[object, ...]] = []
    while True:
        with contextlib.suppress(OSError, aiomapi.OmapiError):
            views = []
            async with lab.client("primary") as p:
                views.append(await p.failover.get(PEER))
            if secondary is not None:
                async with lab.client("secondary") as s:
                    views.append(await s.failover.get(PEER))
            seen = [(v.local_state, v.partner_state) for v in views]
            wanted = [primary, secondary][: len(views)]
            if [v.local_state for v in views] == wanted and (
                hba is None or all(v.load_balance_hba == hba for v in views)
            ):
                return
        assert time.monotonic() < deadline, f"after {timeout} s: {seen}"
        await asyncio.sleep(0.2)


def restart_with(lab: Lab, hba: bytes, secondary_max_secs: int) -> None:
    """Give the primary ``hba`` instead of ``split 128`` and the secondary its own max secs,
    then restart both (the secondary picks the HBA up when it connects)."""
    pair = lab.pair
    conf = pair.primary.workdir / "dhcpd.conf"
    text = conf.read_text()
    assert "split 128;" in text
    conf.write_text(text.replace("split 128;", f"hba {hba.hex(':')};"))
    conf = pair.secondary.workdir / "dhcpd.conf"
    text = conf.read_text()
    assert f"load balance max seconds {LAB_MAX_SECS};" in text
    conf.write_text(
        text.replace(
            f"load balance max seconds {LAB_MAX_SECS};",
            f"load balance max seconds {secondary_max_secs};",
        )
    )
    pair.kill_secondary()
    # FailoverPair restarts only its secondary; the same pair with the roles swapped
    # restarts the primary the same way (its own files, namespace and log).
    swapped = FailoverPair(pair.secondary, pair.primary, pair.workdir, pair.peer_name)
    pair.primary = swapped.start_secondary()
    pair.start_secondary()


async def predict_live(
    lab: Lab, probes: Sequence[Probe], *, secondary: bool = True, message: MessageType
) -> list[Serving]:
    """explain_who_serves for every probe, reading the live pair each time."""
    out: list[Serving] = []
    async with contextlib.AsyncExitStack() as stack:
        p = await stack.enter_async_context(lab.client("primary"))
        s = await stack.enter_async_context(lab.client("secondary")) if secondary else None
        for probe in probes:
            d = await explain_who_serves(
                p,
                s,
                PEER,
                mac=probe.chaddr,
                client_id=probe.client_id,
                secs=probe.secs,
                message_type=message,
            )
            out.append(d.serving)
    return out


# ---------------------------------------------------------------- tests


async def test_lab_pair_holds_split_128(lab: Lab) -> None:
    async with both(lab) as (p, s):
        for omapi in (p, s):
            peer = await omapi.failover.get(PEER)
            assert peer.load_balance_hba == SPLIT_128
            assert peer.load_balance_max_secs == LAB_MAX_SECS


async def test_every_bucket_with_split_128(lab: Lab) -> None:
    probes = [lab_probe(lab.take(b)) for b in range(256)]
    # secs at the limit (still balanced), above it (both answer), and a value whose low
    # byte is zero: 256 would read as 1 if dhcpd swapped such bytes; Debian's does not.
    for secs in (LAB_MAX_SECS, LAB_MAX_SECS + 1, 256, 0xFFFF):
        probes += [lab_probe(i, secs=secs) for i in lab.take_owned(SPLIT_128, "primary", 4)]
        probes += [lab_probe(i, secs=secs) for i in lab.take_owned(SPLIT_128, "secondary", 4)]
    predicted = [
        who_serves(SPLIT_128, LAB_MAX_SECS, mac=p.chaddr, secs=p.secs).serving for p in probes
    ]
    got = await asyncio.to_thread(exchange, lab.segment, probes)
    assert_predicted(probes, predicted, got)
    assert await predict_live(lab, probes, message="DHCPDISCOVER") == predicted
    assert {"primary", "secondary", "both"} <= set(got)


# The client identifiers: the common forms (type 1 + a MAC; type 0 + text; type 255 + IAID
# + DUID, RFC 4361) and odd lengths, picked so that their buckets differ.
def client_ids(n: int) -> list[bytes]:
    picked: dict[int, bytes] = {}
    forms: list[Callable[[int], bytes]] = [
        lambda k: b"\x01\x0a\xc1" + k.to_bytes(4, "big"),
        lambda k: b"\x00" + f"client-{k}".encode(),
        lambda k: b"\xff" + k.to_bytes(4, "big") + b"\x00\x02\x00\x00\x09\xbf" + bytes([k & 0xFF]),
        lambda k: bytes([k & 0xFF, k >> 8 & 0xFF]),  # two bytes, any type
        lambda k: b"\x01" + bytes(range(k % 40)),  # 1 to 40 bytes
    ]
    k = 0
    while len(picked) < n:
        cid = forms[k % len(forms)](k)
        picked.setdefault(load_balance_hash(cid), cid)
        k += 1
    return list(picked.values())


async def test_every_bucket_client_ids_and_max_secs_with_an_hba(lab: Lab) -> None:
    restart_with(lab, CUSTOM_HBA, SECONDARY_MAX_SECS)
    await wait_states(lab, NORMAL, NORMAL, hba=CUSTOM_HBA)
    await asyncio.to_thread(
        lab.segment.wait_ready, iter([lab_probe(lab.take(b)).chaddr for b in range(40)])
    )
    probes = [lab_probe(lab.take(b)) for b in range(256)]
    # Each identifier rides on a chaddr whose own bucket belongs to the other peer, so
    # hashing the hardware address instead would get every one of them wrong.
    ids = client_ids(64)
    for cid in ids:
        other: Role = (
            "secondary"
            if bucket_owner(CUSTOM_HBA, load_balance_hash(cid)) == "primary"
            else "primary"
        )
        probes.append(lab_probe(lab.take_owned(CUSTOM_HBA, other, 1)[0], client_id=cid))
    # secs against two limits: 5 on the primary, 9 on the secondary.
    for secs, n in ((5, 6), (6, 6), (9, 6), (10, 3), (256, 3)):
        for owner in ROLES:
            probes += [lab_probe(i, secs=secs) for i in lab.take_owned(CUSTOM_HBA, owner, n)]
    # New clients, which make the answering peer allocate an address (2 per peer and
    # kind: each peer has 8 free addresses and holds an offered one for two minutes).
    new = [Probe(bytes([0x0A, 0x1B, 0, 0, 0, k])) for k in range(64)]
    fresh = [Probe(bytes([0x0A, 0x1C, 0, 0, 0, k]), client_id=b"\x00new-%d" % k) for k in range(64)]
    new_clients = [
        p
        for owner in ROLES
        for group in (new, fresh)
        for p in [p for p in group if owner_of(p, CUSTOM_HBA) == owner][:2]
    ]
    probes += new_clients

    def predict(p: Probe) -> Serving:
        return who_serves(
            CUSTOM_HBA,
            LAB_MAX_SECS,
            mac=p.chaddr,
            client_id=p.client_id,
            secs=p.secs,
            secondary_max_secs=SECONDARY_MAX_SECS,
        ).serving

    predicted = [predict(p) for p in probes]
    got = await asyncio.to_thread(exchange, lab.segment, probes)
    assert_predicted(probes, predicted, got)
    assert await predict_live(lab, probes, message="DHCPDISCOVER") == predicted
    n_ids = sum(p.client_id is not None for p in probes)
    assert n_ids >= 50
    assert len(probes) - n_ids >= 200
    # The probes tell the rule apart from its likely misreadings.
    for name, wrong in MISREADINGS.items():
        misses = sum(wrong(p) != seen for p, seen in zip(probes, got, strict=True))
        assert misses >= 10, f"{name} would have passed too ({misses} misses)"
    # The command, on a MAC probe and a client-id probe, agrees with what dhcpd did.
    for k in (0, 256):
        assert await asyncio.to_thread(who_serves_json, lab, probes[k]) == {
            "bucket": load_balance_hash(
                client_key(mac=probes[k].chaddr, client_id=probes[k].client_id)
            ),
            "serving": got[k],
        }
    # A new client's offer holds the address for two minutes: still free, but reserved.
    async with lab.client("primary") as omapi:
        for p in new_clients:
            if owner_of(p, CUSTOM_HBA) == "primary":
                offered = offered_ips(lab.pair.primary, p.mac)
                lease = await omapi.leases.get(ip=offered[-1])
                assert lease.state == aiomapi.LeaseState.FREE
                assert lease.hardware_address == MacAddress(p.chaddr)
                assert isinstance(lease.ends, datetime)
                assert isinstance(lease.starts, datetime)
                assert lease.ends - lease.starts == timedelta(seconds=120)


def who_serves_json(lab: Lab, probe: Probe) -> dict[str, object]:
    """``who-serves --json`` against the live pair, its output read back."""
    p, s = lab.pair.primary, lab.pair.secondary
    argv = ["who-serves", "--server", p.host, "--port", str(p.port)]
    argv += ["--partner-server", s.host, "--partner-port", str(s.port), "--peer", PEER]
    argv += ["--key", f"{p.algorithm}:{p.key_name}:{p.secret}", "--secs", str(probe.secs), "--json"]
    if probe.client_id is not None:
        argv += ["--client-id", probe.client_id.hex(":")]
    else:
        argv += ["--mac", probe.mac]
    parser = argparse.ArgumentParser(prog="aiomapi failover")
    add_who_serves_parser(parser.add_subparsers())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert run_who_serves(parser.parse_args(argv)) == 0
    result = json.loads(out.getvalue())
    return {"bucket": result["bucket"], "serving": result["serving"]}


# ---------------------------------------------------------------- misreadings


def _misread(
    p: Probe,
    *,
    forward: bool = False,
    with_htype: bool = False,
    msb_first: bool = False,
    chaddr_always: bool = False,
    seed_zero: bool = False,
    at_limit: bool = False,
    one_limit: bool = False,
) -> Serving:
    """The normal-state decision under CUSTOM_HBA with one detail of the rule changed."""
    key = p.chaddr if p.client_id is None or chaddr_always else p.client_id
    if with_htype and (p.client_id is None or chaddr_always):
        key = b"\x01" + key
    h = 0 if seed_zero else len(key) & 0xFF
    for byte in key if forward else reversed(key):
        h = _MIX_FOR_TESTS[h ^ byte]
    bit = (0x80 >> (h & 7)) if msb_first else (1 << (h & 7))
    owner = "primary" if CUSTOM_HBA[h >> 3] & bit else "secondary"
    limits = {
        "primary": LAB_MAX_SECS,
        "secondary": LAB_MAX_SECS if one_limit else SECONDARY_MAX_SECS,
    }
    answers = [
        role
        for role in ROLES
        if (p.secs >= limits[role] if at_limit else p.secs > limits[role]) or owner == role
    ]
    return "both" if len(answers) == 2 else answers[0]


# The permutation, recovered from the module under test through its public hash of
# one-byte keys: a one-byte key b hashes to T[1 ^ b].
_MIX_FOR_TESTS = bytes(load_balance_hash(bytes([1 ^ i])) for i in range(256))

MISREADINGS: dict[str, Callable[[Probe], Serving]] = {
    "key walked first byte to last": lambda p: _misread(p, forward=True),
    "hardware type in the key": lambda p: _misread(p, with_htype=True),
    "HBA bits most significant first": lambda p: _misread(p, msb_first=True),
    "chaddr hashed despite a client id": lambda p: _misread(p, chaddr_always=True),
    "hash seeded with 0, not the length": lambda p: _misread(p, seed_zero=True),
    "secs equal to the limit unbalanced": lambda p: _misread(p, at_limit=True),
    "one limit for both peers": lambda p: _misread(p, one_limit=True),
}


async def test_requests_are_not_load_balanced(lab: Lab) -> None:
    probes = []
    for owner in ROLES:
        for i in lab.take_owned(CUSTOM_HBA, owner, 6):  # INIT-REBOOT: no ciaddr
            probes.append(lab_probe(i, message=3, requested_ip=lab_ip(i)))
        for i in lab.take_owned(CUSTOM_HBA, owner, 6):  # REBINDING: ciaddr, broadcast
            probes.append(lab_probe(i, message=3, ciaddr=lab_ip(i)))
    got = await asyncio.to_thread(exchange, lab.segment, probes)
    assert got == ["both"] * len(probes)
    assert await predict_live(lab, probes, message="DHCPREQUEST") == got


async def test_communications_interrupted_both_answer(lab: Lab) -> None:
    lab.pair.cut()
    try:
        await wait_states(lab, INTERRUPTED, INTERRUPTED)
        probes = [lab_probe(i) for owner in ROLES for i in lab.take_owned(CUSTOM_HBA, owner, 8)]
        # One new client per bucket owner: each peer offers one of its own addresses.
        new = [Probe(bytes([0x0A, 0x1D, 0, 0, 0, k])) for k in range(64)]
        new_clients = [next(p for p in new if owner_of(p, CUSTOM_HBA) == owner) for owner in ROLES]
        probes += new_clients
        got = await asyncio.to_thread(exchange, lab.segment, probes)
        assert got == ["both"] * len(probes)
        for p in new_clients:  # two offers, two different addresses
            offers = [offered_ips(inst, p.mac) for inst in lab.segment.peers]
            assert len(offers[0]) == len(offers[1]) == 1
            assert offers[0] != offers[1]
        assert await predict_live(lab, probes, message="DHCPDISCOVER") == got
        # Asking only the primary: its partner is taken to be cut off as well.
        assert await predict_live(lab, probes, secondary=False, message="DHCPDISCOVER") == got
        for p in probes:
            d = who_serves(
                CUSTOM_HBA, 5, mac=p.chaddr, primary_state=INTERRUPTED, secondary_state=INTERRUPTED
            )
            assert d.serving == "both"
    finally:
        lab.pair.heal()
    await wait_states(lab, NORMAL, NORMAL, hba=CUSTOM_HBA)


async def test_partner_down_answers_every_client(lab: Lab) -> None:
    lab.pair.kill_secondary()
    try:
        await wait_states(lab, INTERRUPTED, None)
        async with lab.client("primary") as p:
            await p.failover.partner_down(PEER)
        await wait_states(lab, PARTNER_DOWN, None)
        probes = [lab_probe(i) for owner in ROLES for i in lab.take_owned(CUSTOM_HBA, owner, 8)]
        got = await asyncio.to_thread(exchange, lab.segment, probes, listening=(True, False))
        assert got == ["primary"] * len(probes)
        assert await predict_live(lab, probes, secondary=False, message="DHCPDISCOVER") == got
    finally:
        lab.pair.start_secondary()
    # recover, recover-wait for MCLT, then normal on both
    await wait_states(lab, NORMAL, NORMAL, hba=CUSTOM_HBA, timeout=60)


async def test_without_max_secs_a_peer_answers_every_client(lab: Lab) -> None:
    conf = lab.pair.secondary.workdir / "dhcpd.conf"
    text = conf.read_text()
    limit = f"load balance max seconds {SECONDARY_MAX_SECS};"
    assert limit in text
    lab.pair.kill_secondary()
    conf.write_text(text.replace(limit, ""))
    lab.pair.start_secondary()
    await wait_states(lab, NORMAL, NORMAL, hba=CUSTOM_HBA, timeout=60)
    assert "load balancing will be disabled" in lab.pair.secondary.log_text()
    async with lab.client("secondary") as s:
        assert (await s.failover.get(PEER)).load_balance_max_secs == 0
    probes = [lab_probe(i) for owner in ROLES for i in lab.take_owned(CUSTOM_HBA, owner, 8)]
    predicted = [
        who_serves(CUSTOM_HBA, LAB_MAX_SECS, mac=p.chaddr, secondary_max_secs=0).serving
        for p in probes
    ]
    assert predicted == ["both"] * 8 + ["secondary"] * 8
    got = await asyncio.to_thread(exchange, lab.segment, probes)
    assert_predicted(probes, predicted, got)
    assert await predict_live(lab, probes, message="DHCPDISCOVER") == predicted


def test_failover_pool_refuses_dynamic_bootp_range(tmp_path: Path) -> None:
    """Why BOOTP is not exercised here: dhcpd will not give a failover pool's range to
    dynamic BOOTP clients, so a BOOTP client would need a configuration the lab lacks."""
    require_dhcpd()
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(
        'failover peer "lab" { primary; address 10.254.0.1; port 647; peer address 10.254.0.2;\n'
        "  peer port 647; max-response-delay 5; max-unacked-updates 10; mclt 5; split 128;\n"
        "  load balance max seconds 5; }\n"
        "subnet 10.100.0.0 netmask 255.252.0.0 {\n"
        '  pool { failover peer "lab"; range dynamic-bootp 10.100.1.0 10.100.1.20; }\n}\n'
    )
    done = subprocess.run(
        [dhcpd_lab.DHCPD, "-t", "-4", "-cf", str(conf)],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode != 0
    assert "dynamic-bootp flag is not permitted" in done.stderr
