"""Exit codes, and errors as a script reads them.

One table for every command (docs/cli.md; ``aiomapi --help`` prints it). Commands that
judge (``failover status``, ``failover diff``, ``config check``) answer with the monitoring
plugin convention 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN; every other outcome has a code of
its own, the same in every command, so that a script can branch without reading text.
"""

from __future__ import annotations

import builtins
import enum
from typing import Any

from aiomapi import (
    AuthenticationError,
    HandshakeError,
    InvalidKey,
    LocalProtocolError,
    NetworkError,
    NoKeys,
    NotFound,
    OmapiError,
    ProtocolError,
    ResultCode,
    ServerError,
    TimeoutError,
)
from aiomapi.errors import result_name
from aiomapi.failover.pair import RefusedError

from .scrub import USAGE_EXIT


class Exit(enum.IntEnum):
    """The exit codes of ``aiomapi``."""

    OK = 0
    #: judging commands: a warning (drift found, degraded pair, config warnings)
    WARNING = 1
    #: judging commands: critical (partner-down, unreachable peer, config errors)
    CRITICAL = 2
    #: judging commands: the judgement could not be made
    UNKNOWN = 3
    NOT_FOUND = 10
    REFUSED = 11
    AUTH_REFUSED = 12
    CANNOT_CONNECT = 13
    TIMED_OUT = 14
    PROTOCOL_ERROR = 15
    UNSAFE_REQUEST = 16
    USAGE = USAGE_EXIT
    INTERRUPTED = 130
    BROKEN_PIPE = 141


TABLE = """\
exit codes (the same for every command):
   0  success (judging commands: OK)
   1  judging commands: WARNING (drift found, pair degraded, config warnings)
   2  judging commands: CRITICAL (partner-down, peer unreachable, config errors)
   3  judging commands: UNKNOWN (could not judge)
  10  not found: dhcpd has no such object
  11  refused by the server (any other failure status: exists, invalid argument, ...)
  12  authentication refused (key name, algorithm or secret)
  13  cannot connect, or the connection was lost
  14  timed out
  15  protocol error: the server broke the OMAPI protocol
  16  refused by aiomapi: the request could crash dhcpd, or a failover guard refused
  64  usage error (bad arguments, unreadable key file or configuration)
 130  interrupted
 141  output closed (e.g. piped into head)"""


def exit_code(exc: BaseException) -> Exit:
    """The exit code for an error that ended a command."""
    if isinstance(exc, RefusedError):  # a failover guard: nothing was changed
        return Exit.UNSAFE_REQUEST
    if isinstance(exc, HandshakeError | InvalidKey | NoKeys | AuthenticationError):
        return Exit.AUTH_REFUSED
    if isinstance(exc, ServerError) and exc.code == ResultCode.KEY_UNKNOWN:
        return Exit.AUTH_REFUSED
    if isinstance(exc, NotFound):
        return Exit.NOT_FOUND
    if isinstance(exc, ServerError):
        return Exit.REFUSED
    if isinstance(exc, TimeoutError):
        return Exit.TIMED_OUT
    if isinstance(exc, NetworkError):
        return Exit.CANNOT_CONNECT
    if isinstance(exc, LocalProtocolError):
        return Exit.UNSAFE_REQUEST
    if isinstance(exc, ProtocolError):
        return Exit.PROTOCOL_ERROR
    if isinstance(exc, OmapiError):
        return Exit.PROTOCOL_ERROR
    if isinstance(exc, builtins.TimeoutError):
        return Exit.TIMED_OUT
    if isinstance(exc, ConnectionError):
        return Exit.CANNOT_CONNECT
    return Exit.USAGE  # OSError reading a file, ValueError in an argument


#: Hints where dhcpd's result code alone is cryptic.
HINTS: dict[int, str] = {
    ResultCode.NOTFOUND: "dhcpd has no such object; hosts are found by IP only through a "
    "lease with that address, so look a host up by --name or --mac",
    ResultCode.EXISTS: "an object with that name or identifier exists already",
    ResultCode.NOPERM: "dhcpd does not let OMAPI change this attribute",
    ResultCode.NOTIMPLEMENTED: "dhcpd cannot do this to this kind of object over OMAPI "
    "(leases cannot be created or deleted; pools and subnets cannot be looked up)",
    ResultCode.INVALIDARG: "dhcpd refused a value: check the attribute's type and length",
    ResultCode.MULTIPLE: "more than one object matches: look the lease up by IP",
    ResultCode.KEYCONFLICT: "the lookup keys name different objects",
    ResultCode.BADPARSE: "dhcpd could not parse the statements (its log has the parse error)",
    ResultCode.NOKEYS: "this dhcpd wants a key: give --key-file (or AIOMAPI_KEY)",
    ResultCode.KEY_UNKNOWN: "dhcpd does not know that key",
    ResultCode.INVALIDKEY: "the key's secret (or algorithm) is not dhcpd's omapi-key secret",
    ResultCode.UNKNOWNATTRIBUTE: "dhcpd does not know that attribute for this object type",
}


def hint(exc: BaseException) -> str | None:
    """A sentence that says what to do about ``exc``, where its code alone is cryptic."""
    if isinstance(exc, HandshakeError):
        return (
            "dhcpd has no key with that name and algorithm, or it is not the omapi-key: "
            "check --key-file / --key-name"
        )
    if isinstance(exc, ServerError):
        return HINTS.get(exc.code)
    if isinstance(exc, TimeoutError):
        return "dhcpd did not answer in time: is it running, and is it stopped (SIGSTOP)?"
    if isinstance(exc, NetworkError):
        return "check --server and --port (dhcpd listens only with omapi-port set)"
    if isinstance(exc, LocalProtocolError):
        return "aiomapi refuses requests that crash dhcpd 4.4.3"
    if isinstance(exc, RefusedError):
        return "the pair's state makes this unsafe; nothing was changed (--force skips the checks)"
    return None


def error_json(exc: BaseException) -> dict[str, Any]:
    """An error as a JSON object: class, dhcpd's result code and text, a hint, the exit code."""
    code = exc.code if isinstance(exc, ServerError) else None
    return {
        "error": type(exc).__name__,
        "message": str(exc),
        "result_code": code,
        "result": result_name(code) if code is not None else None,
        "text": exc.text if isinstance(exc, ServerError) else None,
        "hint": hint(exc),
        "exit": int(exit_code(exc)),
    }


def error_line(exc: BaseException) -> str:
    """An error as one line a person understands (no internal class names)."""
    text = str(exc)
    if isinstance(exc, OmapiError):
        words = _words(type(exc).__name__)
        text = f"{words}: {text}" if text else words
    found = hint(exc)
    return f"{text} ({found})" if found else text


def _words(class_name: str) -> str:
    """``NotFound`` → ``not found``, ``NetworkError`` → ``network error``."""
    out: list[str] = []
    for ch in class_name.rstrip("_"):
        if ch.isupper() and out:
            out.append(" ")
        out.append(ch.lower())
    return "".join(out)
