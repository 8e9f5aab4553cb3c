"""``aiomapi shell`` and ISC's ``omshell`` on the same scripts, against the real dhcpd.

Each script in tests/data/shell/*.omshell runs through ``/usr/bin/omshell`` and through the
shell, with standard output and standard error merged into one pipe as a program driving
omshell would read them; the two outputs must be the same, line for line. The scripts name
the server with placeholders (``@SERVER@``, ``@PORT@``, ``@KEY_NAME@``, ``@SECRET@``,
``@ALGORITHM@``, ``@PEER@``) filled in for the lab server.

Some checks need omshell but no dhcpd: a stub server answers omshell's requests with every
result code (the texts of :mod:`aiomapi.shell.results`) and with values of every shape (the
printer).
"""

from __future__ import annotations

import asyncio
import contextlib
import difflib
import io
import os
import random
import shutil
import struct
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from aiomapi._sansio.wire import (
    Framer,
    Message,
    decode_frame,
    encode_message,
    encode_startup,
)
from aiomapi.server.accept import Acceptor
from aiomapi.shell import Shell, StreamOutput, format_bytes, result_text, run_stream
from aiomapi.testing.dhcpd_lab import DhcpdInstance, FailoverPair, lease_ip

from ..conftest import DhcpdFactory

OMSHELL = shutil.which("omshell")
SCRIPTS = Path(__file__).parent.parent / "data" / "shell"
pytestmark = [
    pytest.mark.dhcpd,
    pytest.mark.skipif(
        OMSHELL is None and os.environ.get("AIOMAPI_REQUIRE_DHCPD") != "1",
        reason="omshell not installed (isc-dhcp-server ships it)",
    ),
]

#: Scripts run against the single lab server (failover_state needs the pair).
SINGLE = sorted(p.stem for p in SCRIPTS.glob("*.omshell") if p.stem != "failover_state")


def fill(script: str, inst: DhcpdInstance, **extra: str) -> str:
    values = {
        "@SERVER@": inst.host,
        "@PORT@": str(inst.port),
        "@KEY_NAME@": inst.key_name,
        "@SECRET@": inst.secret,
        "@ALGORITHM@": inst.algorithm,
        "@PEER@": "lab",
        **{f"@{k.upper()}@": v for k, v in extra.items()},
    }
    for placeholder, value in values.items():
        script = script.replace(placeholder, value)
    return script


async def omshell(script: str, timeout: float = 30) -> str:
    """omshell's standard output and error, merged, for ``script`` on its standard input."""
    assert OMSHELL is not None
    proc = await asyncio.create_subprocess_exec(
        OMSHELL,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with asyncio.timeout(timeout):
            out, _ = await proc.communicate(script.encode("latin-1"))
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    return out.decode("latin-1")


async def ours(script: str, timeout: float = 30) -> str:
    """The shell's standard output and error for ``script``, merged as in one pipe."""
    buf = io.BytesIO()
    output = StreamOutput(buf, buf, line_buffered=False)
    async with asyncio.timeout(timeout):
        await run_stream(Shell(output, timeout=10), io.BytesIO(script.encode("latin-1")), output)
    return buf.getvalue().decode("latin-1")


def normalise(output: str) -> list[str]:
    """Lines, with object handles (which differ from run to run) blanked out."""
    return [
        "handle = <handle>" if line.lstrip("> ").startswith("handle = ") else line
        for line in output.split("\n")
    ]


def assert_same(expected: str, got: str) -> int:
    """Assert that the outputs are the same line for line; returns the number of lines."""
    a, b = normalise(expected), normalise(got)
    if a != b:
        diff = "\n".join(difflib.unified_diff(a, b, "omshell", "aiomapi shell", lineterm=""))
        pytest.fail(f"aiomapi shell differs from omshell:\n{diff}")
    return len(a)


# ---------------------------------------------------------------- scripts on the real dhcpd


@pytest.mark.parametrize("name", SINGLE)
async def test_script_matches_omshell(dhcpd: DhcpdInstance, name: str) -> None:
    script = fill((SCRIPTS / f"{name}.omshell").read_text(), dhcpd)
    expected = await omshell(script)
    assert "obj:" in expected or name == "refused"  # the script did reach the server
    assert_same(expected, await ours(script))


@pytest.mark.failover
async def test_failover_state_matches_omshell(failover_pair: FailoverPair) -> None:
    for peer in (failover_pair.primary, failover_pair.secondary):
        script = fill((SCRIPTS / "failover_state.omshell").read_text(), peer)
        expected = await omshell(script)
        assert "local-state = 00:00:00:02" in expected  # normal
        assert "partner-state = 00:00:00:02" in expected
        assert_same(expected, await ours(script))


@pytest.mark.parametrize(
    "algorithm", ["hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"]
)
async def test_every_hmac_matches_omshell(dhcpd_factory: DhcpdFactory, algorithm: str) -> None:
    inst = dhcpd_factory(n_leases=10, algorithm=algorithm)
    script = fill(
        "server @SERVER@\nport @PORT@\nkey-algorithm @ALGORITHM@\nkey @KEY_NAME@ @SECRET@\n"
        "connect\nnew lease\nset ip-address = " + lease_ip(3) + "\nopen\n",
        inst,
    )
    expected = await omshell(script)
    assert 'client-hostname = "host3"' in expected
    assert_same(expected, await ours(script))
    # Without the key-algorithm line the key is taken for hmac-md5, which the server refuses.
    script = script.replace(f"key-algorithm {algorithm}\n", "")
    expected = await omshell(script)
    assert "dhcpctl_connect: not found" in expected
    assert_same(expected, await ours(script))


async def test_piped_through_a_process_matches_omshell(dhcpd: DhcpdInstance) -> None:
    """``python -m aiomapi shell`` with the script on its standard input, and its standard
    output and error in one pipe: the real streams and their buffering."""
    script = fill((SCRIPTS / "lease_by_mac.omshell").read_text(), dhcpd) + "bogus\nopen x\n"
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiomapi",
        "shell",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=Path(__file__).parent.parent.parent,
    )
    async with asyncio.timeout(60):
        out, _ = await proc.communicate(script.encode())
    assert proc.returncode == 0
    assert_same(await omshell(script), out.decode("latin-1"))


async def test_requests_that_crash_dhcpd_are_refused(dhcpd: DhcpdInstance) -> None:
    """A null lease state or failover local-state would kill dhcpd (docs/dhcpd-behaviour.md,
    "Requests that crash dhcpd"): refused.

    Not run through omshell: it sends them.
    """
    script = fill(
        "server @SERVER@\nport @PORT@\nkey @KEY_NAME@ @SECRET@\nconnect\n"
        f"new lease\nset ip-address = {lease_ip(4)}\nopen\nunset state\nupdate\nclose\n"
        'new failover-state\nset name = "lab"\nunset local-state\nopen\n',
        dhcpd,
    )
    out = await ours(script)
    assert "can't update object: refused by aiomapi: refusing a null 'state' on lease" in out
    assert "can't open object: refused by aiomapi:" in out
    assert dhcpd.alive()
    # ... and the server still answers.
    after = await ours(
        fill(
            "server @SERVER@\nport @PORT@\nkey @KEY_NAME@ @SECRET@\nconnect\n"
            f"new lease\nset ip-address = {lease_ip(4)}\nopen\n",
            dhcpd,
        )
    )
    assert "state = 00:00:00:02" in after


_COMMANDS = ["set", "set", "set", "unset", "new", "close", "key-algorithm", "server", "port"]
_COMMANDS += ["help", "?", "bogus", "SET", "#", ""]
_FRAGMENTS = [
    *("x", "ab", "1abc", "g1", "true", "lease", '"str"', '"a\\tb"', '"unterminated', "1", "-1"),
    *("-", "0x10", "1:2", "1:g", "1.2.3", "1..2", "256", "1.2.3.256", "=", "=", ":", ".", ";"),
    *("{", "}", "#c", "AAAA", "+/", "abc", "12ab", "-ff", "\xe9", "\\", "'", "99999999999"),
    *("010", "a-b", "_x", "x_"),
]


@pytest.mark.parametrize("seed", range(4))
async def test_random_lines_match_omshell(dhcpd: DhcpdInstance, seed: int) -> None:
    """Lines made of omshell's commands and odd tokens, on a connected session with an
    object: the same output, warnings and carets included. (No open, update or remove:
    the object is never sent, so nothing can reach the server.)"""
    rng = random.Random(seed)
    lines = ["server @SERVER@", "port @PORT@", "key @KEY_NAME@ @SECRET@", "connect", "new lease"]
    for _ in range(60):
        words = [rng.choice(_COMMANDS)]
        words += [rng.choice(_FRAGMENTS) for _ in range(rng.randrange(6))]
        line = "".join(w + rng.choice([" ", " ", "", "  ", "\t"]) for w in words)
        lines.append(line.rstrip(" ") if rng.random() < 0.7 else line)
    script = fill("\n".join(lines) + "\n", dhcpd)
    assert_same(await omshell(script), await ours(script))


# ---------------------------------------------------------------- omshell against a stub


Responder = Callable[[Message], Message]


@contextlib.asynccontextmanager
async def stub_server(respond: Responder) -> AsyncIterator[int]:
    """An unauthenticated OMAPI server on 127.0.0.1 answering each request with
    ``respond(request)``; yields its port."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(encode_startup())
        with contextlib.suppress(ConnectionError, asyncio.IncompleteReadError):
            await reader.readexactly(8)
            framer = Framer()
            while data := await reader.read(65536):
                framer.feed(data)
                while (frame := framer.next_frame()) is not None:
                    writer.write(encode_message(respond(decode_frame(frame))))
                    await writer.drain()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()

    server = Acceptor(serve)
    await server.start("127.0.0.1", 0)
    assert server.port is not None
    try:
        yield server.port
    finally:
        await server.close()


def status(request: Message, code: int) -> Message:
    return Message(5, 0, 1, request.id, (("result", struct.pack(">I", code)),), ())


async def test_result_texts_match_omshell() -> None:
    """What omshell prints for every result code (`can't open object: <text>`)."""
    current = [0]

    async with stub_server(lambda request: status(request, current[0])) as port:
        script = f"server 127.0.0.1\nport {port}\nconnect\nnew lease\nopen\n"
        codes = [(cls << 16) + n for cls in range(8) for n in range(130 if cls == 1 else 71)][1:]
        for code in [*codes, 12 << 16, 2**31, 2**32 - 1]:
            current[0] = code
            out = await omshell(script)
            assert f"can't open object: {result_text(code)}\n" in out, code


@pytest.mark.parametrize("seed", range(3))
async def test_printer_matches_omshell(seed: int) -> None:
    """Values of every shape, sent by a server, print as omshell prints them."""
    rng = random.Random(seed)
    values = [
        ("printable1022", b"b" * 1022),
        ("printable1023", b"c" * 1023),
        ("hex341", b"\x02" * 341),
        ("hex342", b"\x03" * 342),
        ("int", b"\x00\x00\x00\x02"),
        ("printable-int", b"ABCD"),
        ("null", b""),
        ("quote", b'a"b\\'),
        ("edges", b"\x1f\x20\x7e\x7f\x80\xff"),
    ]
    for i in range(40):
        size = rng.choice([1, 2, 4, 6, 16, rng.randrange(1, 400)])
        alphabet = rng.choice([range(256), range(0x20, 0x7F), range(0x1E, 0x82)])
        values.append((f"v{i}", bytes(rng.choice(alphabet) for _ in range(size))))

    def respond(request: Message) -> Message:
        if request.opcode == 1:
            return Message(3, 7, 1, request.id, (), tuple(values))
        return status(request, 0)

    async with stub_server(respond) as port:
        script = f"server 127.0.0.1\nport {port}\nconnect\nnew lease\nset x = 1\nopen\nrefresh\n"
        expected = await omshell(script)
        assert_same(expected, await ours(script))
    shown = dict(line.split(" = ", 1) for line in expected.split("\n") if " = " in line)
    for name, raw in values:
        if raw:  # a null value from the server removes the name
            assert shown[name] == format_bytes(raw), name
        else:
            assert name not in shown
