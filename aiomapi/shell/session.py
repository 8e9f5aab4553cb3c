"""omshell's commands, run against a server with :class:`aiomapi.Client`.

Theory of operation
-------------------
:class:`Shell` holds what omshell holds: the server, port and key for the next ``connect``;
the connection; and at most one object, made by ``new TYPE``. The object is a list of
names in the order they were first set or sent, each with a value (see
:mod:`aiomapi.shell.printer`) and a *changed* flag:

* ``set`` and ``unset`` replace a name's value in place (or append the name) and flag it;
* ``open`` and ``create`` send the flagged names (an OPEN, with ``create`` and
  ``exclusive`` for ``create``); ``update`` sends them in an UPDATE on the object's handle;
* when the server answers with the object (``open``, ``create``, ``refresh``), its values
  replace those of the same name in place and the others are appended; then every name
  whose value is null is dropped and no name is flagged any more. An ``update`` leaves the
  flags as they are, so the next ``update`` sends the same names again;
* ``remove`` deletes the object on the server and forgets it; ``close`` only forgets it.

:meth:`Shell.execute` runs one chunk of input (see :mod:`aiomapi.shell.lexer`): one command,
then, while connected, the object (``obj: TYPE`` and a line per name). Messages go to the
:class:`Output` exactly as omshell words them, on the stream omshell uses.

Where omshell sends a request whose answer from dhcpd is certain, the shell prints that
answer without sending it: an ``update`` with nothing to send (dhcpd: invalid argument), and
``update``, ``refresh`` or ``remove`` before the object has a handle (dhcpd: not found).
Requests that aiomapi refuses to send because they would crash dhcpd (docs/dhcpd-behaviour.md,
"Requests that crash dhcpd"; :mod:`aiomapi._sansio.safety`) print
``can't ... object: refused by aiomapi: <why>``.
"""

from __future__ import annotations

import errno
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Protocol

from aiomapi import (
    Client,
    HandshakeError,
    InvalidKey,
    Key,
    LocalProtocolError,
    NetworkError,
    OmapiError,
    OmapiObject,
    RejectedWithSuccessCode,
    ServerError,
)
from aiomapi import TimeoutError as OmapiTimeoutError

from .lexer import Kind, Lexer, Token
from .printer import LocalInt, LocalString, Value, format_value, wire_value
from .results import result_text
from .values import atoi, b64, colon_hex, dotted, int32, parse_base64

DEFAULT_SERVER = "localhost"
DEFAULT_PORT = 7911
DEFAULT_ALGORITHM = "hmac-md5"

HELP = """Commands:
  port <server omapi port>
  server <server address>
  key <key name> <key value>
  connect
  disconnect
  new <object-type>
  set <name> = <value>
  create
  open
  update
  unset <name>
  refresh
  remove
"""

_SET_USAGE = "usage: set <name> = <value>\n"
# errno of a failed connect → the ISC result omshell reports for it.
_CONNECT_ERRNO = {
    errno.ECONNREFUSED: "no more",
    errno.ETIMEDOUT: "timed out",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
    errno.EADDRNOTAVAIL: "address not available",
    errno.ECONNRESET: "connection reset",
}


class Output(Protocol):
    """Where the shell writes: ``out`` is omshell's standard output, ``err`` its standard
    error; ``prompt`` writes the prompt and flushes standard output."""

    def out(self, text: str) -> None: ...

    def err(self, text: str) -> None: ...

    def prompt(self) -> None: ...


@dataclass(slots=True)
class _Entry:
    name: str
    value: Value
    changed: bool = True


@dataclass(slots=True)
class ShellObject:
    """The object made by ``new``: its type, the server's handle (0 until the server sent
    it) and its names in order."""

    object_type: str
    handle: int = 0
    entries: list[_Entry] = field(default_factory=list)

    def set(self, name: str, value: Value, *, changed: bool = True) -> None:
        """Replace ``name``'s value in place, or append it."""
        for entry in self.entries:
            if entry.name == name:
                entry.value = value
                entry.changed = entry.changed or changed
                return
        self.entries.append(_Entry(name, value, changed))

    def changes(self) -> dict[str, bytes | None]:
        """The flagged names and the bytes to send (``None``: a null value)."""
        return {e.name: wire_value(e.value) or None for e in self.entries if e.changed}

    def apply_reply(self, reply: OmapiObject) -> None:
        """Take the server's copy of the object (see the module doc)."""
        for name, raw in (*reply.values.items(), *reply.repeated):
            self.set(name, raw if raw else None, changed=False)
        self.entries = [e for e in self.entries if e.value is not None]
        for entry in self.entries:
            entry.changed = False
        self.handle = reply.handle

    def lines(self) -> str:
        """How omshell shows the object."""
        out = [f"obj: {self.object_type}\n"]
        out += [f"{e.name} = {format_value(e.value)}\n" for e in self.entries]
        return "".join(out)


ClientFactory = Callable[[str, int, Key | None], Client]


class Shell:
    """omshell's state and commands.

    Args:
        output: where to print.
        timeout: seconds to wait for a connection or an answer (omshell waits for ever);
            ``None`` waits for ever.
        client_factory: makes the :class:`aiomapi.Client` for ``connect`` (tests pass one
            that points elsewhere).
    """

    def __init__(
        self,
        output: Output,
        *,
        timeout: float | None = 60.0,
        client_factory: ClientFactory | None = None,
    ) -> None:
        self.output = output
        self.timeout = timeout
        self.server = DEFAULT_SERVER
        self.port = DEFAULT_PORT
        self.key_name: str | None = None
        self.key_secret: bytes | None = None
        self.algorithm = DEFAULT_ALGORITHM
        self.client: Client | None = None
        #: The connection failed under us (omshell keeps it and every request then fails).
        self.broken = False
        self.obj: ShellObject | None = None
        self._factory = client_factory or self._new_client

    def _new_client(self, host: str, port: int, key: Key | None) -> Client:
        return Client(host, port, key=key, timeout=self.timeout, connections=1)

    @property
    def connected(self) -> bool:
        return self.client is not None or self.broken

    async def close(self) -> None:
        """Close the connection, if any."""
        client, self.client = self.client, None
        if client is not None:
            await client.close()

    # ------------------------------------------------------------ one chunk

    async def execute(self, chunk: str) -> None:
        """Run one chunk of input (at most one command), then show the object if connected.

        ``chunk`` is what one read of omshell's 1,024-byte line buffer gets: a line with its
        newline, or up to 1,023 characters of a longer one (bytes decoded as Latin-1).
        """
        chunk = chunk.split("\0", 1)[0]  # the C string ends at the first NUL
        lexer = Lexer(chunk, self.output.err)
        token = lexer.next()
        if not token.is_end():
            await self._command(token, lexer)
        if self.connected:
            self.output.out(self.obj.lines() if self.obj else "obj: <null>\n")

    async def _command(self, token: Token, lexer: Lexer) -> None:
        keyword = token.keyword()
        if keyword == "help" or token.is_char("?"):
            lexer.skip_statement()
            self.output.out(HELP)
            return
        handler = _COMMANDS.get(keyword or "")
        if handler is None:
            lexer.warn(f"unknown token: {token.text}")
            lexer.skip_statement()
            return
        await handler(self, lexer)

    def _usage(self, lexer: Lexer, text: str) -> None:
        self.output.out(text)
        lexer.skip_statement()

    # ------------------------------------------------------------ settings

    async def _server(self, lexer: Lexer) -> None:
        token = lexer.next()
        if token.kind is Kind.NUMBER:
            parts = [token.text]
            for _ in range(3):
                if not lexer.peek().is_char("."):
                    break
                lexer.next()
                if lexer.peek().kind is not Kind.NUMBER:
                    break
                parts.append(lexer.next().text)
            if len(parts) != 4:
                self._usage(lexer, "usage: server <server>\n")
                return
            self.server = ".".join(parts)
        elif token.is_identifier():
            self.server = token.text
        else:
            self._usage(lexer, "usage: server <server>\n")
            return
        if not lexer.next().is_end():
            self._usage(lexer, "usage: server <server>\n")

    async def _port(self, lexer: Lexer) -> None:
        token = lexer.next()
        if token.kind is Kind.NUMBER:
            self.port = atoi(token.text)
        elif token.is_identifier():
            try:
                self.port = socket.getservbyname(token.text, "tcp")
            except OSError:
                self.output.out(f"unknown service name: {token.text}\n")  # the rest unread
                return
        else:
            self._usage(lexer, "usage: port <port>\n")
            return
        if not lexer.next().is_end():
            self._usage(lexer, "usage: port <server>\n")

    async def _key(self, lexer: Lexer) -> None:
        token = lexer.next()
        if not (token.is_identifier() or token.kind is Kind.NUMBER):
            self._usage(lexer, "usage: key <name> <value>\n")
            return
        name = token.text  # a domain name: labels joined by dots
        while lexer.peek().is_char("."):
            name += lexer.next().text
            label = lexer.peek()
            if not (label.is_identifier() or label.kind is Kind.NUMBER):
                break
            name += lexer.next().text
        secret = parse_base64(lexer)
        if secret is None:
            return
        if not lexer.next().is_end():
            self._usage(lexer, "usage: key <name> <value>\n")
            return
        self.key_name, self.key_secret = name, secret

    async def _key_algorithm(self, lexer: Lexer) -> None:
        token = lexer.next()
        if not token.is_plain_name():  # a name with a letter that is not a hex digit
            self._usage(
                lexer, "missing or invalid algorithm name\nusage: key-algoritm <algorithm name>\n"
            )
            return
        if not lexer.next().is_end():
            self._usage(
                lexer,
                f"extra information after {token.text}\nusage: key-algorithm <algorithm name>\n",
            )
            return
        self.algorithm = token.text

    # ------------------------------------------------------------ connection

    async def _connect(self, lexer: Lexer) -> None:
        if not lexer.next().is_end():
            self._usage(lexer, "usage: connect\n")
            return
        key: Key | None = None
        if self.key_name is not None and self.key_secret is not None:
            try:
                key = Key(self.key_name, b64(self.key_secret), self.algorithm)
            except ValueError:
                # An algorithm dhcpd does not have (its server refuses the key: not found),
                # or an empty secret.
                self.output.err("dhcpctl_connect: not found\n")
                return
        client = self._factory(self.server, self.port & 0xFFFF, key)
        try:
            await client.connect()
        except OmapiError as exc:
            # A connection made before stays, as in omshell (which still counts as
            # connected, and hangs if that connection was working).
            await client.close()
            self.output.err(f"dhcpctl_connect: {_connect_failure(exc)}\n")
            return
        await self.close()
        self.client, self.broken = client, False

    async def _disconnect(self, lexer: Lexer) -> None:
        if not lexer.next().is_end():
            self._usage(lexer, "usage: disconnect\n")
            return
        if not self.connected:
            self.output.err("not connected\n")
            return
        if self.broken:
            self.output.err(
                "dhcpctl_disconnect detected invalid arg\ndhcpctl_disconnect: invalid argument\n"
            )
            return
        await self.close()

    # ------------------------------------------------------------ the object

    async def _new(self, lexer: Lexer) -> None:
        token = lexer.next()
        if not (token.is_identifier() or token.kind is Kind.STRING):
            self.output.out("usage: new <object-type>\n")  # the rest is not read
            return
        if self.obj is not None:
            self._usage(lexer, "an object is already open.\n")
            return
        if not self.connected:
            self._usage(lexer, "not connected.\n")
            return
        self.obj = ShellObject(token.text)
        if not lexer.next().is_end():
            self._usage(lexer, "usage: new <object-type>\n")

    async def _close(self, lexer: Lexer) -> None:
        if not lexer.next().is_end():
            self._usage(lexer, "usage: close\n")
        elif not self.connected:
            self.output.out("not connected.\n")
        elif self.obj is None:
            self.output.out("not open.\n")
        else:
            self.obj = None

    async def _set(self, lexer: Lexer) -> None:
        name = lexer.next()
        if not (name.is_identifier() or name.kind is Kind.STRING):
            self._usage(lexer, _SET_USAGE)
            return
        if self.obj is None:
            self._usage(lexer, "no open object.\n")
            return
        if not self.connected:
            self._usage(lexer, "not connected.\n")
            return
        if not lexer.next().is_char("="):
            self._usage(lexer, _SET_USAGE)
            return
        token = lexer.next()
        value: Value
        if token.kind is Kind.STRING:
            value = LocalString(token.text.split("\0", 1)[0].encode("latin-1"))
            token = lexer.next()
        elif token.kind is Kind.NUMBER and lexer.peek().is_char("."):
            octets = dotted(token, lexer)
            if octets is None:
                self._usage(lexer, _SET_USAGE)
                return
            value, token = octets
        elif token.kind is Kind.NUMBER and not lexer.peek().is_char(":"):
            value = LocalInt(int32(atoi(token.text)))
            token = lexer.next()
        elif token.kind in (Kind.NUMBER, Kind.NUMBER_OR_NAME):
            value, token = colon_hex(token, lexer)
        else:
            self.output.out("invalid value.\n")
            lexer.skip_statement()
            if not token.is_end():
                self.output.out(_SET_USAGE)
            return
        self.obj.set(name.text, value)
        if not token.is_end():
            self._usage(lexer, _SET_USAGE)

    async def _unset(self, lexer: Lexer) -> None:
        name = lexer.next()
        if not (name.is_identifier() or name.kind is Kind.STRING):
            self._usage(lexer, "usage: unset <name>\n")
            return
        if self.obj is None:
            self._usage(lexer, "no open object.\n")
            return
        if not self.connected:
            self._usage(lexer, "not connected.\n")
            return
        if not lexer.next().is_end():
            self._usage(lexer, "usage: unset <name>\n")
            return
        self.obj.set(name.text, None)

    def _ready(self, lexer: Lexer, usage: str | None, no_object: str) -> ShellObject | None:
        """The checks before a request: nothing after the command, connected, an object."""
        token = lexer.next()
        if not token.is_end():
            self._usage(lexer, f"usage: {usage or token.text}\n")
            return None
        if not self.connected:
            self.output.out("not connected.\n")
            return None
        if self.obj is None:
            self.output.out(no_object)
            return None
        return self.obj

    async def _open(self, lexer: Lexer, *, create: bool = False) -> None:
        obj = self._ready(lexer, None, "you must make a new object first!\n")
        if obj is None:
            return
        if self.client is None:
            self._failed("open", "invalid argument")
            return
        try:
            reply = await self.client.open(
                obj.object_type, obj.changes(), create=create, exclusive=create
            )
        except RejectedWithSuccessCode:
            return  # omshell takes result 0 as success (docs/dhcpd-behaviour.md, "Messages")
        except OmapiError as exc:
            self._failed("open", await self._failure(exc))
            return
        obj.apply_reply(reply)

    async def _create(self, lexer: Lexer) -> None:
        await self._open(lexer, create=True)

    async def _update(self, lexer: Lexer) -> None:
        obj = self._ready(lexer, None, "you haven't opened an object yet!\n")
        if obj is None:
            return
        if self.client is None:
            self._failed("update", "invalid argument")
            return
        changes = obj.changes()
        if not obj.handle or not changes:
            # dhcpd's answers: no object has handle 0; an empty update is invalid.
            self._failed("update", "not found" if not obj.handle else "invalid argument")
            return
        try:
            await self.client.update(obj.handle, changes, obj.object_type)
        except RejectedWithSuccessCode:
            return
        except OmapiError as exc:
            self._failed("update", await self._failure(exc))

    async def _refresh(self, lexer: Lexer) -> None:
        obj = self._ready(lexer, "refresh", "no object.\n")
        if obj is None:
            return
        if self.client is None:
            self._failed("refresh", "no more")
            return
        if not obj.handle:
            self._failed("refresh", "not found")
            return
        try:
            reply = await self.client.refresh(obj.handle, obj.object_type)
        except RejectedWithSuccessCode:
            return
        except OmapiError as exc:
            self._failed("refresh", await self._failure(exc))
            return
        obj.apply_reply(reply)

    async def _remove(self, lexer: Lexer) -> None:
        obj = self._ready(lexer, "remove", "no object.\n")
        if obj is None:
            return
        if self.client is None:
            self._failed("destroy", "invalid argument")
            return
        if not obj.handle:
            self._failed("destroy", "not found")
            return
        try:
            await self.client.delete(obj.handle, obj.object_type)
        except RejectedWithSuccessCode:
            pass
        except OmapiError as exc:
            self._failed("destroy", await self._failure(exc))
            return
        self.obj = None

    def _failed(self, verb: str, why: str) -> None:
        self.output.out(f"can't {verb} object: {why}\n")

    async def _failure(self, exc: OmapiError) -> str:
        """What omshell would print for ``exc``; a lost connection breaks the session."""
        if isinstance(exc, LocalProtocolError):
            return f"refused by aiomapi: {exc}"
        if isinstance(exc, OmapiTimeoutError):
            return result_text(2)
        if isinstance(exc, (InvalidKey, NetworkError)):
            # omshell drops a connection whose reply is not signed with its key (dhcpd's
            # answer to a wrong secret), and says so; every later request then fails.
            await self.close()
            self.broken = True
            return result_text((6 << 16) + 31)  # DHCP_R_CONNRESET
        if isinstance(exc, ServerError):
            return result_text(exc.code)
        return str(exc)


def _connect_failure(exc: OmapiError) -> str:
    if isinstance(exc, (HandshakeError, ServerError)):
        return result_text(exc.code)
    if isinstance(exc, OmapiTimeoutError):
        return result_text(2)
    cause = exc.__cause__
    if isinstance(cause, socket.gaierror):
        return "host unknown"
    if isinstance(cause, OSError) and cause.errno in _CONNECT_ERRNO:
        return _CONNECT_ERRNO[cause.errno]
    return "no more"


_COMMANDS: dict[str, Callable[[Shell, Lexer], Awaitable[None]]] = {
    "server": Shell._server,
    "port": Shell._port,
    "key": Shell._key,
    "key-algorithm": Shell._key_algorithm,
    "connect": Shell._connect,
    "disconnect": Shell._disconnect,
    "new": Shell._new,
    "close": Shell._close,
    "set": Shell._set,
    "unset": Shell._unset,
    "create": Shell._create,
    "open": Shell._open,
    "update": Shell._update,
    "refresh": Shell._refresh,
    "remove": Shell._remove,
}
