"""The facts of aiomapi.facts, each checked against the real ISC dhcpd 4.4.3.

Every constant of :mod:`aiomapi.facts` names the test that checks it; the ones no other
module checks are here (docs/dhcpd-behaviour.md explains each). The requests are written
with a raw session (:class:`Session`), not through aiomapi's client, because several of
them are what the client refuses to send: the tests that kill dhcpd start a server of
their own for each case and lift nothing in aiomapi.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from ipaddress import IPv4Address

import pytest

from aiomapi import Key
from aiomapi._sansio.wire import STARTUP_BYTES, Framer, Message, Opcode, decode_frame, encode_body
from aiomapi.errors import ResultCode
from aiomapi.facts import (
    ALREADY_EXISTS,
    CANNOT_UPDATE_AUTHENTICATOR,
    CANT_CREATE,
    CANT_SELECT_AUTHENTICATOR,
    CANT_UPDATE,
    CONNECTION_LIMIT,
    DIGEST_SIZES,
    FAILOVER_IGNORED_ATTRIBUTES,
    FAILOVER_STATE_NAMES,
    HEADER_SIZE,
    INPUT_ABORT_OFFSETS,
    INVALID_FLAG,
    LEASE_IGNORED_ATTRIBUTES,
    LEASE_READ_ONLY_ATTRIBUTES,
    LISTEN_BACKLOG,
    LOOKUP_FAILED,
    MAX_FD_VALUE,
    MAX_TIME,
    NO_AUTHENTICATOR,
    NO_MATCH,
    NO_MATCHING_HANDLE,
    NO_REMOVE_METHOD,
    NOTIFY_NOT_IMPLEMENTED,
    NULL_CRASHES,
    NULL_SURVIVED,
    PROTOCOL_VERSION,
    RESERVED_MESSAGE_NAMES,
    SENT_LEASE_FLAGS,
    SETTABLE_LEASE_FLAGS,
    SETTABLE_LEASE_STATES,
    SIG_ALG_SUFFIX,
    STATUS_TEXTS,
    TYPE_REQUIRED,
    UNSEARCHABLE,
    UNSEARCHABLE_TYPES,
    VALID_FAILOVER_STATES,
    decode_int32,
    encode_int32,
)
from aiomapi.leasefile import format_lease
from aiomapi.testing import dhcpd_lab
from aiomapi.testing.dhcpd_lab import DhcpdInstance, lease_ip, lease_mac
from aiomapi.testing.dhcpd_lab.config import failover_stanza
from aiomapi.testing.layout import PEER_NAME, lab_lease
from aiomapi.typed.values import NEVER, MacAddress

from ..conftest import DhcpdFactory, start_lab

pytestmark = pytest.mark.dhcpd

I32 = encode_int32
INVALIDARG, NOTFOUND = int(ResultCode.INVALIDARG), int(ResultCode.NOTFOUND)


# ---------------------------------------------------------------- a raw OMAPI session


@dataclass(frozen=True)
class Reply:
    """One message from dhcpd, with the length of its signature."""

    message: Message
    siglen: int

    @property
    def status(self) -> tuple[int, str | None]:
        """(result, text) of a STATUS."""
        assert self.message.opcode == Opcode.STATUS, self.message
        text = self.message.message_value("message")
        return decode_int32(self.message.message_value("result") or b""), (
            text.decode() if text is not None else None
        )

    @property
    def values(self) -> dict[str, bytes]:
        return dict(self.message.object)


class Session:
    """One OMAPI connection that sends exactly the bytes it is told to."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, key: Key):
        self.reader, self.writer, self.key = reader, writer, key
        self.signer = key.signer()
        self.framer = Framer()
        self.authid = 0
        self.next_id = 1000

    @classmethod
    async def open(cls, inst: DhcpdInstance, *, authenticate: bool = True) -> Session:
        reader, writer = await asyncio.open_connection(inst.host, inst.port)
        session = cls(reader, writer, inst.key)
        try:
            assert await asyncio.wait_for(reader.readexactly(8), 5) == STARTUP_BYTES
            writer.write(STARTUP_BYTES)
            if authenticate:
                reply = await session.open_authenticator(session.key.name, inst.algorithm)
                assert reply is not None
                assert reply.message.opcode == Opcode.UPDATE, reply.message
                session.authid = reply.message.handle
        except BaseException:
            writer.close()
            raise
        return session

    async def open_authenticator(self, name: str, algorithm: str) -> Reply | None:
        return await self.send(
            Opcode.OPEN,
            mv=(("type", b"authenticator"),),
            ov=(("name", name.encode()), ("algorithm", (algorithm + SIG_ALG_SUFFIX).encode())),
            sign=False,
        )

    def encode(
        self,
        op: int,
        *,
        mv: tuple[tuple[str, bytes], ...] = (),
        ov: tuple[tuple[str, bytes], ...] = (),
        handle: int = 0,
        sign: bool = True,
        authlen: int | None = None,
    ) -> bytes:
        """A message signed with this session's authenticator (or unsigned)."""
        self.next_id += 1
        message = Message(op, handle, self.next_id, 0, mv, ov)
        if not sign:
            return encode_body(message, 0, 0)
        n = self.signer.digest_size if authlen is None else authlen
        body = encode_body(message, self.authid, n)
        return body + self.signer.sign(body[4:])[:n]

    async def send(
        self,
        op: int,
        *,
        mv: tuple[tuple[str, bytes], ...] = (),
        ov: tuple[tuple[str, bytes], ...] = (),
        handle: int = 0,
        sign: bool = True,
        authlen: int | None = None,
    ) -> Reply | None:
        """Send one message and return the reply; ``None`` if dhcpd closed the connection."""
        self.writer.write(self.encode(op, mv=mv, ov=ov, handle=handle, sign=sign, authlen=authlen))
        return await self.receive()

    async def receive(self, timeout: float = 5.0) -> Reply | None:
        try:
            async with asyncio.timeout(timeout):
                while True:
                    frame = self.framer.next_frame()
                    if frame is not None:
                        return Reply(decode_frame(frame), len(frame.signature))
                    chunk = await self.reader.read(65536)
                    if not chunk:
                        return None
                    self.framer.feed(chunk)
        except ConnectionError:
            return None

    def close(self) -> None:
        self.writer.close()


@contextlib.asynccontextmanager
async def session(inst: DhcpdInstance, *, authenticate: bool = True) -> AsyncIterator[Session]:
    s = await Session.open(inst, authenticate=authenticate)
    try:
        yield s
    finally:
        s.close()


def typ(name: str, *flags: str) -> tuple[tuple[str, bytes], ...]:
    return (("type", name.encode()), *((flag, I32(1)) for flag in flags))


def ip(i: int) -> tuple[str, bytes]:
    return ("ip-address", IPv4Address(lease_ip(i)).packed)


def mac(i: int) -> tuple[str, bytes]:
    return ("hardware-address", MacAddress(lease_mac(i)).packed)


async def gone(inst: DhcpdInstance, seconds: float = 5.0) -> bool:
    """Whether ``inst`` exits within ``seconds``."""
    deadline = time.monotonic() + seconds
    while inst.alive():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.05)
    return True


# ---------------------------------------------------------------- servers

N_LEASES = 8
NEVER_LEASE = N_LEASES  # a lease whose end is "never"
OTHER_KEY = Key.generate("facts_other_key")  # dhcpd knows it, but it is not the omapi-key
CONF_HOST = "facts-host"
EXTRA_CONF = f"""
{OTHER_KEY.dhcpd_conf()}
host {CONF_HOST} {{ hardware ethernet 0a:00:00:00:fa:c7; }}
class "facts-class" {{ match hardware; }}
"""
#: A failover peer whose partner never answers, on a pool of its own (dhcpd refuses a peer
#: that no pool names).
FAILOVER_CONF = (
    failover_stanza("primary", 30, 30, None)
    + "\nsubnet 10.200.0.0 netmask 255.255.255.0 {\n"
    + f'  pool {{ failover peer "{PEER_NAME}"; range 10.200.0.10 10.200.0.20; }}\n}}\n'
)


def leases_text() -> str:
    now = datetime.now(UTC)
    records = [lab_lease(i, now=now) for i in range(N_LEASES)]
    records.append(replace(lab_lease(NEVER_LEASE, now=now), ends=NEVER))
    return "".join(format_lease(r) for r in records)


@pytest.fixture(scope="module")
def facts_server(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> Iterator[DhcpdInstance]:
    """A server for the facts that leave it alive."""
    inst = start_lab(
        dhcpd_lab.start_single,
        tmp_path_factory.mktemp("facts"),
        lab_port(),
        N_LEASES,
        leases_text=leases_text(),
        extra_conf=EXTRA_CONF,
    )
    yield inst
    dhcpd_lab.stop(inst)


@pytest.fixture
def fresh_server(
    tmp_path_factory: pytest.TempPathFactory, lab_port: Callable[[], int]
) -> Iterator[Callable[..., DhcpdInstance]]:
    """Callable starting a server of its own for one test (for the ones that kill it)."""
    started: list[DhcpdInstance] = []

    def start(extra_conf: str = EXTRA_CONF) -> DhcpdInstance:
        inst = start_lab(
            dhcpd_lab.start_single,
            tmp_path_factory.mktemp("facts-fresh"),
            lab_port(),
            4,
            extra_conf=extra_conf,
        )
        started.append(inst)
        return inst

    yield start
    for inst in started:
        dhcpd_lab.stop(inst)


# ---------------------------------------------------------------- Wire format


async def test_startup_message_comes_first(facts_server: DhcpdInstance) -> None:
    """dhcpd sends its startup message (version 100, header 24) before reading anything."""
    reader, writer = await asyncio.open_connection(facts_server.host, facts_server.port)
    try:
        startup = await asyncio.wait_for(reader.readexactly(8), 5)
    finally:
        writer.close()
    assert (decode_int32(startup[:4]), decode_int32(startup[4:])) == (
        PROTOCOL_VERSION,
        HEADER_SIZE,
    )


async def test_never_is_0x7fffffff(facts_server: DhcpdInstance) -> None:
    """``ends never`` in the lease file is sent as MAX_TIME; a time not set as 0."""
    async with session(facts_server) as s:
        reply = await s.send(Opcode.OPEN, mv=typ("lease"), ov=(ip(NEVER_LEASE),))
    assert reply is not None
    assert decode_int32(reply.values["ends"]) == MAX_TIME
    assert decode_int32(reply.values["tsfp"]) == 0


# ---------------------------------------------------------------- Authentication


@pytest.mark.parametrize("algorithm", list(DIGEST_SIZES))
async def test_algorithm_suffix_and_digest_sizes(
    dhcpd_factory: DhcpdFactory, algorithm: str
) -> None:
    """The authenticator's algorithm is the name plus SIG_ALG_SUFFIX, in any letter case but
    with its final dot; every signature is the whole digest."""
    inst = await asyncio.to_thread(dhcpd_factory, 2, algorithm)
    async with session(inst, authenticate=False) as s:
        for spelling in (algorithm + SIG_ALG_SUFFIX.rstrip("."), algorithm):
            refused = await s.send(
                Opcode.OPEN,
                mv=typ("authenticator"),
                ov=(("name", s.key.name.encode()), ("algorithm", spelling.encode())),
                sign=False,
            )
            assert refused is not None
            assert refused.status == (NOTFOUND, NO_MATCH)
        opened = await s.open_authenticator(s.key.name, algorithm.upper())
        assert opened is not None
        assert opened.message.opcode == Opcode.UPDATE
        assert opened.values["algorithm"] == (algorithm + SIG_ALG_SUFFIX).encode()
        assert opened.siglen == 0  # the reply to the authenticator OPEN is not signed
        s.authid = opened.message.handle
        lease = await s.send(Opcode.OPEN, mv=typ("lease"), ov=(ip(1),))
    assert lease is not None
    assert lease.message.opcode == Opcode.UPDATE
    assert lease.siglen == DIGEST_SIZES[algorithm]


async def test_known_authid_without_signature_is_executed(facts_server: DhcpdInstance) -> None:
    """dhcpd skips the check of a message that names an opened authenticator but carries
    ``authlen`` 0, and even signs its reply: a client must always sign."""
    async with session(facts_server) as s:
        reply = await s.send(Opcode.OPEN, mv=typ("lease"), ov=(ip(2),), authlen=0)
    assert reply is not None
    assert reply.message.opcode == Opcode.UPDATE
    assert reply.values["client-hostname"] == b"host2"
    assert reply.siglen == DIGEST_SIZES[facts_server.algorithm]


# ---------------------------------------------------------------- Messages and replies


@dataclass(frozen=True)
class TextCase:
    text: str
    code: int
    op: int
    mv: tuple[tuple[str, bytes], ...] = ()
    ov: tuple[tuple[str, bytes], ...] = ()
    handle: int = 0  # -1: the session's authenticator
    sign: bool = True


def flag(name: str, value: bytes) -> tuple[tuple[str, bytes], ...]:
    return (*typ("lease"), (name, value))


TEXT_CASES = [
    TextCase(
        NO_AUTHENTICATOR, int(ResultCode.NOKEYS), Opcode.OPEN, typ("lease"), (ip(1),), sign=False
    ),
    *(
        TextCase(INVALID_FLAG.format(f), INVALIDARG, Opcode.OPEN, flag(f, b"\x01"), (ip(1),))
        for f in ("create", "update", "exclusive")
    ),
    TextCase(TYPE_REQUIRED, INVALIDARG, Opcode.OPEN, (("create", I32(1)),), (ip(1),)),
    TextCase(UNSEARCHABLE, int(ResultCode.NOTIMPLEMENTED), Opcode.OPEN, typ("generic")),
    TextCase(
        LOOKUP_FAILED, int(ResultCode.KEYCONFLICT), Opcode.OPEN, typ("lease"), (ip(1), mac(2))
    ),
    TextCase(NO_MATCH, NOTFOUND, Opcode.OPEN, typ("lease"), (("ip-address", b"\x0a\x63\x00\x01"),)),
    TextCase(
        ALREADY_EXISTS,
        int(ResultCode.EXISTS),
        Opcode.OPEN,
        typ("host", "create", "exclusive"),
        (("name", CONF_HOST.encode()),),
    ),
    TextCase(CANT_CREATE, int(ResultCode.NOTIMPLEMENTED), Opcode.OPEN, typ("lease")),
    TextCase(CANT_UPDATE, int(ResultCode.NOPERM), Opcode.OPEN, typ("lease", "update"), (ip(1),)),
    TextCase(
        CANT_SELECT_AUTHENTICATOR,
        int(ResultCode.INVALIDKEY),
        Opcode.OPEN,
        typ("authenticator"),
        (("name", OTHER_KEY.name.encode()), ("algorithm", b"hmac-md5" + SIG_ALG_SUFFIX.encode())),
        sign=False,
    ),
    TextCase(NO_MATCHING_HANDLE, NOTFOUND, Opcode.REFRESH, handle=0x7FFFFFF0),
    TextCase(CANNOT_UPDATE_AUTHENTICATOR, 0, Opcode.UPDATE, ov=(("name", b"x"),), handle=-1),
    TextCase(NOTIFY_NOT_IMPLEMENTED, int(ResultCode.NOTIMPLEMENTED), Opcode.NOTIFY),
    TextCase(NO_REMOVE_METHOD, int(ResultCode.NOTIMPLEMENTED), Opcode.DELETE, handle=-1),
]


def test_every_status_text_has_a_case() -> None:
    assert {case.text for case in TEXT_CASES} == STATUS_TEXTS


@pytest.mark.parametrize("case", TEXT_CASES, ids=[c.text for c in TEXT_CASES])
async def test_status_texts(facts_server: DhcpdInstance, case: TextCase) -> None:
    """Each text of STATUS_TEXTS, byte for byte, with the result code it comes with."""
    async with session(facts_server) as s:
        handle = s.authid if case.handle == -1 else case.handle
        reply = await s.send(case.op, mv=case.mv, ov=case.ov, handle=handle, sign=case.sign)
    assert reply is not None
    assert reply.status == (case.code, case.text)


async def test_replies_come_back_in_request_order(facts_server: DhcpdInstance) -> None:
    """Requests written at once are answered one by one, in order, each ``rid`` the ``id``
    of its request."""
    async with session(facts_server) as s:
        requests = [s.encode(Opcode.REFRESH, handle=0x7FFFFF00 + i) for i in range(6)]
        ids = [decode_int32(r[16:20]) for r in requests]
        s.writer.write(b"".join(requests))
        replies = [await s.receive() for _ in requests]
    assert [r.message.rid for r in replies if r is not None] == ids


async def test_nothing_arrives_unasked(facts_server: DhcpdInstance) -> None:
    """dhcpd sends nothing a client did not ask for (no notifications, no keepalives)."""
    async with session(facts_server) as s:
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(3):
                await s.reader.read(1)
        assert await s.send(Opcode.OPEN, mv=typ("lease"), ov=(ip(3),)) is not None


# ---------------------------------------------------------------- Objects


async def test_only_four_lease_flags_can_be_set(facts_server: DhcpdInstance) -> None:
    """An UPDATE of ``flags`` keeps only the settable bits; dhcpd sends them as one byte."""
    async with session(facts_server) as s:
        lease = await s.send(Opcode.OPEN, mv=typ("lease"), ov=(ip(4),))
        assert lease is not None
        handle = lease.message.handle
        for value, expected in ((b"\xff", SETTABLE_LEASE_FLAGS), (b"\x00", 0), (I32(0xFF), 0x4E)):
            update = await s.send(Opcode.UPDATE, ov=(("flags", value),), handle=handle)
            assert update is not None
            assert update.status == (0, None)
            after = await s.send(Opcode.REFRESH, handle=handle)
            assert after is not None
            assert after.values["flags"] == bytes([expected]), value
    assert SENT_LEASE_FLAGS == SETTABLE_LEASE_FLAGS == 0x4E


async def test_lease_states_one_to_seven(facts_server: DhcpdInstance) -> None:
    async with session(facts_server) as s:
        lease = await s.send(Opcode.OPEN, mv=typ("lease"), ov=(ip(5),))
        assert lease is not None
        for state in (0, 8, 9, 254):
            assert state not in SETTABLE_LEASE_STATES
            reply = await s.send(
                Opcode.UPDATE, ov=(("state", I32(state)),), handle=lease.message.handle
            )
            assert reply is not None
            assert reply.status == (INVALIDARG, CANT_UPDATE), state


async def test_lease_attributes_ignored_or_refused(facts_server: DhcpdInstance) -> None:
    async with session(facts_server) as s:
        lease = await s.send(Opcode.OPEN, mv=typ("lease"), ov=(ip(6),))
        assert lease is not None
        handle = lease.message.handle
        for name in sorted(LEASE_IGNORED_ATTRIBUTES):
            reply = await s.send(Opcode.UPDATE, ov=((name, I32(1)),), handle=handle)
            assert reply is not None
            assert reply.status == (0, None), name
        after = await s.send(Opcode.REFRESH, handle=handle)
        assert after is not None
        unchanged = {k: v for k, v in after.values.items() if k != "remote-handle"}
        assert unchanged == lease.values, "an ignored attribute changed the lease"
        for name in sorted(LEASE_READ_ONLY_ATTRIBUTES):
            reply = await s.send(Opcode.UPDATE, ov=((name, I32(1)),), handle=handle)
            assert reply is not None
            assert reply.status == (int(ResultCode.NOPERM), CANT_UPDATE), name


async def test_unsearchable_types(facts_server: DhcpdInstance) -> None:
    async with session(facts_server) as s:
        for name in UNSEARCHABLE_TYPES:
            reply = await s.send(Opcode.OPEN, mv=typ(name), ov=(ip(1),))
            assert reply is not None
            assert reply.status == (int(ResultCode.NOTIMPLEMENTED), UNSEARCHABLE), name


# ---------------------------------------------------------------- Failover


@pytest.fixture
def failover_server(
    fresh_server: Callable[..., DhcpdInstance],
) -> Callable[[], DhcpdInstance]:
    """A server with the lab's failover peer, whose partner never answers."""
    return lambda: fresh_server(FAILOVER_CONF)


async def open_peer(s: Session) -> int:
    peer = await s.send(Opcode.OPEN, mv=typ("failover-state"), ov=(("name", PEER_NAME.encode()),))
    assert peer is not None
    assert peer.message.opcode == Opcode.UPDATE
    return peer.message.handle


async def test_every_failover_state_can_be_set_and_is_named(
    failover_server: Callable[[], DhcpdInstance],
) -> None:
    """dhcpd takes every state of the enum as ``local-state`` (without any check of the
    transition) and logs its move under the state's name."""
    inst = await asyncio.to_thread(failover_server)
    async with session(inst) as s:
        handle = await open_peer(s)
        for state, name in FAILOVER_STATE_NAMES.items():
            seen = inst.log_text().count(f" to {name}\n")
            reply = await s.send(Opcode.UPDATE, ov=(("local-state", I32(state)),), handle=handle)
            assert reply is not None
            assert reply.status == (0, None), name
            deadline = time.monotonic() + 5
            while inst.log_text().count(f" to {name}\n") <= seen:
                assert time.monotonic() < deadline, f"no move to {name}:\n{inst.log_tail()}"
                await asyncio.sleep(0.05)
    assert inst.alive()
    assert f"failover peer {PEER_NAME}: I move from " in inst.log_text()


async def test_failover_ignored_attributes(failover_server: Callable[[], DhcpdInstance]) -> None:
    """Every attribute dhcpd sends but ``local-state`` is accepted and changes nothing; an
    unknown name is NOTFOUND. ``partner-address`` and ``local-address`` are 8 bytes (of a
    pointer), not addresses."""
    inst = await asyncio.to_thread(failover_server)
    async with session(inst) as s:
        handle = await open_peer(s)
        before = await s.send(Opcode.REFRESH, handle=handle)
        assert before is not None
        assert set(before.values) == FAILOVER_IGNORED_ATTRIBUTES | {"local-state"}
        assert len(before.values["partner-address"]) == len(before.values["local-address"]) == 8
        for name in sorted(FAILOVER_IGNORED_ATTRIBUTES):
            reply = await s.send(Opcode.UPDATE, ov=((name, I32(7)),), handle=handle)
            assert reply is not None
            assert reply.status == (0, None), name
        reply = await s.send(Opcode.UPDATE, ov=(("foo", I32(7)),), handle=handle)
        assert reply is not None
        assert reply.status == (NOTFOUND, CANT_UPDATE)
        after = await s.send(Opcode.REFRESH, handle=handle)
    assert after is not None
    assert after.values == before.values


# ---------------------------------------------------------------- Server behaviour and limits


def test_listen_backlog_is_one(facts_server: DhcpdInstance) -> None:
    """``ss`` shows a listening socket's backlog as its Send-Q."""
    out = subprocess.run(
        ["ip", "netns", "exec", facts_server.netns, "ss", "-Hltn", f"sport = :{facts_server.port}"],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    ).stdout.split()
    assert out[0] == "LISTEN"
    assert int(out[2]) == LISTEN_BACKLOG


@pytest.mark.slow
async def test_about_190_connections(dhcpd_factory: DhcpdFactory) -> None:
    """dhcpd closes at once every OMAPI connection whose descriptor would pass MAX_FD_VALUE:
    about CONNECTION_LIMIT connections get the startup message, the rest EOF."""
    inst = await asyncio.to_thread(dhcpd_factory, 2)
    opened: list[asyncio.StreamWriter] = []
    served = refused = 0
    try:
        for _ in range(MAX_FD_VALUE + 50):
            reader, writer = await asyncio.open_connection(inst.host, inst.port)
            opened.append(writer)
            try:
                await asyncio.wait_for(reader.readexactly(8), 5)
                served += 1
            except (asyncio.IncompleteReadError, ConnectionError):
                refused += 1
    finally:
        for writer in opened:
            writer.close()
        await asyncio.gather(*(w.wait_closed() for w in opened), return_exceptions=True)
    assert served + refused == MAX_FD_VALUE + 50
    assert CONNECTION_LIMIT - 10 <= served < MAX_FD_VALUE
    assert refused > 0
    deadline = time.monotonic() + 10  # once dhcpd has seen them closed, it serves again
    while True:
        try:
            async with session(inst) as s:
                assert await s.send(Opcode.OPEN, mv=typ("lease"), ov=(ip(1),)) is not None
                break
        except (asyncio.IncompleteReadError, ConnectionError):
            assert time.monotonic() < deadline, "dhcpd did not serve again"
            await asyncio.sleep(0.2)


# ---------------------------------------------------------------- Requests that crash dhcpd


@pytest.mark.parametrize("name", sorted(RESERVED_MESSAGE_NAMES - {"authenticator"}))
async def test_null_reserved_message_value_kills_dhcpd(
    fresh_server: Callable[..., DhcpdInstance], name: str
) -> None:
    """An empty message value under a reserved name: a segfault, before any signature check."""
    inst = await asyncio.to_thread(fresh_server)
    async with session(inst, authenticate=False) as s:
        mv = (*typ("lease"), (name, b""))
        reply = await s.send(Opcode.OPEN, mv=mv, ov=(ip(1),), sign=False)
    assert reply is None
    assert await gone(inst)


async def test_reserved_message_values_drop_the_connection(facts_server: DhcpdInstance) -> None:
    """A value under a reserved name: the connection is closed, dhcpd lives on. Unsigned,
    ``authenticator`` is refused first (NOKEYS); signed, it is dropped like the others."""
    for name in sorted(RESERVED_MESSAGE_NAMES):
        async with session(facts_server) as s:
            reply = await s.send(Opcode.OPEN, mv=(*typ("lease"), (name, b"x")), ov=(ip(1),))
            assert reply is None, name
    async with session(facts_server, authenticate=False) as s:
        reply = await s.send(
            Opcode.OPEN, mv=(*typ("lease"), ("authenticator", b"")), ov=(ip(1),), sign=False
        )
        assert reply is not None
        assert reply.status == (int(ResultCode.NOKEYS), NO_AUTHENTICATOR)
    assert facts_server.alive()


#: How to write a null for each attribute of NULL_CRASHES but failover ``local-state``: an
#: UPDATE of a found object, or (for what only crashes while unset) an OPEN that creates one.
NULL_CASES = {
    ("lease", "state"): "update",
    ("lease", "ends"): "update",
    ("lease", "flags"): "update",
    ("control", "state"): "update",
    ("group", "name"): "create",
    ("group", "statements"): "create",
    ("class", "name"): "create",
    ("class", "match"): "update",
    ("class", "group"): "update",
    ("subclass", "name"): "create",
    ("subclass", "hashstring"): "create",
    ("subclass", "match"): "create",
    ("subclass", "group"): "create",
}
LOOKUP = {
    "lease": (ip(1),),
    "control": (),
    "class": (("name", b"facts-class"),),
}


def test_every_null_crash_has_a_case() -> None:
    cases = {*NULL_CASES, ("failover-state", "local-state")}
    assert cases == {(t, a) for t, names in NULL_CRASHES.items() for a in names}


@pytest.mark.parametrize(("object_type", "name"), sorted(NULL_CASES))
async def test_null_attribute_kills_dhcpd(
    fresh_server: Callable[..., DhcpdInstance], object_type: str, name: str
) -> None:
    inst = await asyncio.to_thread(fresh_server)
    async with session(inst) as s:
        null = ((name, b""),)
        if NULL_CASES[object_type, name] == "update":
            found = await s.send(Opcode.OPEN, mv=typ(object_type), ov=LOOKUP[object_type])
            assert found is not None
            assert found.message.opcode == Opcode.UPDATE
            reply = await s.send(Opcode.UPDATE, ov=null, handle=found.message.handle)
        else:
            parent = (("name", b"facts-class"),) if object_type == "subclass" else ()
            named = () if name == "name" else (parent or (("name", b"new"),))
            ov = named + null
            reply = await s.send(Opcode.OPEN, mv=typ(object_type, "create", "exclusive"), ov=ov)
    assert reply is None
    assert await gone(inst)


@pytest.mark.parametrize("object_type", sorted(NULL_SURVIVED))
async def test_null_option_is_only_invalidarg(
    facts_server: DhcpdInstance, object_type: str
) -> None:
    """A null ``option`` gets INVALIDARG, as every ``option`` does."""
    hashstring = (("hashstring", bytes.fromhex("01020304050607")),)
    keys = (("name", b"facts-class"), *(hashstring if object_type == "subclass" else ()))
    async with session(facts_server) as s:
        for name in NULL_SURVIVED[object_type]:
            created = await s.send(
                Opcode.OPEN,
                mv=typ(object_type, "create", "exclusive"),
                ov=((("name", b"new-class"),) if object_type == "class" else keys) + ((name, b""),),
            )
            assert created is not None
            assert created.status == (INVALIDARG, CANT_UPDATE)
    assert facts_server.alive()


async def test_null_local_state_kills_dhcpd(failover_server: Callable[[], DhcpdInstance]) -> None:
    inst = await asyncio.to_thread(failover_server)
    async with session(inst) as s:
        handle = await open_peer(s)
        assert await s.send(Opcode.UPDATE, ov=(("local-state", b""),), handle=handle) is None
    assert await gone(inst)


@pytest.mark.parametrize("state", [12, 99, 253])
async def test_failover_state_outside_the_enum_kills_dhcpd(
    failover_server: Callable[[], DhcpdInstance], state: int
) -> None:
    assert state not in VALID_FAILOVER_STATES
    inst = await asyncio.to_thread(failover_server)
    async with session(inst) as s:
        handle = await open_peer(s)
        assert await s.send(Opcode.UPDATE, ov=(("local-state", I32(state)),), handle=handle) is None
    assert await gone(inst)
    assert "exiting." in inst.log_text()


def padded_lookups(s: Session, total: int, count: int) -> list[bytes]:
    """``count`` signed lease lookups, padded with an ignored message value to ``total``
    bytes together."""
    plain = len(s.encode(Opcode.OPEN, mv=(*typ("lease"), ("padding", b"")), ov=(ip(1),)))
    sizes = [total // count] * count
    sizes[-1] += total - sum(sizes)
    return [
        s.encode(Opcode.OPEN, mv=(*typ("lease"), ("padding", b"p" * (n - plain))), ov=(ip(1),))
        for n in sizes
    ]


@pytest.mark.parametrize("offset", [4040, *INPUT_ABORT_OFFSETS, 4044])
async def test_input_abort_window(fresh_server: Callable[..., DhcpdInstance], offset: int) -> None:
    """Four padded lookups of ``offset`` bytes, then two plain ones, in one write: dhcpd
    aborts when the fifth starts at an offset of INPUT_ABORT_OFFSETS, and answers all six
    otherwise."""
    inst = await asyncio.to_thread(fresh_server)
    async with session(inst) as s:
        batch = padded_lookups(s, offset, 4)
        assert sum(map(len, batch)) == offset
        batch += [s.encode(Opcode.OPEN, mv=typ("lease"), ov=(ip(i),)) for i in (2, 3)]
        s.writer.write(b"".join(batch))
        replies = [await s.receive() for _ in batch]
    if offset in INPUT_ABORT_OFFSETS:
        assert await gone(inst), "dhcpd survived a request on the abort window"
        assert "REQUIRE" in inst.log_text()
    else:
        assert all(r is not None and r.message.opcode == Opcode.UPDATE for r in replies)
        assert inst.alive()
