"""``aiomapi shell`` without a server: omshell's lexer, value syntax, warnings and printer.

Every expected text here is what ``/usr/bin/omshell`` (ISC DHCP 4.4.3-P1) printed for the
same input; tests/dhcpd/test_shell_omshell_dhcpd.py runs the two side by side.
"""

from __future__ import annotations

import asyncio
import io
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from aiomapi import OmapiObject
from aiomapi.shell import (
    Kind,
    Lexer,
    LocalInt,
    LocalString,
    Shell,
    ShellObject,
    StreamOutput,
    format_bytes,
    format_value,
    result_text,
    run_stream,
)
from aiomapi.shell.printer import MAX_HEX_OCTETS, MAX_STRING

# ---------------------------------------------------------------- helpers


class Recorder:
    """An Output that keeps standard output and standard error apart."""

    def __init__(self) -> None:
        self.stdout = ""
        self.stderr = ""

    def out(self, text: str) -> None:
        self.stdout += text

    def err(self, text: str) -> None:
        self.stderr += text

    def prompt(self) -> None:
        self.out("> ")


def tokens(text: str) -> list[tuple[Kind, str]]:
    warnings: list[str] = []
    lexer = Lexer(text, warnings.append)
    out: list[tuple[Kind, str]] = []
    while (token := lexer.next()).kind is not Kind.EOF:
        out.append((token.kind, token.text))
    return out


def connected_shell(rec: Recorder) -> Shell:
    """A shell that counts as connected (its connection broke), with a lease object."""
    shell = Shell(rec)
    shell.broken = True
    shell.obj = ShellObject("lease")
    return shell


def set_value(line: str) -> tuple[str, str, str]:
    """Run ``line`` on a lease object; returns (stdout before the object is shown, stderr,
    the object's lines)."""
    rec = Recorder()
    shell = connected_shell(rec)
    asyncio.run(shell.execute(line + "\n"))
    lines = shell.obj.lines() if shell.obj else ""
    assert rec.stdout.endswith(lines)
    return rec.stdout[: len(rec.stdout) - len(lines)], rec.stderr, lines


def run_script(script: str) -> str:
    """Stdout and stderr of the shell on ``script`` (no server), merged as a pipe would."""
    buf = io.BytesIO()
    output = StreamOutput(buf, buf, line_buffered=False)
    asyncio.run(run_stream(Shell(output), io.BytesIO(script.encode("latin-1")), output))
    return buf.getvalue().decode("latin-1")


# ---------------------------------------------------------------- the lexer


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("set x = 1", [(Kind.NAME, "set"), (Kind.NUMBER_OR_NAME, "x"), (Kind.CHAR, "=")]),
        ("10.1.2.3", [(Kind.NUMBER, "10"), (Kind.CHAR, "."), (Kind.NUMBER, "1")]),
        (
            "ab 1abc 1g g1 0x10 -a -",
            [
                (Kind.NUMBER_OR_NAME, "ab"),
                (Kind.NUMBER_OR_NAME, "1abc"),
                (Kind.NAME, "1g"),
                (Kind.NUMBER_OR_NAME, "g1"),  # only the characters after the first count
                (Kind.NUMBER_OR_NAME, "0x10"),
                (Kind.NUMBER_OR_NAME, "-a"),
                (Kind.NUMBER, "-"),
            ],
        ),
        ("key-algorithm hmac-sha256", [(Kind.NAME, "key-algorithm"), (Kind.NAME, "hmac-sha256")]),
        ('"a\\"b\\\\c\\x41\\101\\n\\t\\z"', [(Kind.STRING, 'a"b\\cAA\n\tz')]),
        ("open # a comment\n", [(Kind.NAME, "open"), (Kind.EOL, "\n")]),
        ("é", [(Kind.CHAR, "é")]),
    ],
)
def test_tokens(text: str, expected: list[tuple[Kind, str]]) -> None:
    assert tokens(text)[: len(expected)] == expected


def test_dotted_quad_is_numbers_and_dots() -> None:
    kinds = [k for k, _ in tokens("10.1.2.3")]
    assert kinds == [Kind.NUMBER, Kind.CHAR] * 3 + [Kind.NUMBER]


# ---------------------------------------------------------------- values of `set`


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("1", "1"),
        ("-1", "-1"),
        ("4294967295", "-1"),  # atoi into a 32-bit int
        ("4294967296", "0"),
        ("99999999999", "1215752191"),
        ("99999999999999999999", "-1"),  # saturated to LONG_MAX, then cut to 32 bits
        ("010", "10"),  # decimal, not octal
        ("-", "0"),
        ('"str"', '"str"'),
        ('"a\\tb"', '"a\tb"'),  # a local string prints as it is
        ('"a\\000b"', '"a"'),  # and ends at a NUL
        ("01:02:ab", "01:02:ab"),
        ("1:2:3", "01:02:03"),
        ("a:b", "0a:0b"),
        ("1:", "01"),
        ("ab", "ab"),
        ("-a", "f6"),
        ("10.1.2.3", "0a:01:02:03"),
        ("1.2", "01:02"),
        ("1.2.3.4.5", "01:02:03:04:05"),
        ("1..2", "01:00:02"),
        ("1.", "01"),
        ("1.-1", "01:ff"),
        ("01020304", "1020304"),
    ],
)
def test_set_values(value: str, shown: str) -> None:
    stdout, stderr, lines = set_value(f"set x = {value}")
    assert (stdout, stderr) == ("", "")
    assert lines == f"obj: lease\nx = {shown}\n"


@pytest.mark.parametrize(
    ("line", "stdout", "stderr", "shown"),
    [
        ("set x =", "invalid value.\n", "", None),
        ("set x = true", "invalid value.\nusage: set <name> = <value>\n", "", None),
        ("set x = :1", "invalid value.\nusage: set <name> = <value>\n", "", None),
        ("set x = 1g", "invalid value.\nusage: set <name> = <value>\n", "", None),
        ("set x 1", "usage: set <name> = <value>\n", "", None),
        ("set x", "usage: set <name> = <value>\n", "", None),
        ("set", "usage: set <name> = <value>\n", "", None),
        ("set 123 = 1", "usage: set <name> = <value>\n", "", None),
        ("set x = 1 2", "usage: set <name> = <value>\n", "", "1"),
        ('set x = "a" "b"', "usage: set <name> = <value>\n", "", '"a"'),
        ("set x = 1.a", "usage: set <name> = <value>\n", "", "01"),
        ("set x = 1:2.3", "usage: set <name> = <value>\n", "", "01:02"),
        (
            "set x = 0x10",
            "",
            "<STDIN> line 1: Bogus number 0x10: digit 33 not in base 16\n\n^\n",
            "00",
        ),
        (
            "set x = abc",
            "",
            "<STDIN> line 1: abc exceeds max (255) for precision.\n\n^\n",
            "bc",
        ),
        ("set x = -ff", "", "<STDIN> line 1: -ff exceeds max (128) for precision.\n\n^\n", "01"),
        (
            "set x = 1:g:2 x",
            "usage: set <name> = <value>\n",
            "<STDIN> line 1: Bogus number g: digit 16 not in base 16\nset x = 1:g:\n"
            + " " * 10
            + "^\n",
            "01:00:02",
        ),
        (
            "set x = 1.2.3.256 x",
            "usage: set <name> = <value>\n",
            "<STDIN> line 1: dotted octet > 255: 256\nset x = 1.2.3.256 \n" + " " * 14 + "^\n",
            None,
        ),
        (
            'set x = "abc',
            "",
            '<STDIN> line 1: eof in string constant\nset x = "abc\n' + " " * 9 + "^\n",
            '"abc\n"',
        ),
        (
            '\tset x = "abc',
            "",
            '<STDIN> line 1: eof in string constant\n\tset x = "abc\n' + " " * 17 + "^\n",
            '"abc\n"',
        ),
    ],
)
def test_set_errors(line: str, stdout: str, stderr: str, shown: str | None) -> None:
    got_out, got_err, lines = set_value(line)
    assert (got_out, got_err) == (stdout, stderr)
    assert lines == "obj: lease\n" + (f"x = {shown}\n" if shown is not None else "")


@pytest.mark.parametrize(
    ("line", "caret"),
    [
        ("bogus x", 0),  # at the start of the line
        (" bogus x", 2),  # after whitespace: one column further right
        ("   bogus x", 4),
        ("\tbogus x", 9),  # tabs expand to the next multiple of 8
    ],
)
def test_caret_column(line: str, caret: int) -> None:
    rec = Recorder()
    asyncio.run(Shell(rec).execute(line + "\n"))
    assert rec.stderr.splitlines()[-1] == " " * caret + "^"
    assert rec.stderr.splitlines()[0] == "<STDIN> line 1: unknown token: bogus"


def test_unset_and_order() -> None:
    rec = Recorder()
    shell = connected_shell(rec)
    shell.obj = ShellObject("host")
    for line in ['set name = "h"', "set b = 1", "unset name", "unset c", 'set name = "i"']:
        asyncio.run(shell.execute(line + "\n"))
    assert shell.obj.lines() == 'obj: host\nname = "i"\nb = 1\nc = <null>\n'


def test_a_server_reply_replaces_in_place_drops_nulls_and_clears_flags() -> None:
    obj = ShellObject("lease")
    obj.set("c", LocalInt(1))
    obj.set("x", LocalInt(1))
    obj.set("y", None)
    reply = OmapiObject(7, {"a": b"\x00\x00\x00\x01", "c": b"", "x": b"AB"}, "lease")
    obj.apply_reply(reply)
    assert obj.lines() == 'obj: lease\nx = "AB"\na = 00:00:00:01\n'
    assert obj.handle == 7
    assert obj.changes() == {}
    obj.set("x", LocalString(b""))
    assert obj.changes() == {"x": None}  # an empty string goes out as a null value


# ---------------------------------------------------------------- commands without a server


def test_commands_before_connect() -> None:
    script = "help\nbogus\n# comment\n\n   \nnew lease\nopen\ndisconnect\nset x = 1\n"
    assert run_script(script) == (
        "> Commands:\n  port <server omapi port>\n  server <server address>\n"
        "  key <key name> <key value>\n  connect\n  disconnect\n  new <object-type>\n"
        "  set <name> = <value>\n  create\n  open\n  update\n  unset <name>\n  refresh\n"
        "  remove\n"
        "> <STDIN> line 1: unknown token: bogus\n\n^\n"
        "> > > > not connected.\n"
        "> not connected.\n"
        "> not connected\n"
        "> no open object.\n"
        "> "
    )


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "key-algorithm",
            "missing or invalid algorithm name\nusage: key-algoritm <algorithm name>\n",
        ),
        (
            "key-algorithm hmac-sha1 x",
            "extra information after hmac-sha1\nusage: key-algorithm <algorithm name>\n",
        ),
        ("key", "usage: key <name> <value>\n"),
        ('key "name" AAAA', "usage: key <name> <value>\n"),
        ("key name AA!A", "usage: key <name> <value>\n"),
        ("server", "usage: server <server>\n"),
        ('server "localhost"', "usage: server <server>\n"),
        ("server 127.1", "usage: server <server>\n"),
        ("server 1.2.3.4 x", "usage: server <server>\n"),
        ("port", "usage: port <port>\n"),
        ('port "7911"', "usage: port <port>\n"),
        ("port 1 2", "usage: port <server>\n"),
        ("port nosuchservice", "unknown service name: nosuchservice\n"),
        ("connect x", "usage: connect\n"),
        ("disconnect x", "usage: disconnect\n"),
        ("new", "usage: new <object-type>\n"),
        ("new 123", "usage: new <object-type>\n"),
        ("new lease", "not connected.\n"),
        ("OPEN", "not connected.\n"),  # keywords in any case
    ],
)
def test_setting_commands(line: str, expected: str) -> None:
    rec = Recorder()
    asyncio.run(Shell(rec).execute(line + "\n"))
    assert rec.stdout == expected


def test_settings_are_kept() -> None:
    rec = Recorder()
    shell = Shell(rec)
    for line in [
        "server 10.0.0.1",
        "port 7912",
        "key omapi_key c2VjcmV0",
        "key-algorithm HMAC-SHA256",
    ]:
        asyncio.run(shell.execute(line + "\n"))
    assert (shell.server, shell.port, shell.key_name, shell.key_secret, shell.algorithm) == (
        "10.0.0.1",
        7912,
        "omapi_key",
        b"secret",
        "HMAC-SHA256",
    )
    asyncio.run(shell.execute("server myhost\n"))
    asyncio.run(shell.execute("port domain\n"))
    assert (shell.server, shell.port) == ("myhost", 53)
    assert rec.stdout == rec.stderr == ""


def test_key_warnings() -> None:
    rec = Recorder()
    asyncio.run(Shell(rec).execute("key name AAAA extra\n"))
    assert rec.stderr == (
        "<STDIN> line 1: partial base64 value left over: 26.\nkey name AAAA extra\n"
        + " " * 15
        + "^\n"
    )
    rec = Recorder()
    asyncio.run(Shell(rec).execute("key a\n"))
    assert rec.stderr == "<STDIN> line 2: invalid base64 character 10.\n\n^\n"


def test_long_lines_are_read_in_chunks_of_1023() -> None:
    # omshell's 1,024-byte fgets buffer: the rest of a longer line is a new "line".
    out = run_script('bogus "' + "a" * 1100 + '"\n')
    assert len(re.findall(r"(?:^|\n)> ", out)) == 3  # two chunks, and the end of input
    # The second chunk: 84 a's and the quote. Warnings show 80 characters of a line, and
    # a token starting past column 80 gets its caret in column 1.
    assert out.endswith(
        "<STDIN> line 1: unknown token: " + "a" * 84 + "\n" + "a" * 80 + "\n^\n"
        "<STDIN> line 1: eof in string constant\n" + "a" * 80 + "\n^\n> "
    )


def test_stdout_waits_for_the_prompt_behind_stderr() -> None:
    # A warning printed after some output comes first in a merged pipe, as with omshell.
    buf = io.BytesIO()
    output = StreamOutput(buf, buf, line_buffered=False)
    output.out("one\n")
    output.err("two\n")
    output.prompt()
    assert buf.getvalue() == b"two\none\n> "


# ---------------------------------------------------------------- the printer


@pytest.mark.parametrize(
    ("data", "shown"),
    [
        (b"host5", '"host5"'),
        (b" x ", '" x "'),
        (b'a"b\\', '"a"b\\"'),
        (b"~", '"~"'),
        (b"A", '"A"'),
        (b"ABCD", '"ABCD"'),  # an int whose bytes are printable
        (b"\x00\x00\x00\x02", "00:00:00:02"),
        (b"\x7f", "7f"),
        (b"a\tb", "61:09:62"),
        (b"a\xe9", "61:e9"),
        (b"\x00", "00"),
        (b"b" * 1023, '"' + "b" * 1022 + '"'),
        (b"\x02" * 341, ":".join(["02"] * 341)),
        (b"\x03" * 342, ""),
    ],
)
def test_format_bytes(data: bytes, shown: str) -> None:
    assert format_bytes(data) == shown


@given(st.binary(max_size=1200))
def test_any_bytes_print_by_omshells_rule(data: bytes) -> None:
    shown = format_bytes(data)
    if all(0x20 <= b <= 0x7E for b in data):  # the empty value too
        assert shown == '"' + data[:MAX_STRING].decode() + '"'
    elif len(data) > MAX_HEX_OCTETS:
        assert shown == ""
    else:
        assert shown == ":".join(f"{b:02x}" for b in data)
        assert bytes.fromhex(shown.replace(":", "")) == data
        assert len(shown) <= 1022


@given(st.integers(-(2**31), 2**31 - 1))
def test_local_ints_print_in_decimal(n: int) -> None:
    assert format_value(LocalInt(n)) == str(n)
    assert LocalInt(n).wire() == (n & 0xFFFFFFFF).to_bytes(4, "big")


def test_null_prints_null() -> None:
    assert format_value(None) == "<null>"


@given(st.text(alphabet=st.characters(codec="latin-1"), max_size=200))
def test_any_line_is_read_without_crashing(line: str) -> None:
    rec = Recorder()
    shell = connected_shell(rec)
    asyncio.run(shell.execute(line[:1023]))
    asyncio.run(shell.execute("set " + line[:1000]))


def test_result_texts() -> None:
    assert result_text(23) == "not found"
    assert result_text(18) == "already exists"
    assert result_text(393225) == "no key specified"
    assert result_text(393247) == "connection reset by peer"
    assert result_text(65536) == "label too long"  # class 1: DNS
    assert result_text(3 << 16) == "NOERROR"
    assert result_text(70) == "(result code text not available)"
    assert result_text(2**32 - 1) == "(result code text not available)"
