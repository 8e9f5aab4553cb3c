"""The aiomapi exception tree.

Theory of operation: every error aiomapi raises is an :class:`OmapiError`. Below it sit
three families:

* :class:`ServerError` — the server answered with a STATUS message. Subclasses are keyed by
  the ISC result code from one table (:data:`RESULT_NAMES`); :func:`error_for_status` picks
  the class, falling back to :class:`ServerError` for codes without a class of their own.
  The server's code and text are kept as ``.code`` and ``.text``.
* :class:`ProtocolError` — the bytes on the wire broke the protocol.
  :class:`RemoteProtocolError` is the peer's fault (garbage, bad signature, unknown rid);
  :class:`LocalProtocolError` is ours (a request we refuse to send, because it is malformed
  or would crash dhcpd).
* :class:`NetworkError` family (:class:`ConnectionClosed`), and :class:`TimeoutError` —
  network trouble. :class:`TimeoutError` is also the builtin ``TimeoutError`` so that
  ``except TimeoutError`` works as people expect.
"""

from __future__ import annotations

import builtins
import enum
from typing import ClassVar, TypeVar

DHCP_BASE = 6 << 16  # ISC_RESULTCLASS_DHCP, includes/omapip/result.h

# isc_result_t names as sent by dhcpd 4.4.3 (libisc 9.11 + DHCP result class).
# Source: docs/dhcpd-behaviour.md, "Result codes".
_ISC_NAMES = [
    "SUCCESS",
    "NOMEMORY",
    "TIMEDOUT",
    "NOTHREADS",
    "ADDRNOTAVAIL",
    "ADDRINUSE",
    "NOPERM",
    "NOCONN",
    "NETUNREACH",
    "HOSTUNREACH",
    "NETDOWN",
    "HOSTDOWN",
    "CONNREFUSED",
    "NORESOURCES",
    "EOF",
    "BOUND",
    "RELOAD",
    "LOCKBUSY",
    "EXISTS",
    "NOSPACE",
    "CANCELED",
    "NOTBOUND",
    "SHUTTINGDOWN",
    "NOTFOUND",
    "UNEXPECTEDEND",
    "FAILURE",
    "IOERROR",
    "NOTIMPLEMENTED",
    "UNBALANCED",
    "NOMORE",
    "INVALIDFILE",
    "BADBASE64",
    "UNEXPECTEDTOKEN",
    "QUOTA",
    "UNEXPECTED",
    "ALREADYRUNNING",
    "IGNORE",
    "MASKNONCONTIG",
    "FILENOTFOUND",
    "FILEEXISTS",
    "NOTCONNECTED",
    "RANGE",
    "NOENTROPY",
    "MULTICAST",
    "NOTFILE",
    "NOTDIRECTORY",
    "QUEUEFULL",
    "FAMILYMISMATCH",
    "FAMILYNOSUPPORT",
    "BADHEX",
    "TOOMANYOPENFILES",
    "NOTBLOCKING",
    "UNBALANCEDQUOTES",
    "INPROGRESS",
    "CONNECTIONRESET",
    "SOFTQUOTA",
    "BADNUMBER",
    "DISABLED",
    "MAXSIZE",
    "BADADDRESSFORM",
    "BADBASE32",
    "UNSET",
    "MULTIPLE",
    "WOULDBLOCK",
    "COMPLETE",
    "CRYPTOFAILURE",
    "DISCQUOTA",
    "DISCFULL",
    "DEFAULT",
    "IPV4PREFIX",
]
_DHCP_NAMES = [
    "HOSTUNKNOWN",
    "VERSIONMISMATCH",
    "PROTOCOLERROR",
    "INVALIDARG",
    "NOTYET",
    "UNCHANGED",
    "MULTIPLE",
    "KEYCONFLICT",
    "BADPARSE",
    "NOKEYS",
    "KEY_UNKNOWN",
    "INVALIDKEY",
    "INCOMPLETE",
    "FORMERR",
    "SERVFAIL",
    "NXDOMAIN",
    "NOTIMPL",
    "REFUSED",
    "YXDOMAIN",
    "YXRRSET",
    "NXRRSET",
    "NOTAUTH",
    "NOTZONE",
    "BADSIG",
    "BADKEY",
    "BADTIME",
    "NOROOTZONE",
    "DESTADDRREQ",
    "CROSSZONE",
    "NO_TSIG",
    "NOT_EQUAL",
    "CONNRESET",
    "UNKNOWNATTRIBUTE",
]

#: result code → symbolic name (``ISC_R_…`` / ``DHCP_R_…``).
RESULT_NAMES: dict[int, str] = {
    **{code: f"ISC_R_{name}" for code, name in enumerate(_ISC_NAMES)},
    **{DHCP_BASE + n: f"DHCP_R_{name}" for n, name in enumerate(_DHCP_NAMES)},
}


_E = TypeVar("_E", bound=BaseException)


def caused(error: _E, cause: BaseException | None) -> _E:
    """``error`` with ``cause`` as its ``__cause__`` (``None``: no cause, the context hidden),
    for ``raise caused(error, exc)``. It does what ``raise error from exc`` does, which the
    modules compiled with mypyc (docs/speedups.md) must not use: compiled, it drops the cause.
    """
    error.__cause__ = cause
    return error


class ResultCode(enum.IntEnum):
    """Result codes a client of dhcpd actually receives (docs/dhcpd-behaviour.md, "Result
    codes"). Other codes arrive as plain ints; :func:`result_name` names them all."""

    SUCCESS = 0
    NOMEMORY = 1
    NOPERM = 6
    EXISTS = 18
    NOTFOUND = 23
    FAILURE = 25
    IOERROR = 26
    NOTIMPLEMENTED = 27
    UNEXPECTED = 34
    INVALIDARG = DHCP_BASE + 3
    UNCHANGED = DHCP_BASE + 5
    MULTIPLE = DHCP_BASE + 6
    KEYCONFLICT = DHCP_BASE + 7
    BADPARSE = DHCP_BASE + 8
    NOKEYS = DHCP_BASE + 9
    KEY_UNKNOWN = DHCP_BASE + 10
    INVALIDKEY = DHCP_BASE + 11
    UNKNOWNATTRIBUTE = DHCP_BASE + 32


def result_name(code: int) -> str:
    """The symbolic name of an ISC result code, or ``result <n>`` if unknown."""
    return RESULT_NAMES.get(code, f"result {code}")


class OmapiError(Exception):
    """Root of every exception aiomapi raises."""


# ----------------------------------------------------------------- protocol errors


class ProtocolError(OmapiError):
    """The OMAPI protocol was violated."""


class RemoteProtocolError(ProtocolError):
    """The peer sent bytes that break the protocol (the connection cannot continue)."""


class LocalProtocolError(ProtocolError, ValueError):
    """We were asked to send something that breaks the protocol or would harm dhcpd."""


class AuthenticationError(RemoteProtocolError):
    """A signed message failed verification, or was unsigned where a signature is due."""


# ----------------------------------------------------------------- connection errors


class NetworkError(OmapiError, builtins.ConnectionError):
    """The connection to the peer could not be made, failed, or is gone. Also a builtin
    :class:`ConnectionError`."""


#: The earlier name of :class:`NetworkError`, kept for code that catches it.
ConnectionError_ = NetworkError


class ConnectionClosed(NetworkError):
    """The connection was closed (by us or by the peer) while a request was pending."""


class TimeoutError(OmapiError, builtins.TimeoutError):
    """An operation did not finish in time. Also a builtin :class:`TimeoutError`."""


# ----------------------------------------------------------------- server status


class ServerError(OmapiError):
    """The server answered a request with a failure status.

    Attributes:
        code: the ISC result code from the status message.
        text: the server's ``message`` text, or ``""`` if it sent none.
    """

    code_name: ClassVar[str] = ""

    def __init__(self, code: int, text: str = "") -> None:
        self.code = code
        self.text = text
        detail = f": {text}" if text else ""
        super().__init__(f"{result_name(code)} ({code}){detail}")

    def __reduce__(self) -> tuple[type[ServerError], tuple[int, str]]:
        return (type(self), (self.code, self.text))


class HandshakeError(ServerError):
    """The server refused to open our authenticator (unknown key name or algorithm)."""


class StatusError(OmapiError):
    """Raised by a server-side object type to answer a request with result ``code``.

    For OPEN and UPDATE the dispatcher picks dhcpd's text for the step that failed; ``text``
    is used for DELETE (where dhcpd sends the remove method's result without text).
    """

    def __init__(self, code: int, text: str | None = None) -> None:
        super().__init__(f"result {int(code)}" + (f": {text}" if text else ""))
        self.code = code
        self.text = text


class NotFound(ServerError):
    """No object matches (ISC_R_NOTFOUND)."""


class AlreadyExists(ServerError):
    """The object already exists, or a write-once attribute is already set (ISC_R_EXISTS)."""


class MultipleMatches(ServerError):
    """The lookup keys match more than one object (DHCP_R_MULTIPLE)."""


class KeyConflict(ServerError):
    """The lookup keys name different objects (DHCP_R_KEYCONFLICT)."""


class InvalidArgument(ServerError):
    """A value has the wrong length or type, or is out of range (DHCP_R_INVALIDARG)."""


class PermissionDenied(ServerError):
    """The attribute or operation is not permitted (ISC_R_NOPERM)."""


class NotImplementedByServer(ServerError):
    """The server does not implement the operation for this object (ISC_R_NOTIMPLEMENTED)."""


class NoKeys(ServerError):
    """The request was not authenticated, or carried no usable lookup key (DHCP_R_NOKEYS)."""


class InvalidKey(ServerError):
    """The server rejected our signature or key (DHCP_R_INVALIDKEY)."""


class BadParse(ServerError):
    """The server could not parse a ``statements`` text (DHCP_R_BADPARSE)."""


class UnknownAttribute(ServerError):
    """The object has no such attribute (DHCP_R_UNKNOWNATTRIBUTE)."""


class IOFailure(ServerError):
    """The server could not write its lease file (ISC_R_IOERROR)."""


class Failure(ServerError):
    """Generic server-side failure (ISC_R_FAILURE, ISC_R_UNEXPECTED, ISC_R_NOMEMORY)."""


class RejectedWithSuccessCode(ServerError):
    """The server refused a request but sent result 0 with a reason (docs/dhcpd-behaviour.md,
    "Messages and replies").

    dhcpd answers e.g. an update of the authenticator with ``status result=0
    "cannot update authenticator"``; the opcode and text, not the code, say it failed.
    """


_STATUS_CLASSES: dict[int, type[ServerError]] = {
    ResultCode.NOTFOUND: NotFound,
    ResultCode.EXISTS: AlreadyExists,
    ResultCode.MULTIPLE: MultipleMatches,
    ResultCode.KEYCONFLICT: KeyConflict,
    ResultCode.INVALIDARG: InvalidArgument,
    ResultCode.NOPERM: PermissionDenied,
    ResultCode.NOTIMPLEMENTED: NotImplementedByServer,
    ResultCode.NOKEYS: NoKeys,
    ResultCode.INVALIDKEY: InvalidKey,
    ResultCode.KEY_UNKNOWN: InvalidKey,
    ResultCode.BADPARSE: BadParse,
    ResultCode.UNKNOWNATTRIBUTE: UnknownAttribute,
    ResultCode.IOERROR: IOFailure,
    ResultCode.FAILURE: Failure,
    ResultCode.UNEXPECTED: Failure,
    ResultCode.NOMEMORY: Failure,
    ResultCode.SUCCESS: RejectedWithSuccessCode,
}


def error_for_status(code: int, text: str = "") -> ServerError:
    """The exception for a failure status with ``code`` and ``text``."""
    return _STATUS_CLASSES.get(code, ServerError)(code, text)
