"""The compiled hot path against the pure reference and the construct declaration.

Both implementations are imported explicitly, whichever one the library runs on
(``AIOMAPI_NO_EXTENSIONS``), so one run checks both. Where the extension is not built the
module is skipped, unless ``AIOMAPI_REQUIRE_EXTENSIONS=1`` (CI sets it): then its absence
fails.
"""

from __future__ import annotations

import ast
import asyncio
import hmac
import importlib
import importlib.util
import os
import socket
import subprocess
import sys
from collections.abc import Callable
from dataclasses import fields
from ipaddress import IPv4Address
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aiomapi
from aiomapi import _speedups
from aiomapi._sansio import wire
from aiomapi._sansio.auth import Key, Signer
from aiomapi._sansio.wire import (
    HEADER_SIZE,
    Frame,
    Message,
    Opcode,
    PureFramer,
    build_with_construct,
    parse_with_construct,
    pure_decode_frame,
    pure_encode_body,
)
from aiomapi.errors import AuthenticationError, RemoteProtocolError, caused
from aiomapi.typed import objects
from aiomapi.typed.enums import LeaseFlags, LeaseState
from aiomapi.typed.objects import Lease, pure_lease_from_values

from .. import captures

REQUIRED = os.environ.get("AIOMAPI_REQUIRE_EXTENSIONS", "") not in ("", "0")


def _import(name: str) -> ModuleType:
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        if REQUIRED:
            pytest.fail(f"{name} is required (AIOMAPI_REQUIRE_EXTENSIONS=1) but missing: {exc}")
        pytest.skip(f"the compiled hot path is not built: {exc}", allow_module_level=True)


C = _import("aiomapi._sansio._speedups")
C.bind(wire)  # already bound when the library runs on it; harmless again
LEASE_PLAN = objects.lease_plan(_import("aiomapi.typed._speedups"))
H = _import("aiomapi._sansio._hmac")  # HMAC-MD5 on OpenSSL's libcrypto


def test_the_extension_is_in_use_unless_forced_off() -> None:
    if _speedups.FORCED_PURE:
        assert not _speedups.ACTIVE
        assert wire.Framer is PureFramer
        assert "AIOMAPI_NO_EXTENSIONS" in _speedups.describe()
    else:
        assert _speedups.ACTIVE
        assert wire.Framer is C.Framer
        assert wire.decode_frame is C.decode_frame
        assert wire.encode_body is C.encode_body
        assert objects.LEASE_PLAN is not None
        assert _speedups.describe().startswith("compiled")
        assert _speedups.HMAC_ACTIVE
        assert "HMAC-MD5 compiled on OpenSSL's libcrypto" in _speedups.describe()


def test_the_driver_runs_compiled_unless_forced_off() -> None:
    """The driver's modules come from mypyc's extensions, or all from their source."""
    modules = [importlib.import_module(name) for name in _speedups.DRIVER_MODULES]
    files = {m.__name__: m.__file__ or "" for m in modules}
    if _speedups.FORCED_PURE:
        assert not _speedups.DRIVER_ACTIVE
        assert all(f.endswith(".py") for f in files.values()), files
        assert "AIOMAPI_NO_EXTENSIONS" in _speedups.describe()
    elif _speedups.DRIVER_ACTIVE or REQUIRED:
        assert _speedups.DRIVER_ACTIVE, _speedups.DRIVER_REASON
        assert not any(f.endswith(".py") for f in files.values()), files
        assert "driver compiled with mypyc" in _speedups.describe()
    else:
        assert all(f.endswith(".py") for f in files.values()), files
        assert _speedups.DRIVER_REASON in _speedups.describe()


def test_the_driver_chains_exceptions_in_a_way_mypyc_keeps() -> None:
    """Compiled with mypyc, ``raise X from exc`` drops the cause (seen with the mypyc in
    use); the driver's modules chain with ``raise caused(X, exc)`` instead, which keeps it
    both ways. No ``raise ... from`` may come back into them."""
    for name in _speedups.DRIVER_MODULES:
        spec = importlib.util.find_spec(name)
        assert spec is not None
        assert spec.origin is not None
        source = Path(spec.origin).parent / (name.rpartition(".")[2] + ".py")
        tree = ast.parse(source.read_text(), str(source))
        chained = [n.lineno for n in ast.walk(tree) if isinstance(n, ast.Raise) and n.cause]
        assert not chained, f"{source}: raise ... from on lines {chained}"
    inner = OSError("inner")
    outer = caused(ValueError("outer"), inner)
    assert outer.__cause__ is inner
    assert outer.__suppress_context__  # as after "raise ... from"


def test_a_compiled_connect_failure_keeps_its_cause() -> None:
    """What the omshell comparison saw: a name that does not resolve must stay the cause of
    the NetworkError (the shell words its message from it), compiled or not."""

    async def connect() -> aiomapi.NetworkError:
        client = aiomapi.Client("name-that-does-not-resolve.invalid", 7911, timeout=5)
        with pytest.raises(aiomapi.NetworkError) as info:
            await client.connect()
        return info.value

    error = asyncio.run(connect())
    assert isinstance(error.__cause__, socket.gaierror)


def test_setup_builds_the_driver_modules_the_library_chooses_between() -> None:
    """setup.py's DRIVER (what mypyc builds) and aiomapi._speedups's DRIVER_MODULES (what the
    library loads together) name the same modules, and the same runtime library."""
    setup = Path(__file__).parents[2] / "setup.py"
    assigned: dict[str, ast.expr] = {}
    for node in ast.parse(setup.read_text()).body:
        target = node.targets[0] if isinstance(node, ast.Assign) else None
        if isinstance(node, ast.AnnAssign):
            target = node.target
        value = node.value if isinstance(node, ast.Assign | ast.AnnAssign) else None
        if isinstance(target, ast.Name) and value is not None:
            assigned[target.id] = value
    paths = ast.literal_eval(assigned["DRIVER"])
    group = ast.literal_eval(assigned["DRIVER_GROUP"])
    assert sorted(p.removesuffix(".py").replace("/", ".") for p in paths) == sorted(
        _speedups.DRIVER_MODULES
    )
    assert f"{group}__mypyc" == _speedups.DRIVER_RUNTIME


def test_the_source_finder_loads_a_driver_module_from_its_source() -> None:
    """What AIOMAPI_NO_EXTENSIONS=1 does for the driver, checked in any build: the finder
    gives the source file's spec for a driver module, and nothing for any other."""
    finder = _speedups._SourceFinder()
    package = importlib.import_module("aiomapi._sansio")
    spec = finder.find_spec("aiomapi._sansio.budget", list(package.__path__))
    assert spec is not None
    assert spec.origin is not None
    assert spec.origin.endswith("budget.py")
    assert finder.find_spec("aiomapi._sansio.wire", list(package.__path__)) is None
    assert finder.find_spec("aiomapi._sansio.budget", None) is None


# ------------------------------------------------------------------ the encoder

names = st.text(alphabet=st.characters(min_codepoint=1, max_codepoint=255), min_size=1, max_size=20)
values = st.binary(max_size=64)
value_lists = st.lists(st.tuples(names, values), max_size=6).map(tuple)
u32 = st.integers(0, 0xFFFFFFFF)
messages = st.builds(Message, u32, u32, u32, u32, value_lists, value_lists)


def _outcome(fn: Callable[[], object]) -> object:
    """What ``fn`` returns, or the class of what it raises."""
    try:
        return fn()
    except Exception as exc:  # the class is the outcome compared
        return type(exc)


@given(messages, u32, st.binary(max_size=64))
@settings(max_examples=300)
def test_encoder_is_byte_identical_to_pure_and_construct(
    message: Message, authid: int, signature: bytes
) -> None:
    compiled = C.encode_body(message, authid, len(signature)) + signature
    assert compiled == pure_encode_body(message, authid, len(signature)) + signature
    assert compiled == build_with_construct(message, authid, signature)


hostile_ints = st.one_of(
    u32, st.integers(-5, -1), st.integers(2**32, 2**70), st.sampled_from([True, Opcode.OPEN])
)
hostile_names = st.one_of(
    names,
    st.just(""),
    st.text(min_size=1, max_size=4),  # beyond Latin-1 as well
    st.just("n" * 70000),
)
hostile_values = st.one_of(
    values, st.binary(max_size=8).map(bytearray), st.binary(max_size=8).map(lambda b: memoryview(b))
)
hostile_lists = st.one_of(
    st.lists(st.tuples(hostile_names, hostile_values), max_size=4).map(tuple),
    st.lists(st.tuples(names, values), max_size=3),  # a list, not a tuple
)


@given(
    hostile_ints,
    hostile_ints,
    hostile_ints,
    hostile_ints,
    hostile_lists,
    hostile_lists,
    hostile_ints,
    hostile_ints,
)
@settings(max_examples=300)
def test_encoder_accepts_and_refuses_what_pure_does(
    opcode: int, handle: int, tid: int, rid: int, message: Any, obj: Any, authid: int, authlen: int
) -> None:
    m = Message(opcode, handle, tid, rid, message, obj)
    assert _outcome(lambda: C.encode_body(m, authid, authlen)) == _outcome(
        lambda: pure_encode_body(m, authid, authlen)
    )


def test_encoder_takes_an_opcode_member_and_plain_ints_alike() -> None:
    message = Message(Opcode.OPEN, 0, 8, 0, (("type", b"lease"),), (("ip-address", bytes(4)),))
    assert C.encode_body(message, 1, 16) == pure_encode_body(message, 1, 16)


# ------------------------------------------------------------------ framer and decoder


def _frames(
    framer_type: type[Any],
    decode: Callable[[Frame], Message],
    data: bytes,
    pieces: list[int],
    **kwargs: Any,
) -> list[object]:
    """Everything a framer says while ``data`` is fed in ``pieces`` (cycled): per frame its
    bytes, authid, signed end and decoded message; then what is buffered; or the error."""
    framer = framer_type(**kwargs)
    said: list[object] = []
    offset = turn = 0
    try:
        while offset < len(data):
            size = pieces[turn % len(pieces)]
            framer.feed(data[offset : offset + size])
            offset, turn = offset + size, turn + 1
            while (frame := framer.next_frame()) is not None:
                said.append((frame.data, frame.authid, frame.signed_end, decode(frame)))
            said.append(framer.buffered)
    except RemoteProtocolError as exc:
        said.append(("refused", str(exc)))
    return said


def _both(data: bytes, pieces: list[int], **kwargs: Any) -> list[object]:
    compiled = _frames(C.Framer, C.decode_frame, data, pieces, **kwargs)
    assert compiled == _frames(PureFramer, pure_decode_frame, data, pieces, **kwargs)
    return compiled


large_values = st.builds(
    lambda pattern, size: (pattern * (size // len(pattern) + 1))[:size],
    st.binary(min_size=1, max_size=16),
    st.integers(3000, 12000),
)
stream_messages = st.builds(
    Message,
    u32,
    u32,
    u32,
    u32,
    value_lists,
    st.lists(st.tuples(names, st.one_of(values, large_values)), max_size=3).map(tuple),
)
piece_sizes = st.lists(st.integers(1, 9000), min_size=1, max_size=30)


@given(messages, u32, st.binary(max_size=64))
@settings(max_examples=300)
def test_decoder_agrees_with_pure_and_construct(
    message: Message, authid: int, signature: bytes
) -> None:
    data = build_with_construct(message, authid, signature)
    (frame_c, *_) = _frames(C.Framer, C.decode_frame, data, [len(data)])
    assert frame_c == (data, authid, len(data) - len(signature), message)
    assert parse_with_construct(data) == (message, authid, signature)
    assert _both(data, [len(data)])[0] == frame_c


@given(
    st.lists(stream_messages, min_size=1, max_size=5),
    piece_sizes,
    st.integers(HEADER_SIZE, wire.MAX_HEADER_SIZE),
    st.sampled_from([wire.DEFAULT_MAX_MESSAGE_SIZE, 20000, 4096, 300]),
)
@settings(max_examples=200, deadline=None)
def test_framing_is_identical_for_any_chunking(
    sent: list[Message], pieces: list[int], header_size: int, max_size: int
) -> None:
    padding = bytes(header_size - HEADER_SIZE)
    data = b""
    for m in sent:
        one = wire.encode_message(m, 7, bytes(16))
        data += one[:HEADER_SIZE] + padding + one[HEADER_SIZE:]
    said = _both(data, pieces, max_message_size=max_size, header_size=header_size)
    if max_size == wire.DEFAULT_MAX_MESSAGE_SIZE:
        assert [s[3] for s in said if isinstance(s, tuple)] == sent


@given(st.binary(max_size=400), piece_sizes, st.sampled_from([wire.DEFAULT_MAX_MESSAGE_SIZE, 64]))
@settings(max_examples=500, deadline=None)
def test_any_bytes_are_framed_or_refused_identically(
    data: bytes, pieces: list[int], max_size: int
) -> None:
    _both(data, pieces, max_message_size=max_size)


@given(messages, st.integers(0, 400), st.binary(min_size=1, max_size=8), piece_sizes)
@settings(max_examples=300, deadline=None)
def test_mutated_messages_are_framed_or_refused_identically(
    message: Message, position: int, patch: bytes, pieces: list[int]
) -> None:
    data = bytearray(build_with_construct(message))
    position %= len(data)
    data[position : position + len(patch)] = patch
    _both(bytes(data), pieces)


def _decode_message_with(
    framer_type: type[Any], decode: Callable[[Frame], Message], data: bytes
) -> Message:
    """:func:`aiomapi._sansio.wire.decode_message` on the given framer and decoder."""
    framer = framer_type()
    framer.feed(data)
    frame = framer.next_frame()
    if frame is None:
        raise RemoteProtocolError("truncated")
    if framer.buffered:
        raise RemoteProtocolError("trailing bytes")
    return decode(frame)


@given(st.binary(max_size=200))
@settings(max_examples=500)
def test_any_bytes_are_decoded_or_rejected_as_construct_does(data: bytes) -> None:
    compiled = _outcome(lambda: _decode_message_with(C.Framer, C.decode_frame, data))
    assert compiled == _outcome(lambda: _decode_message_with(PureFramer, pure_decode_frame, data))
    construct = _outcome(lambda: parse_with_construct(data)[0])
    assert compiled == construct


_REFUSED_ENTRIES = f"message with more than the limit of {wire.MAX_ENTRIES} entries"


@pytest.mark.parametrize("count", [wire.MAX_ENTRIES, wire.MAX_ENTRIES + 1])
@pytest.mark.parametrize("piece", [1, 7, 100_000])
def test_the_entry_limit_is_enforced_at_the_same_byte(count: int, piece: int) -> None:
    message = Message(Opcode.UPDATE, 1, 2, 3, (("a", b""),) * count)
    said = _both(wire.encode_message(message), [piece])
    assert (said[-1] == ("refused", _REFUSED_ENTRIES)) is (count > wire.MAX_ENTRIES)


def test_oversize_is_refused_at_the_same_byte() -> None:
    message = Message(Opcode.UPDATE, object=(("v", b"x" * 5000),))
    said = _both(wire.encode_message(message, 1, bytes(16)), [3], max_message_size=4096)
    assert said[-1] == ("refused", "message larger than the 4096-byte limit (at least 5033 bytes)")


def test_a_frame_not_made_by_a_framer_goes_to_the_pure_decoder() -> None:
    data = wire.encode_message(Message(Opcode.OPEN, object=(("a", b"b"),)))
    framer = PureFramer()
    framer.feed(data)
    frame = framer.next_frame()
    assert frame is not None
    broken = frame._replace(data=frame.data[:30])  # entries still point past its end
    assert _outcome(lambda: C.decode_frame(broken)) == _outcome(lambda: pure_decode_frame(broken))
    odd = frame._replace(data=bytearray(frame.data))  # type: ignore[arg-type]
    assert C.decode_frame(odd) == pure_decode_frame(frame)


# ------------------------------------------------------------------ signatures


@given(
    messages,
    st.integers(0, 1000),
    st.integers(0, 255),
    st.sampled_from(["hmac-md5", "hmac-sha256"]),
)
@settings(max_examples=200, deadline=None)
def test_signature_verdicts_are_identical(
    message: Message, position: int, flip: int, algorithm: str
) -> None:
    signer = Key.generate("k", algorithm).signer()
    body = C.encode_body(message, 3, signer.digest_size)
    data = bytearray(body + signer.sign(memoryview(body)[4:]))
    position %= len(data)
    data[position] ^= flip

    def verdict(framer_type: type[Any]) -> object:
        framer = framer_type()
        framer.feed(bytes(data))
        try:
            frame = framer.next_frame()
        except RemoteProtocolError:
            return "refused"
        if frame is None:
            return None
        try:
            signer.verify(frame.signed_region, frame.signature)
        except AuthenticationError:
            return False
        return True

    assert verdict(C.Framer) == verdict(PureFramer)
    if not flip:
        assert verdict(C.Framer) is True


@given(
    st.binary(min_size=1, max_size=150),
    st.binary(max_size=300),
    st.one_of(st.none(), st.binary(max_size=20)),
)
@settings(max_examples=300)
def test_the_compiled_hmac_md5_signs_and_judges_as_the_pure_signer(
    secret: bytes, data: bytes, other: bytes | None
) -> None:
    compiled, pure = H.HmacMd5Signer(secret), Signer(secret, "hmac-md5")
    assert compiled.digest_size == pure.digest_size == 16
    signature = pure.sign(data)
    assert compiled.sign(data) == signature == hmac.new(secret, data, "md5").digest()
    assert compiled.sign(memoryview(data)) == signature
    body = bytes(24) + data
    assert compiled.sign_body(body) == pure.sign_body(body)
    candidate = signature if other is None else other

    def judge(signer: Any, how: str) -> object:
        try:
            if how == "frame":
                frame = Frame(body + candidate, 0, len(body), [])
                signer.verify_frame(frame)
            else:
                signer.verify(data, candidate)
        except AuthenticationError as exc:
            return str(exc)
        return True

    for how in ("data", "frame"):
        assert judge(compiled, how) == judge(pure, how)
    if other is None:
        assert judge(compiled, "data") is True


@pytest.mark.parametrize("size", [65, 100, 150, 1000])
@pytest.mark.parametrize("data", [b"", b"x", bytes(range(256)) * 2])
def test_keys_longer_than_a_block_and_empty_messages_sign_as_hmac_does(
    size: int, data: bytes
) -> None:
    secret = bytes((7 * i + size) & 0xFF for i in range(size))
    expected = hmac.new(secret, data, "md5").digest()
    signer = H.HmacMd5Signer(secret)
    assert signer.sign(data) == expected
    assert signer.sign(memoryview(data)) == expected
    assert signer.sign(data) == expected  # the keyed states are kept, not used up
    signer.verify(data, expected)
    body = bytes(24) + data
    assert signer.sign_body(body) == body + hmac.new(secret, body[4:], "md5").digest()
    assert H.HmacMd5Signer(b"").sign(data) == hmac.new(b"", data, "md5").digest()


def test_an_hmac_md5_key_signs_with_the_compiled_signer_when_active() -> None:
    signer = Key.generate("k").signer()
    assert isinstance(signer, H.HmacMd5Signer) is _speedups.HMAC_ACTIVE
    assert _speedups.HMAC_ACTIVE is not _speedups.FORCED_PURE
    assert isinstance(Key.generate("k", "hmac-sha256").signer(), Signer)
    assert H.md5_ok()


# ------------------------------------------------------------------ the typed Lease

LEASE_NAMES = [
    "state",
    "ip-address",
    "dhcp-client-identifier",
    "client-hostname",
    "host",
    "subnet",
    "pool",
    "billing-class",
    "hardware-address",
    "hardware-type",
    "ends",
    "starts",
    "tstp",
    "tsfp",
    "atsfp",
    "cltt",
    "flags",
]
good_value = st.one_of(
    st.binary(min_size=4, max_size=4),
    st.sampled_from([b"\x00\x00\x00\x02", b"\x00\x00\x00\x63", bytes(4), b"\x7f\xff\xff\xff"]),
    st.binary(min_size=1, max_size=1),
    st.binary(min_size=6, max_size=6),
    st.text(max_size=8).map(lambda s: s.encode("utf-8", "surrogatepass")),
)
lease_value = st.one_of(good_value, st.binary(max_size=24), st.just(b""))
lease_name = st.one_of(st.sampled_from(LEASE_NAMES), names)
lease_values = st.lists(st.tuples(lease_name, lease_value), max_size=24).map(tuple)


def _lease_outcome(build: Callable[[], Lease]) -> object:
    """The lease with every field's type (IntEnum == int would hide a difference), or the
    error's class and text."""
    try:
        lease = build()
    except Exception as exc:  # the class and text are the outcome compared
        return type(exc), str(exc)
    return lease, [(f.name, type(getattr(lease, f.name))) for f in fields(lease)]


def _check_lease(handle: int, values: Any) -> object:
    compiled = _lease_outcome(lambda: LEASE_PLAN.build(Lease, handle, values))
    assert compiled == _lease_outcome(lambda: pure_lease_from_values(Lease, handle, values))
    return compiled


@given(u32, lease_values)
@settings(max_examples=500)
def test_lease_from_any_value_list_is_identical(handle: int, values: Any) -> None:
    _check_lease(handle, values)


@given(u32, lease_values, st.permutations(LEASE_NAMES))
@settings(max_examples=300)
def test_lease_from_well_formed_replies_is_identical(
    handle: int, extra: Any, order: list[str]
) -> None:
    wellformed = {
        "state": b"\x00\x00\x00\x02",
        "ip-address": b"\x0a\x00\x00\x01",
        "hardware-address": b"\x02\x00\x00\x00\x00\x05",
        "flags": b"\x00",
        "client-hostname": b"host5",
        "dhcp-client-identifier": b"\x01\x02",
    }
    values = tuple((n, wellformed.get(n, b"\x5f\x00\x00\x01")) for n in order) + extra
    _check_lease(handle, values)


def test_hostile_lease_values_are_refused_identically() -> None:
    base = (("state", b"\x00\x00\x00\x02"), ("ip-address", b"\x0a\x00\x00\x01"))
    cases: list[Any] = [
        base,
        (("state", b""), base[1]),  # a null where a number belongs
        (("ip-address", b"\x0a\x00\x00"), base[0]),  # wrong length
        (*base, ("state", b"\x00\x00\x00\x01")),  # a field twice
        (*base, ("x", b"1"), ("x", b"2")),  # a variable twice
        (*base, ("tstp", b"\x00\x00\x00\x01"), ("tstp", b"\x00\x00\x00\x02")),
        (*base, ("hardware-address", b"")),
        (*base, ("hardware-address", bytes(21))),
        (*base, ("flags", b"\x00\x00\x00\x03")),
        (*base, ("flags", b"\x00\x00")),
        (*base, ("client-hostname", b"\xff\xfe")),
        (*base, ("ends", b"\x01\x02\x03")),
        (base[0],),  # no ip-address
        (),
        list(base),  # a list, not a tuple
        (*base, ("billing-class", bytearray(4))),
        (*base, ("host", memoryview(bytes(4)))),
        (*base, ("state", b"\x00\x00\x00\x63")),  # a state dhcpd cannot be in: kept as int
    ]
    for values in cases:
        _check_lease(12, values)


def _reply_frame(handle: int, values: Any, message: Any = ()) -> wire.Frame:
    """``values`` as the object list of an unsigned UPDATE reply, framed as the core frames it."""
    data = pure_encode_body(Message(Opcode.UPDATE, handle, 7, 9, message, values), 0, 0)
    framer = PureFramer(wire.DEFAULT_MAX_MESSAGE_SIZE)  # records entries for the reference
    framer.feed(data)
    frame = framer.next_frame()
    assert frame is not None
    return frame


def _check_reply(handle: int, values: Any, message: Any = ()) -> object:
    """The Lease made straight from a reply's bytes is the one made from its decoded
    message, or build_reply leaves it to that path; lease_from_reply agrees with both."""
    frame = _reply_frame(handle, values, message)
    decoded = pure_decode_frame(frame)
    reference = _lease_outcome(lambda: pure_lease_from_values(Lease, handle, decoded.object))
    direct = LEASE_PLAN.build_reply(Lease, frame.data, frame.signed_end)
    if direct is not None:
        assert _lease_outcome(lambda: direct) == reference
    assert _lease_outcome(lambda: objects.lease_from_reply(frame)) == reference
    return direct


@given(u32, lease_values, st.lists(st.tuples(names, st.binary(max_size=8)), max_size=3))
@settings(max_examples=500)
def test_a_lease_straight_from_any_reply_is_identical(
    handle: int, values: Any, message: Any
) -> None:
    _check_reply(handle, values, tuple(message))


@given(u32, lease_values, st.permutations(LEASE_NAMES))
@settings(max_examples=200)
def test_a_well_formed_reply_is_built_straight_from_its_bytes(
    handle: int, extra: Any, order: list[str]
) -> None:
    values = tuple((n, b"\x00\x00\x00\x02" if n == "state" else b"\x5f\x00\x00\x01") for n in order)
    values = tuple((n, b"\x0a\x00\x00\x01" if n == "ip-address" else v) for n, v in values)
    values = tuple(
        (n, b"\x02\x00\x00\x00\x00\x05" if n == "hardware-address" else v) for n, v in values
    )
    values = tuple((n, b"\x00" if n == "flags" else v) for n, v in values)
    assert _check_reply(handle, values) is not None  # the usual reply needs no reference
    _check_reply(handle, values + extra)


def test_hostile_replies_are_left_to_the_reference() -> None:
    base = (("state", b"\x00\x00\x00\x02"), ("ip-address", b"\x0a\x00\x00\x01"))
    assert _check_reply(5, base) is not None
    hostile: list[Any] = [
        (("state", b""), base[1]),
        (("ip-address", b"\x0a\x00\x00"), base[0]),
        (*base, ("state", b"\x00\x00\x00\x01")),
        (*base, ("x", b"1"), ("x", b"2")),
        (*base, ("hardware-address", b"")),
        (*base, ("hardware-address", bytes(21))),
        (*base, ("flags", b"\x00\x00")),
        (*base, ("ends", b"\x01\x02\x03")),
        (base[0],),
        (),
    ]
    for values in hostile:
        assert _check_reply(5, values) is None
    kept = _check_reply(5, (*base, ("x", b"1"), ("client-hostname", b"\xff\xfe")))
    assert isinstance(kept, Lease)
    assert kept.variables == {"x": b"1"}
    assert kept.client_hostname == "\udcff\udcfe"
    # Bytes that are not the frame they claim to be: never read past signed_end.
    frame = _reply_frame(5, base)
    assert LEASE_PLAN.build_reply(Lease, frame.data, len(frame.data) - 1) is None
    assert LEASE_PLAN.build_reply(Lease, frame.data, len(frame.data) + 1) is None
    assert LEASE_PLAN.build_reply(Lease, frame.data[:30], 30) is None
    assert LEASE_PLAN.build_reply(Lease, bytearray(frame.data), frame.signed_end) is None


def test_a_subclass_is_built_by_the_reference() -> None:
    from dataclasses import dataclass

    @dataclass(frozen=True, slots=True, kw_only=True)
    class MyLease(Lease):
        pass

    values = (("state", b"\x00\x00\x00\x02"), ("ip-address", b"\x0a\x00\x00\x01"))
    built = LEASE_PLAN.build(MyLease, 1, values)
    assert type(built) is MyLease
    assert built == pure_lease_from_values(MyLease, 1, values)


def test_a_usual_reply_is_built_without_the_reference() -> None:
    module = importlib.import_module("aiomapi.typed._speedups")
    calls: list[object] = []

    def reference(cls: type[Lease], handle: int, values: Any) -> Lease:
        calls.append(values)
        return pure_lease_from_values(cls, handle, values)

    plan = objects.lease_plan(module, reference)
    reply = wire.decode_message(captures.LEASE_REPLY)
    lease = plan.build(Lease, reply.handle, reply.object)
    assert calls == []
    assert lease == pure_lease_from_values(Lease, reply.handle, reply.object)
    assert lease.state is LeaseState.ACTIVE
    assert isinstance(lease.flags, LeaseFlags)
    assert lease.ip_address == IPv4Address(lease.ip_address.packed)
    assert hash(lease.ip_address) == hash(IPv4Address(lease.ip_address.packed))
    assert lease.hardware_address is not None
    assert str(lease.hardware_address).count(":") == 5


# ------------------------------------------------------------------ fallback at import

_PROBE = """
import importlib.abc, logging, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.endswith("._speedups") and name != "aiomapi._speedups":
            raise ImportError("blocked for the test")
sys.meta_path.insert(0, Block())
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
import aiomapi, aiomapi._speedups as s, aiomapi._sansio.wire as w
print(s.ACTIVE, w.Framer.__name__)
"""


def test_a_missing_extension_falls_back_and_says_so_once() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AIOMAPI_NO_EXTENSIONS"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["False", "PureFramer"]
    lines = [line for line in done.stderr.splitlines() if "pure Python" in line]
    assert len(lines) == 1
    assert lines[0].startswith("INFO ")


_PROBE_NO_HMAC = """
import importlib.abc, logging, sys
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "aiomapi._sansio._hmac":
            raise ImportError("blocked for the test")
sys.meta_path.insert(0, Block())
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
import aiomapi, aiomapi._speedups as s
from aiomapi._sansio.auth import Key
print(s.ACTIVE, s.HMAC_ACTIVE, type(Key.generate("k").signer()).__name__)
"""


def test_without_the_signer_module_the_codec_stays_compiled() -> None:
    env = {k: v for k, v in os.environ.items() if k != "AIOMAPI_NO_EXTENSIONS"}
    done = subprocess.run(
        [sys.executable, "-c", _PROBE_NO_HMAC],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    assert done.stdout.split() == ["True", "False", "Signer"]
    lines = [line for line in done.stderr.splitlines() if "HMAC-MD5" in line]
    assert len(lines) == 1
    assert lines[0].startswith("INFO ")
