"""Codec micro-benchmarks: microseconds per message, aiomapi against pypureomapi.

Run ``python -m benchmarks.codec`` (``--smoke`` for a quick pass, ``--json PATH`` to keep the
numbers). What is measured, per message, on one core, nothing on the network:

* **decode+verify a lease reply**: the 285-byte reply to a signed lease lookup captured from
  dhcpd 4.4.3-P1 with HMAC-MD5 (``tests/data/dhcpd_captures.json``, lease ``host5``), and
  the same reply re-signed for lease ``host49999`` (289 bytes, the largest of the
  50,000-lease data set). aiomapi's fast path (framer, constant-time verify, slicing
  decoder), its normative ``construct`` path, the typed ``Lease`` on top of the fast path
  (what ``omapi.leases.get`` pays), and pypureomapi's ``InBuffer.parse_message`` +
  ``OmapiMessage.verify``.
* **encode+sign a lease lookup by IP** (79 bytes): aiomapi's encoder + signer, what
  ``Client.open`` runs before the write (value encoding, safety checks, id allocation), the
  ``construct`` build, and pypureomapi's ``OmapiMessage.open`` + ``sign`` + ``as_string`` as
  its ``lookup_by_lease`` does.
* **one lookup through the client codec**: request out and reply in through aiomapi's sans-IO
  :class:`~aiomapi._sansio.client.ClientProtocol` (encode, sign, budget, frame, verify, decode,
  match by id, judge) against the same work in pypureomapi.

Each figure is the best of several repeats of a timed loop (``timeit``), which is the least
disturbed by the rest of the machine, timed in CPU time of the process
(``time.process_time``), which other processes on a busy machine do not inflate. Before
timing, every path is checked to produce the same message, and a tampered reply is checked
to fail verification in each library.

aiomapi's cases run on the hot path the library is using (``aiomapi._speedups``: compiled
or pure Python). When that is the compiled one, the same cases are run again in a child
process with ``AIOMAPI_NO_EXTENSIONS=1`` and the table shows both side by side
(docs/speedups.md); ``--no-pure`` skips that.
"""

from __future__ import annotations

import argparse
import importlib
import ipaddress
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import aiomapi
from aiomapi import _speedups
from aiomapi._sansio.auth import Key, Signer
from aiomapi._sansio.client import ClientProtocol, ReplyReceived, Request, State
from aiomapi._sansio.wire import (
    Framer,
    Message,
    Opcode,
    build_with_construct,
    decode_frame,
    decode_message,
    encode_body,
    parse_with_construct,
)
from aiomapi.client import encode_values
from aiomapi.typed.objects import Lease

CAPTURES = Path(__file__).resolve().parent.parent / "tests" / "data" / "dhcpd_captures.json"
#: Request ids of the capture: the authenticator OPEN was 7, the lease lookup 8.
CAPTURE_AUTH_ID = 7
#: Lookups per protocol instance in the sans-IO round-trip case (see _ProtocolRoundTrip).
ROUND_TRIP_BATCH = 1000


@dataclass(frozen=True, slots=True)
class Capture:
    """The dhcpd bytes the benchmarks decode, with their key."""

    key: Key
    server_startup: bytes
    auth_reply: bytes
    lookup: bytes
    lease_reply: bytes


@dataclass(slots=True)
class CodecResult:
    """One timed case: ``us`` microseconds per message (best repeat)."""

    group: str
    name: str
    library: str  # "aiomapi" or "pypureomapi"
    us: float
    loops: int
    note: str = ""
    #: aiomapi's hot path for this figure, "compiled" or "pure" ("" for the other libraries)
    path: str = ""


def load_capture(path: Path = CAPTURES) -> Capture:
    """The captured dhcpd 4.4.3 exchange (HMAC-MD5) from the test data."""
    data = json.loads(path.read_text())
    return Capture(
        key=Key("omapi_key", data["secret"], "hmac-md5"),
        server_startup=bytes.fromhex(data["server_startup"]),
        auth_reply=bytes.fromhex(data["auth_reply"]),
        lookup=bytes.fromhex(data["lookup"]),
        lease_reply=bytes.fromhex(data["lease_reply"]),
    )


def resign(message: Message, signer: Signer, authid: int) -> bytes:
    """``message`` encoded and signed as dhcpd would send it."""
    body = encode_body(message, authid, signer.digest_size)
    return body + signer.sign(memoryview(body)[4:])


def lease_reply_for(capture: Capture, index: int, rid: int | None = None) -> bytes:
    """The captured lease reply rewritten for lab lease ``index`` (hostname ``host<index>``,
    IP 10.100.1.0 + index, MAC 02:00:<index>) and re-signed with the capture's key."""
    template = decode_message(capture.lease_reply)
    authid = int.from_bytes(capture.lease_reply[:4], "big")
    ip = (ipaddress.IPv4Address("10.100.1.0") + index).packed
    mac = b"\x02\x00" + index.to_bytes(4, "big")
    replace = {
        "client-hostname": f"host{index}".encode(),
        "ip-address": ip,
        "hardware-address": mac,
    }
    values = tuple((name, replace.get(name, value)) for name, value in template.object)
    message = Message(
        template.opcode,
        template.handle,
        template.id,
        template.rid if rid is None else rid,
        template.message,
        values,
    )
    return resign(message, capture.key.signer(), authid)


# ---------------------------------------------------------------- timing


def time_per_call(fn: Callable[[], object], *, min_time: float, repeat: int) -> tuple[float, int]:
    """Best microseconds (of CPU time) per call of ``fn`` over ``repeat`` loops of at least
    ``min_time`` s."""
    timer = timeit.Timer(fn, timer=time.process_time)
    number = 1
    for _ in range(40):  # grows number at least 2× per step: bounded
        elapsed = timer.timeit(number)
        if elapsed >= min_time:
            break
        grow = min_time / elapsed * 1.2 if elapsed > 0 else 10.0
        number = int(number * min(10.0, max(2.0, grow)))
    best = min(timer.repeat(repeat=repeat, number=number))
    return best / number * 1e6, number


# ---------------------------------------------------------------- aiomapi cases


class _FastDecode:
    """aiomapi's receive path on one framer: feed, frame, verify, decode."""

    def __init__(self, signer: Signer, data: bytes) -> None:
        self.framer = Framer()
        self.signer = signer
        self.data = data

    def __call__(self) -> Message:
        self.framer.feed(self.data)
        frame = self.framer.next_frame()
        assert frame is not None
        self.signer.verify_frame(frame)  # what the core does (OmapiConnection._verify)
        return decode_frame(frame)


def _construct_decode(signer: Signer, data: bytes) -> Callable[[], Message]:
    def run() -> Message:
        message, _authid, signature = parse_with_construct(data)
        signer.verify(memoryview(data)[4 : len(data) - len(signature)], signature)
        return message

    return run


def _lookup_message(ip: bytes, request_id: int) -> Message:
    return Message(Opcode.OPEN, 0, request_id, 0, (("type", b"lease"),), (("ip-address", ip),))


def _fast_encode(signer: Signer, authid: int, ip: bytes) -> Callable[[], bytes]:
    def run() -> bytes:  # what the core does (OmapiConnection._encode)
        return signer.sign_body(encode_body(_lookup_message(ip, 8), authid, signer.digest_size))

    return run


def _construct_encode(signer: Signer, authid: int, ip: bytes) -> Callable[[], bytes]:
    placeholder = b"\0" * signer.digest_size

    def run() -> bytes:
        body = build_with_construct(_lookup_message(ip, 8), authid, placeholder)
        body = body[: -signer.digest_size]
        return body + signer.sign(memoryview(body)[4:])

    return run


def ready_protocol(capture: Capture, first_id: int = CAPTURE_AUTH_ID - 1) -> ClientProtocol:
    """A sans-IO client protocol that completed the captured handshake."""
    proto = ClientProtocol(capture.key, first_id=first_id)
    proto.initiate()
    proto.receive_data(capture.server_startup + capture.auth_reply)
    if proto.state is not State.READY:
        raise RuntimeError("the captured handshake did not complete")
    return proto


def _client_encode(capture: Capture, ip: str) -> Callable[[], bytes]:
    """What ``Client.open("lease", {"ip-address": ip})`` does before the write."""
    proto = ready_protocol(capture)

    def run() -> bytes:
        request = Request(
            Opcode.OPEN,
            message=(("type", b"lease"),),
            object=encode_values({"ip-address": ip}, "lease"),
            object_type="lease",
        )
        return proto.encode_request(request)[1]

    return run


class _ProtocolRoundTrip:
    """A whole lookup through :class:`ClientProtocol`: request out, signed reply in.

    Replies carry the request id they answer, so they are pre-built for ids
    8 … 8+ROUND_TRIP_BATCH-1 and a fresh protocol (handshake from the capture) is started
    after each batch; that setup is amortised over the batch (< 0.1 µs per lookup).
    """

    def __init__(self, capture: Capture, ip: str) -> None:
        self.capture = capture
        self.request = Request(
            Opcode.OPEN,
            message=(("type", b"lease"),),
            object=encode_values({"ip-address": ip}, "lease"),
            object_type="lease",
        )
        first = CAPTURE_AUTH_ID + 1
        self.replies = [
            lease_reply_for(capture, 5, rid) for rid in range(first, first + ROUND_TRIP_BATCH)
        ]
        self.proto = ready_protocol(capture)
        self.i = 0

    def __call__(self) -> Message:
        if self.i == ROUND_TRIP_BATCH:
            self.proto = ready_protocol(self.capture)
            self.i = 0
        proto = self.proto
        request_id, data = proto.encode_request(self.request)
        proto.commit(request_id, data, self.request)
        (event,) = proto.receive_data(self.replies[self.i])
        self.i += 1
        assert isinstance(event, ReplyReceived)
        assert isinstance(event.result, Message)
        return event.result


class _TypedDecode:
    """The fast path plus what ``omapi.leases.get`` does with the reply: ``Lease.from_values``
    on the reply's handle and object values."""

    def __init__(self, signer: Signer, data: bytes) -> None:
        self.decode = _FastDecode(signer, data)

    def __call__(self) -> Lease:
        reply = self.decode()
        return Lease.from_values(reply.handle, reply.object)


# ---------------------------------------------------------------- pypureomapi cases


def _pypure() -> Any:
    try:
        return importlib.import_module("pypureomapi")
    except ImportError:
        return None


def _pypure_auth(pp: Any, capture: Capture, authid: int) -> Any:
    auth = pp.OmapiHMACMD5Authenticator(capture.key.name.encode(), capture.key.secret.encode())
    auth.authid = authid
    return auth


def _pypure_decode(pp: Any, auth: Any, data: bytes) -> Callable[[], Any]:
    authenticators = {auth.authid: auth}

    def run() -> Any:
        message = next(pp.InBuffer(data).parse_message())
        if not message.verify(authenticators):
            raise AssertionError("pypureomapi rejected the signature")
        return message

    return run


def _pypure_encode(pp: Any, auth: Any, ip: str) -> Callable[[], bytes]:
    def run() -> bytes:  # as Omapi.lookup_by_lease + OmapiProtocol.send_message do
        message = pp.OmapiMessage.open(b"lease")
        message.obj.append((b"ip-address", pp.pack_ip(ip)))
        message.sign(auth)
        return bytes(message.as_string())

    return run


def _pypure_round_trip(pp: Any, auth: Any, ip: str, reply: bytes) -> Callable[[], Any]:
    authenticators = {auth.authid: auth}

    def run() -> Any:
        request = pp.OmapiMessage.open(b"lease")
        request.obj.append((b"ip-address", pp.pack_ip(ip)))
        request.sign(auth)
        request.as_string()
        request.tid = 8  # the pre-built reply answers id 8
        inbuf = pp.InBuffer(reply)
        message = next(inbuf.parse_message())
        if not message.verify(authenticators) or not message.is_response(request):
            raise AssertionError("pypureomapi rejected the reply")
        return message

    return run


# ---------------------------------------------------------------- the suite


def _check_equivalence(capture: Capture, pp: Any) -> None:
    """Every decoder sees the same lease; every verifier rejects a tampered reply."""
    signer = capture.key.signer()
    authid = int.from_bytes(capture.lease_reply[:4], "big")
    fast = _FastDecode(signer, capture.lease_reply)()
    normative = _construct_decode(signer, capture.lease_reply)()
    if fast != normative or dict(fast.object).get("client-hostname") != b"host5":
        raise AssertionError("fast and construct decoders disagree on the captured reply")
    tampered = bytearray(capture.lease_reply)
    tampered[60] ^= 1
    try:
        _FastDecode(signer, bytes(tampered))()
    except aiomapi.AuthenticationError:
        pass
    else:
        raise AssertionError("aiomapi accepted a tampered reply")
    if (
        _fast_encode(signer, authid, bytes([10, 100, 1, 5]))()
        != _construct_encode(signer, authid, bytes([10, 100, 1, 5]))()
    ):
        raise AssertionError("fast and construct encoders disagree")
    if _client_encode(capture, "10.100.1.5")()[24:] != capture.lookup[24:]:
        raise AssertionError("Client.open's request differs from the captured lookup")
    if pp is not None:
        auth = _pypure_auth(pp, capture, authid)
        message = _pypure_decode(pp, auth, capture.lease_reply)()
        if dict(message.obj).get(b"client-hostname") != b"host5":
            raise AssertionError("pypureomapi decoded a different lease")
        bad = next(pp.InBuffer(bytes(tampered)).parse_message())
        if bad.verify({auth.authid: auth}):
            raise AssertionError("pypureomapi accepted a tampered reply")


def run_codec(
    *,
    smoke: bool = False,
    progress: Callable[[str], None] | None = None,
    pure: bool = True,
    paths_only: bool = False,
) -> list[CodecResult]:
    """Time every case; returns the results in display order.

    Args:
        smoke: short loops (CI).
        progress: called with a line per case.
        pure: where the compiled hot path is in use, also time aiomapi's cases on the pure
            one, in a child process (rows named ``… (pure Python)``).
        paths_only: only aiomapi's fast-path cases (not construct, not pypureomapi).
    """
    results = _run_cases(smoke=smoke, progress=progress, paths_only=paths_only)
    if pure and _speedups.ACTIVE:
        results += _run_pure(smoke=smoke, progress=progress)
    return results


PURE_SUFFIX = " (pure Python)"


def _run_pure(*, smoke: bool, progress: Callable[[str], None] | None) -> list[CodecResult]:
    """aiomapi's fast-path cases on the pure-Python hot path, timed in a child process."""
    if progress is not None:
        progress("the same cases on pure Python (AIOMAPI_NO_EXTENSIONS=1) …")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "pure.json"
        argv = [sys.executable, "-m", "benchmarks.codec", "--paths-only", "--json", str(out)]
        if smoke:
            argv.append("--smoke")
        env = {**os.environ, "AIOMAPI_NO_EXTENSIONS": "1"}
        root = Path(__file__).resolve().parent.parent
        subprocess.run(argv, env=env, cwd=root, check=True, stdout=subprocess.DEVNULL)
        rows = json.loads(out.read_text())["results"]
    results = []
    for row in rows:
        row["name"] += PURE_SUFFIX
        results.append(CodecResult(**row))
    return results


def _run_cases(
    *, smoke: bool, progress: Callable[[str], None] | None, paths_only: bool
) -> list[CodecResult]:
    min_time, repeat = (0.02, 2) if smoke else (0.2, 7)
    capture = load_capture()
    pp = None if paths_only else _pypure()
    _check_equivalence(capture, pp)
    signer = capture.key.signer()
    authid = int.from_bytes(capture.lease_reply[:4], "big")
    big_reply = lease_reply_for(capture, 49999)
    ip_text, ip_packed = "10.100.1.5", bytes([10, 100, 1, 5])

    cases: list[tuple[str, str, str, Callable[[], object], str]] = []
    for label, reply in (("285 B, host5", capture.lease_reply), ("289 B, host49999", big_reply)):
        group = f"decode+verify lease reply ({label})"
        fast = _FastDecode(signer, reply)
        cases.append((group, "aiomapi fast path", "aiomapi", fast, "framer+verify+decode_frame"))
        if not paths_only:
            cases.append(
                (
                    group,
                    "aiomapi construct path",
                    "aiomapi",
                    _construct_decode(signer, reply),
                    "MESSAGE.parse+verify (normative)",
                )
            )
        cases.append(
            (
                group,
                "aiomapi fast path + Lease",
                "aiomapi",
                _TypedDecode(signer, reply),
                "+ Lease.from_values (as leases.get)",
            )
        )
        if pp is not None:
            cases.append(
                (
                    group,
                    "pypureomapi",
                    "pypureomapi",
                    _pypure_decode(pp, _pypure_auth(pp, capture, authid), reply),
                    "InBuffer.parse_message+verify",
                )
            )
    group = "encode+sign lease lookup (79 B)"
    cases += [
        (group, "aiomapi fast path", "aiomapi", _fast_encode(signer, authid, ip_packed), ""),
        (
            group,
            "aiomapi Client.open encoding",
            "aiomapi",
            _client_encode(capture, ip_text),
            "values+safety+id+sign",
        ),
    ]
    if not paths_only:
        cases.append(
            (
                group,
                "aiomapi construct path",
                "aiomapi",
                _construct_encode(signer, authid, ip_packed),
                "MESSAGE.build+sign",
            )
        )
    if pp is not None:
        cases.append(
            (
                group,
                "pypureomapi",
                "pypureomapi",
                _pypure_encode(pp, _pypure_auth(pp, capture, authid), ip_text),
                "OmapiMessage.open+sign+as_string",
            )
        )
    group = "one lookup through the client codec"
    cases.append(
        (
            group,
            "aiomapi ClientProtocol",
            "aiomapi",
            _ProtocolRoundTrip(capture, ip_text),
            "sans-IO: request out, reply in",
        )
    )
    if pp is not None:
        reply8 = lease_reply_for(capture, 5, 8)
        cases.append(
            (
                group,
                "pypureomapi",
                "pypureomapi",
                _pypure_round_trip(pp, _pypure_auth(pp, capture, authid), ip_text, reply8),
                "encode+sign, parse+verify",
            )
        )

    path = "compiled" if _speedups.ACTIVE else "pure"
    results: list[CodecResult] = []
    for group, name, library, fn, note in cases:
        us, loops = time_per_call(fn, min_time=min_time, repeat=repeat)
        where = path if library == "aiomapi" and "construct" not in name else ""
        results.append(CodecResult(group, name, library, us, loops, note, where))
        if progress is not None:
            progress(f"{group}: {name}: {us:.2f} µs")
    return results


def ratios(results: list[CodecResult]) -> dict[str, float]:
    """``"group: name" → pypureomapi µs / this µs`` for every aiomapi case (the rows on the
    pure hot path, when both were timed, have ``(pure Python)`` at the end of the name)."""
    peer = {r.group: r.us for r in results if r.library == "pypureomapi"}
    return {
        f"{r.group}: {r.name}": peer[r.group] / r.us
        for r in results
        if r.library == "aiomapi" and r.group in peer
    }


def format_results(results: list[CodecResult]) -> str:
    """The results as an aligned table with the speed-up over pypureomapi and, where both hot
    paths were timed, the pure-Python figure beside the compiled one."""
    from aiomapi.bench.report import format_table

    peer = {r.group: r.us for r in results if r.library == "pypureomapi"}
    pure = {(r.group, r.name.removesuffix(PURE_SUFFIX)): r.us for r in results if r.path == "pure"}
    side_by_side = any(r.path == "compiled" for r in results) and bool(pure)
    rows: list[dict[str, object]] = []
    for r in results:
        if side_by_side and r.path == "pure":
            continue  # shown beside its compiled row
        base = peer.get(r.group)
        row: dict[str, object] = {
            "case": r.group,
            "implementation": r.name,
            "µs/msg": f"{r.us:.2f}",
        }
        if side_by_side:
            slow = pure.get((r.group, r.name))
            row["pure Python µs"] = f"{slow:.2f}" if slow is not None else ""
            row["compiled gain"] = f"{slow / r.us:.1f}×" if slow is not None else ""
        row["vs pypureomapi"] = (
            f"{base / r.us:.1f}×" if base is not None and r.library == "aiomapi" else ""
        )
        row["what"] = r.note
        rows.append(row)
    return format_table(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--smoke", action="store_true", help="short loops (CI)")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument(
        "--no-pure", action="store_true", help="do not time the pure-Python hot path as well"
    )
    parser.add_argument(
        "--paths-only", action="store_true", help="only aiomapi's fast-path cases (no peers)"
    )
    args = parser.parse_args(argv)
    results = run_codec(smoke=args.smoke, pure=not args.no_pure, paths_only=args.paths_only)
    print(
        f"codec micro-benchmarks, µs per message (Python {platform.python_version()}; "
        f"aiomapi's hot path: {_speedups.describe()})"
    )
    print(format_results(results))
    if _pypure() is None and not args.paths_only:
        print("pypureomapi is not installed: no comparison (pip install pypureomapi)")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"results": [asdict(r) for r in results], "speedup": ratios(results)}
        args.json.write_text(json.dumps(payload, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
