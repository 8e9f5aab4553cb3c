"""How omshell words an ISC result code: "can't open object: <text>".

The table was read off ``/usr/bin/omshell`` (ISC DHCP 4.4.3-P1, libisc 9.11) by answering its
requests with a status of every code in turn and recording what it printed
(``tests/dhcpd/test_shell_omshell_dhcpd.py::test_result_texts_match_omshell`` does it again).
Codes outside both classes print :data:`NO_TEXT`.
"""

from __future__ import annotations

from typing import Final

#: Text omshell prints for a code it has no text for.
NO_TEXT: Final = "(result code text not available)"

#: ISC_R_* codes 0..69 (index = code; 0 is success and never printed).
ISC_TEXTS: Final[tuple[str, ...]] = (
    "success",
    "out of memory",
    "timed out",
    "no available threads",
    "address not available",
    "address in use",
    "permission denied",
    "no pending connections",
    "network unreachable",
    "host unreachable",
    "network down",
    "host down",
    "connection refused",
    "not enough free resources",
    "end of file",
    "socket already bound",
    "reload",
    "lock busy",
    "already exists",
    "ran out of space",
    "operation canceled",
    "socket is not bound",
    "shutting down",
    "not found",
    "unexpected end of input",
    "failure",
    "I/O error",
    "not implemented",
    "unbalanced parentheses",
    "no more",
    "invalid file",
    "bad base64 encoding",
    "unexpected token",
    "quota reached",
    "unexpected error",
    "already running",
    "ignore",
    "address mask not contiguous",
    "file not found",
    "file already exists",
    "socket is not connected",
    "out of range",
    "out of entropy",
    "invalid use of multicast address",
    "not a file",
    "not a directory",
    "queue is full",
    "address family mismatch",
    "address family not supported",
    "bad hex encoding",
    "too many open files",
    "not blocking",
    "unbalanced quotes",
    "operation in progress",
    "connection reset",
    "soft quota reached",
    "not a valid number",
    "disabled",
    "max size",
    "invalid address format",
    "bad base32 encoding",
    "unset",
    "multiple",
    "would block",
    "complete",
    "crypto failure",
    "disc quota",
    "disc full",
    "default",
    "IPv4 prefix",
)

#: DHCP_R_* codes, 393216 + index.
DHCP_BASE: Final = 6 << 16
DHCP_TEXTS: Final[tuple[str, ...]] = (
    "host unknown",
    "protocol version mismatch",
    "protocol error",
    "invalid argument",
    "data not yet available",
    "object unchanged",
    "more than one object matches key",
    "key conflict",
    "parse error(s) occurred",
    "no key specified",
    "zone TSIG key not known",
    "invalid TSIG key",
    "operation in progress",
    "DNS format error",
    "DNS server failed",
    "no such domain",
    "not implemented",
    "refused",
    "domain already exists",
    "RRset already exists",
    "no such RRset",
    "not authorized",
    "not a zone",
    "bad DNS signature",
    "bad DNS key",
    "clock skew too great",
    "no root zone",
    "destination address required",
    "cross-zone update",
    "no TSIG signature",
    "not equal",
    "connection reset by peer",
    "unknown attribute",
)


def result_text(code: int) -> str:
    """The text omshell prints for result ``code``."""
    if 0 <= code < len(ISC_TEXTS):
        return ISC_TEXTS[code]
    if 0 <= code - DHCP_BASE < len(DHCP_TEXTS):
        return DHCP_TEXTS[code - DHCP_BASE]
    return NO_TEXT
