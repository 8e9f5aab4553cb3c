"""No error path shows any part of a key spec or key file (issue 8, item 6).

Every test feeds a canary secret and a canary key name, in the right places and in the
wrong ones, through the library and through the ``aiomapi`` command, and then looks for
them in everything a user or a log could see: stdout, stderr, log records of every logger
at DEBUG, and each exception with its whole chain (``str``, ``repr``, ``args``, attributes,
formatted traceback). The secret is also looked for decoded (as ``repr`` and hex) and as
any 12-character run of its base64, so that a message showing half of it fails too.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import re
import socket
import sys
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path

import pytest

import aiomapi
from aiomapi import Key, cli
from aiomapi._sansio.client import ClientProtocol, ConnectionFailed
from aiomapi._sansio.wire import Message, Opcode, encode_message
from aiomapi.cli.exits import Exit
from aiomapi.client import key_from_spec
from aiomapi.errors import ResultCode
from aiomapi.testing import FakeDhcpd, synthetic_leases

from .. import captures

# The secret decodes to bytes with a readable middle, so that a message quoting the decoded
# bytes (repr, latin-1 text) shows the word "canary"; its ends are not ASCII, so that its
# repr and hex differ from the text.
RAW = bytes.fromhex("c0ffee00") + b"canary-secret" + bytes(range(0xF0, 0x100))
SECRET = base64.b64encode(RAW).decode()
NAME = "canary_key_name"  # not base64 (the underscore), as dhcpd key names usually are
OTHER = "canary_other_key"
VALID = base64.b64encode(b"a secret the server does not know").decode()
WINDOW = 12  # a leak of this many base64 characters (72 bits) of the secret counts
assert len(RAW) >= 16  # what Key.from_spec's swap detection takes for a secret

FORBIDDEN: tuple[str, ...] = (
    "canary",  # NAME, OTHER and the readable middle of RAW
    repr(RAW)[2:-1],
    RAW.hex(),
    RAW.hex(":"),
    RAW.hex(" "),
    RAW.decode("latin-1"),
    *(SECRET[i : i + WINDOW] for i in range(len(SECRET) - WINDOW + 1)),
)


def assert_clean(texts: Iterable[str]) -> None:
    """No text holds the canary secret or name in any of the FORBIDDEN forms."""
    for text in texts:
        for form in FORBIDDEN:
            assert form not in text, f"key material {form!r} shown in:\n{text}"


def exception_texts(exc: BaseException) -> list[str]:
    """Everything that can be read off ``exc`` and the exceptions chained to it."""
    texts: list[str] = []
    seen: set[int] = set()
    todo = [exc]
    while todo:  # ends: each exception is visited once, and a chain is finite
        error = todo.pop()
        if id(error) in seen:
            continue
        seen.add(id(error))
        texts += [str(error), repr(error), *map(repr, error.args)]
        texts += [repr(value) for value in vars(error).values()]
        texts.append("".join(traceback.format_exception(error)))
        texts += getattr(error, "__notes__", [])
        todo += [e for e in (error.__cause__, error.__context__) if e is not None]
        if isinstance(error, BaseExceptionGroup):
            todo += error.exceptions
    return texts


@pytest.fixture(autouse=True)
def _everything_logged(
    request: pytest.FixtureRequest, caplog: pytest.LogCaptureFixture
) -> Iterator[None]:
    """Capture every logger at DEBUG; after the test, check what was logged.

    An xfail test checks its log itself: a failure here would be a teardown error, which
    xfail does not cover.
    """
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="aiomapi")
    yield
    if request.node.get_closest_marker("xfail") is None:
        assert_clean([caplog.text, *(r.getMessage() for r in caplog.records)])


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AIOMAPI_HOST", "AIOMAPI_PORT", "AIOMAPI_KEY"):
        monkeypatch.delenv(name, raising=False)


def closed_port() -> int:
    """A local TCP port that nothing listens on (bound once, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# ---------------------------------------------------------------- key specs

# Every way round a user can get NAME:SECRET or ALGORITHM:NAME:SECRET wrong.
BAD_SPECS = {
    "swapped": f"{SECRET}:{NAME}",
    "swapped-with-algorithm": f"hmac-md5:{SECRET}:{NAME}",
    "swapped-base64-looking-name": f"hmac-md5:{SECRET}:name",
    "algorithm-in-the-middle": f"{NAME}:hmac-md5:{SECRET}",
    "secret-first-algorithm-last": f"{SECRET}:{NAME}:hmac-md5",
    "secret-as-algorithm": f"{SECRET}:hmac-md5:{NAME}",
    "secret-only": SECRET,
    "empty-name": f":{SECRET}",
    "empty-secret": f"{SECRET}:",
    "extra-colons": f"hmac-md5:{NAME}:{SECRET}:extra",
    "leading-colons": f"::{SECRET}",
    "secret-twice": f"{NAME}:{SECRET}:{SECRET}",
    "bad-base64": f"{NAME}:{SECRET}!",
    "unknown-algorithm": f"hmac-md4:{NAME}:{SECRET}",
    "name-only": NAME,
}


@pytest.mark.parametrize("spec", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_key_from_spec_refuses_without_showing_the_spec(spec: str) -> None:
    with pytest.raises(ValueError, match="key") as info:
        Key.from_spec(spec)
    assert_clean(exception_texts(info.value))


@pytest.mark.parametrize("spec", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_client_key_from_spec_shows_nothing_either(spec: str) -> None:
    # aiomapi.client.key_from_spec has no swap detection: it may build a key whose name
    # is the secret, but neither its refusal nor the key may show it.
    try:
        key = key_from_spec(spec)
    except ValueError as exc:
        assert_clean(exception_texts(exc))
    else:
        assert_clean([repr(key), str(key), key.label, f"{key}", f"{key!r}"])


def test_a_swapped_spec_is_called_swapped() -> None:
    with pytest.raises(ValueError, match="swapped"):
        Key.from_spec(f"{SECRET}:{NAME}")
    with pytest.raises(ValueError, match="swapped"):
        Key.from_spec(f"hmac-md5:{SECRET}:name")  # "name" is valid base64 (3 bytes)
    assert Key.from_spec(f"hmac-sha256:{NAME}:{SECRET}") == Key(NAME, SECRET, "hmac-sha256")
    assert Key.from_spec(f"{NAME}:{SECRET}") == Key(NAME, SECRET)


# ---------------------------------------------------------------- the Key constructor

BAD_KEYS = {
    "swapped": (SECRET, NAME, "hmac-md5"),
    "bad-base64": (NAME, SECRET + "!", "hmac-md5"),
    "secret-as-algorithm": (NAME, SECRET, SECRET),
    "name-as-algorithm": (SECRET, SECRET, NAME),
    "no-name": ("", SECRET, "hmac-md5"),
    "empty-secret-named-secret": (SECRET, "", "hmac-md5"),
    "whitespace-secret": (SECRET, "   ", "hmac-md5"),
}


@pytest.mark.parametrize(("name", "secret", "algorithm"), BAD_KEYS.values(), ids=BAD_KEYS.keys())
def test_key_refuses_without_showing_name_or_secret(name: str, secret: str, algorithm: str) -> None:
    with pytest.raises(ValueError, match="key") as info:
        Key(name, secret, algorithm)
    assert_clean(exception_texts(info.value))


def test_a_key_named_by_its_secret_shows_neither() -> None:
    for key in (Key(SECRET, VALID), Key(NAME, SECRET), Key(SECRET, SECRET, "hmac-sha512")):
        signer = key.signer()
        texts = [repr(key), str(key), key.label, key.fingerprint, repr(signer), f"{key!r}"]
        assert_clean(texts)
        assert key.fingerprint in key.label
        assert key.algorithm in key.label


def test_the_fingerprint_identifies_the_name() -> None:
    assert Key(NAME, SECRET).fingerprint == aiomapi._sansio.auth.key_fingerprint(NAME)
    assert Key(NAME, SECRET).fingerprint != Key(OTHER, SECRET).fingerprint
    assert Key(NAME, SECRET).fingerprint == Key(NAME, VALID, "hmac-sha1").fingerprint


def test_client_repr_hides_the_key() -> None:
    client = aiomapi.Client("127.0.0.1", closed_port(), key=Key(SECRET, VALID))
    assert_clean([repr(client), repr(client.key)])


# ---------------------------------------------------------------- key files

STANZAS = {
    "missing-secret": f"key {NAME} {{ algorithm hmac-md5; }};",
    "missing-secret-quoted": f'key "{NAME}" {{ algorithm hmac-sha256; }}; omapi-key "{NAME}";',
    "bad-base64": f'key {NAME} {{ algorithm hmac-md5; secret "{SECRET}!"; }};',
    "unquoted-bad-base64": f"key {NAME} {{ secret {SECRET}*; }};",
    "secret-in-the-name-field": f'key {SECRET} {{ algorithm hmac-md5; secret "{NAME}"; }};',
    "secret-as-algorithm": f'key {NAME} {{ algorithm {SECRET}; secret "{SECRET}"; }};',
    "name-as-algorithm": f'key {NAME} {{ algorithm {NAME}; secret "{SECRET}"; }};',
    "unterminated-quote": f'key {NAME} {{ algorithm hmac-md5; secret "{SECRET} }};',
    "no-semicolon": f'key {NAME} {{ secret "{SECRET}" }}',
    "empty-secret": f'key {NAME} {{ secret ""; }}; # {SECRET}',
    "two-keys-none-chosen": f'key {NAME} {{ secret "{SECRET}"; }};'
    f'key {OTHER} {{ secret "{VALID}"; }};',
    "omapi-key-is-the-secret": f'omapi-key {SECRET}; key {NAME} {{ secret "{VALID}"; }};',
    "omapi-key-undeclared": f'key {NAME} {{ secret "{SECRET}"; }}; omapi-key {OTHER};',
    "only-the-secret": SECRET,
    "secret-statement-only": f'secret "{SECRET}";',
    "braces-swapped": f'key {NAME} }} secret "{SECRET}"; {{;',
}
NOT_UTF8 = f'key {NAME} {{ secret "{SECRET}'.encode() + b"\xff\xfe" + b'"; };'


def key_file(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "dhcpd.conf"
    if isinstance(text, str):
        path.write_text(text)
    else:
        path.write_bytes(text)
    return path


@pytest.mark.parametrize("text", [*STANZAS.values(), NOT_UTF8], ids=[*STANZAS, "not-utf-8"])
def test_key_file_errors_show_nothing_of_the_file(tmp_path: Path, text: str | bytes) -> None:
    path = key_file(tmp_path, text)
    # The path is not key material, and tells the user which file is wrong.
    with pytest.raises(ValueError, match=re.escape(str(path))) as info:
        Key.from_dhcpd_conf(path)
    assert_clean(exception_texts(info.value))


@pytest.mark.parametrize(
    "asked", [SECRET, NAME, f"{NAME}:{SECRET}"], ids=["secret", "name", "spec"]
)
def test_asking_a_file_for_a_missing_key_does_not_repeat_the_name(
    tmp_path: Path, asked: str
) -> None:
    path = key_file(tmp_path, f'key other {{ secret "{VALID}"; }};')
    with pytest.raises(ValueError, match="no key by the name asked for") as info:
        Key.from_dhcpd_conf(path, asked)
    assert_clean(exception_texts(info.value))


def test_a_key_file_naming_its_key_by_the_secret_shows_neither(tmp_path: Path) -> None:
    path = key_file(tmp_path, f'key "{SECRET}" {{ secret "{VALID}"; }};')
    key = Key.from_dhcpd_conf(path)
    assert key.name == SECRET
    assert_clean([repr(key), str(key), key.label])


def test_a_missing_key_file_is_named_by_its_path_only(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError) as info:
        Key.from_dhcpd_conf(tmp_path / "absent.conf", NAME)
    assert_clean(exception_texts(info.value))


# ---------------------------------------------------------------- connecting (library)


async def _connect_and_look_up(host: str, port: int, key: Key) -> BaseException:
    client = aiomapi.Client(host, port, key=key, timeout=3, connect_timeout=3)
    with pytest.raises(aiomapi.OmapiError) as info:
        async with client as omapi:
            await omapi.leases.get(ip="10.100.1.1")
    assert_clean([repr(client)])
    return info.value


async def test_wrong_secret_for_the_right_name(capsys: pytest.CaptureFixture[str]) -> None:
    async with FakeDhcpd(key=Key.generate("omapi_key"), leases=synthetic_leases(2)) as server:
        error = await _connect_and_look_up(server.host, server.port, Key("omapi_key", SECRET))
    assert_clean([*exception_texts(error), *capsys.readouterr()])


async def test_closed_port_with_a_swapped_key(capsys: pytest.CaptureFixture[str]) -> None:
    error = await _connect_and_look_up("127.0.0.1", closed_port(), Key(SECRET, VALID))
    assert isinstance(error, aiomapi.ConnectionError_)
    assert_clean([*exception_texts(error), *capsys.readouterr()])


# Not strict: whether the fake answers a refused authenticator with a status (which shows
# the leak) or drops the connection is being changed by other work at the time of writing.
@pytest.mark.parametrize("name", [SECRET, NAME], ids=["secret-as-name", "unknown-name"])
async def test_refused_key_name_against_a_server(
    capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture, name: str
) -> None:
    async with FakeDhcpd(key=Key.generate("omapi_key"), leases=synthetic_leases(2)) as server:
        error = await _connect_and_look_up(server.host, server.port, Key(name, VALID))
    assert_clean([*exception_texts(error), *capsys.readouterr()])
    assert_clean([caplog.text, *(r.getMessage() for r in caplog.records)])


@pytest.mark.parametrize("name", [SECRET, NAME], ids=["secret-as-name", "unknown-name"])
def test_refused_key_name_is_not_repeated(name: str) -> None:
    # The sans-IO core, so that the refusal is a status reply whatever the server does.
    key = Key(name, VALID)
    proto = ClientProtocol(key, first_id=6)
    proto.initiate()
    refusal = Message(
        Opcode.STATUS,
        rid=7,
        message=(
            ("result", int(ResultCode.NOTFOUND).to_bytes(4, "big")),
            ("message", b"no object matches specification"),
        ),
    )
    [event] = proto.receive_data(captures.SERVER_STARTUP + encode_message(refusal))
    assert isinstance(event, ConnectionFailed)
    assert isinstance(event.error, aiomapi.HandshakeError)
    assert_clean([*exception_texts(event.error), repr(event), repr(proto)])
    assert key.label in str(event.error)


# ---------------------------------------------------------------- the command line

COMMANDS = {
    "bench": ["bench", "--duration", "1", "--leases", "2", "--connections", "1"],
    "lease": ["lease", "--ip", "10.100.1.1"],
    "host": ["host", "get", "--name", "h"],
    "failover": ["failover", "get", "peer"],
    "shutdown": ["shutdown", "--yes"],
}


def run_cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    """``aiomapi argv`` in this process: its exit status, stdout and stderr."""
    try:
        status = cli.main(argv)
    except SystemExit as exc:  # argparse
        status = exc.code if isinstance(exc.code, int) else 2
    out, err = capsys.readouterr()
    return status, out, err


def connection(port: int) -> list[str]:
    return ["--server", "127.0.0.1", "--port", str(port), "--timeout", "2"]


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("spec", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_cli_bad_key_spec(
    capsys: pytest.CaptureFixture[str], command: list[str], spec: str
) -> None:
    status, out, err = run_cli([*command, *connection(closed_port()), "--key", spec], capsys)
    assert status == Exit.USAGE
    assert err.startswith("aiomapi: ")
    assert_clean([out, err])


@pytest.mark.parametrize("spec", BAD_SPECS.values(), ids=BAD_SPECS.keys())
def test_cli_bad_key_spec_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, spec: str
) -> None:
    monkeypatch.setenv("AIOMAPI_KEY", spec)
    status, out, err = run_cli([*COMMANDS["lease"], *connection(closed_port())], capsys)
    assert status == Exit.USAGE
    assert_clean([out, err])


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("text", [*STANZAS.values(), NOT_UTF8], ids=[*STANZAS, "not-utf-8"])
def test_cli_bad_key_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str], text: str | bytes
) -> None:
    path = key_file(tmp_path, text)
    argv = [*command, *connection(closed_port()), "--key-file", str(path)]
    status, out, err = run_cli(argv, capsys)
    assert status == Exit.USAGE
    assert_clean([out, err])


@pytest.mark.parametrize(
    "asked", [SECRET, NAME, f"{NAME}:{SECRET}"], ids=["secret", "name", "spec"]
)
def test_cli_key_name_not_in_the_file(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, asked: str
) -> None:
    path = key_file(tmp_path, f'key other {{ secret "{VALID}"; }};')
    argv = [*COMMANDS["lease"], *connection(closed_port()), "--key-file", str(path)]
    status, out, err = run_cli([*argv, "--key-name", asked], capsys)
    assert status == Exit.USAGE
    assert_clean([out, err])


# Key specs that parse, so the command gets as far as the network.
GOOD_SPECS = {
    "unknown-name": f"{NAME}:{SECRET}",
    "unknown-name-sha256": f"hmac-sha256:{NAME}:{SECRET}",
    "wrong-secret": f"omapi_key:{SECRET}",
    "secret-as-name-and-secret": f"{SECRET}:{SECRET}",
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("spec", GOOD_SPECS.values(), ids=GOOD_SPECS.keys())
def test_cli_closed_port(capsys: pytest.CaptureFixture[str], command: list[str], spec: str) -> None:
    status, out, err = run_cli([*command, *connection(closed_port()), "--key", spec], capsys)
    assert status != 0
    assert "127.0.0.1" in out + err
    assert_clean([out, err])


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("spec", GOOD_SPECS.values(), ids=GOOD_SPECS.keys())
async def test_cli_wrong_key_against_a_server(
    capsys: pytest.CaptureFixture[str], command: list[str], spec: str
) -> None:
    async with FakeDhcpd(key=Key.generate("omapi_key"), leases=synthetic_leases(2)) as server:
        argv = [*command, *connection(server.port), "--key", spec]
        status, out, err = await asyncio.to_thread(run_cli, argv, capsys)
    assert status != 0
    assert_clean([out, err])


KEY_FILES = {
    "secret-as-name": f'key "{SECRET}" {{ algorithm hmac-md5; secret "{VALID}"; }};',
    "unknown-name": f'key {NAME} {{ algorithm hmac-sha1; secret "{SECRET}"; }};',
    "wrong-secret": f'key omapi_key {{ secret "{SECRET}"; }}; omapi-key omapi_key;',
}


@pytest.mark.parametrize("command", COMMANDS.values(), ids=COMMANDS.keys())
@pytest.mark.parametrize("text", KEY_FILES.values(), ids=KEY_FILES.keys())
async def test_cli_wrong_key_file_against_a_server(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, command: list[str], text: str
) -> None:
    path = key_file(tmp_path, text)
    async with FakeDhcpd(key=Key.generate("omapi_key"), leases=synthetic_leases(2)) as server:
        argv = [*command, *connection(server.port), "--key-file", str(path)]
        status, out, err = await asyncio.to_thread(run_cli, argv, capsys)
    assert status != 0
    assert_clean([out, err])


# argparse quotes what it cannot use; a stray space in a key spec makes its parts that.
ARGPARSE = {
    "spaces-in-the-spec": ["lease", "--key", "hmac-md5", SECRET, NAME, "--ip", "10.0.0.1"],
    "secret-as-action": ["host", SECRET, "--key", f"{NAME}:{SECRET}"],
    "secret-as-command": [SECRET, f"{NAME}:{SECRET}"],
    "secret-as-port": ["lease", "--port", SECRET, "--ip", "10.0.0.1"],
    "secret-after-a-flag": ["shutdown", f"--yes={SECRET}"],
    "ambiguous-option": ["lease", f"--ke={NAME}:{SECRET}", "--ip", "10.0.0.1"],
    "key-before-the-command": ["--key", f"{NAME}:{SECRET}", "lease", "--ip", "10.0.0.1"],
    "key-without-a-value": ["lease", "--ip", "10.0.0.1", SECRET, "--key"],
    "failover-without-peer": ["failover", "get", "--key", f"{NAME}:{SECRET}", SECRET, NAME],
}


@pytest.mark.parametrize("argv", ARGPARSE.values(), ids=ARGPARSE.keys())
def test_cli_usage_errors(capsys: pytest.CaptureFixture[str], argv: list[str]) -> None:
    server = ["--server", "127.0.0.1"] if argv[0] in COMMANDS else []
    status, out, err = run_cli([*argv[:1], *server, *argv[1:]], capsys)
    assert status == Exit.USAGE
    assert "error:" in err
    assert_clean([out, err])


@pytest.mark.parametrize("command", [[], *([c] for c in COMMANDS)], ids=["top", *COMMANDS])
def test_cli_help_does_not_show_the_key_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("AIOMAPI_KEY", f"{NAME}:{SECRET}")
    status, out, err = run_cli([*command, "--help"], capsys)
    assert status == 0
    assert "usage:" in out
    assert_clean([out, err])


# ---------------------------------------------------------------- as a user runs it


async def _run_aiomapi(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aiomapi",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.mark.parametrize(
    "key",
    [f"{NAME}:{SECRET}", f"{SECRET}:{SECRET}", f"hmac-md5:{SECRET}:{NAME}", f"{SECRET}:{NAME}"],
    ids=["unknown-name", "secret-as-name", "swapped-with-algorithm", "swapped"],
)
async def test_subprocess_wrong_key(key: str) -> None:
    async with FakeDhcpd(key=Key.generate("omapi_key"), leases=synthetic_leases(2)) as server:
        status, out, err = await _run_aiomapi(
            "lease", *connection(server.port), "--key", key, "--ip", "10.100.1.1"
        )
    assert status in (Exit.AUTH_REFUSED, Exit.CANNOT_CONNECT, Exit.USAGE)
    assert err.startswith("aiomapi: ")
    assert_clean([out, err])


async def test_subprocess_spaces_in_the_spec() -> None:
    status, out, err = await _run_aiomapi(
        "lease", *connection(closed_port()), "--key", "hmac-md5", SECRET, NAME, "--ip", "1.2.3.4"
    )
    assert status == Exit.USAGE
    assert "unrecognized arguments" in err
    assert_clean([out, err])
