"""Whether a text looks like dhcpd.conf statements: the model's stand-in for dhcpd's parser."""

from __future__ import annotations

import re

__all__ = ["statements_parse"]

_KEYWORDS = frozenset(
    """
    option supersede default prepend append send set unset define if elsif else on switch
    case return log execute zone key fixed-address hardware filename server-name next-server
    default-lease-time max-lease-time min-lease-time dynamic-bootp-lease-cutoff
    dynamic-bootp-lease-length boot-unknown-clients one-lease-per-client get-lease-hostnames
    use-host-decl-names use-lease-addr-for-default-route min-secs allow deny ignore
    authoritative not always-broadcast always-reply-rfc1048 ddns-hostname ddns-domainname
    ddns-rev-domainname ddns-update-style ddns-updates ddns-ttl update-optimization
    update-static-leases update-conflict-detection ping-check ping-timeout
    stash-agent-options server-identifier vendor-option-space site-option-space
    infinite-is-reserved ignore-client-uids abandon-lease-time do-forward-updates
    client-updates adaptive-lease-time-threshold delayed-ack max-ack-delay echo-client-id
    release-on-roam ping-cltt-secs dhcp-cache-threshold lease-id-format fqdn-reply
    host-identifier match spawn lease-limit local-address local-port omapi-port
    log-threshold-high log-threshold-low dynamic static deleted known unknown-clients
    """.split()  # noqa: SIM905 (a word list reads better as text)
)
# a string | punctuation | an atom | a lone quote (an unterminated string)
_STATEMENT_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[{};]|[^\s"{};]+|"', re.S)


def statements_parse(text: bytes) -> bool:
    """Whether ``text`` looks like dhcpd.conf statements dhcpd would accept.

    A heuristic, not dhcpd's parser: every statement must start with a known keyword,
    quotes and braces must balance, and every statement must end with ``;`` or a block.
    """
    try:
        tokens = _STATEMENT_TOKEN.findall(text.decode("utf-8"))
    except UnicodeDecodeError:
        return False
    depth = 0
    expect_keyword = True
    for token in tokens:
        if token.startswith('"') and (len(token) < 2 or not token.endswith('"')):
            return False
        if token == "{":
            depth += 1
            expect_keyword = True
        elif token == "}":
            depth -= 1
            if depth < 0:
                return False
            expect_keyword = True
        elif token == ";":
            expect_keyword = True
        elif expect_keyword:
            if token.lower() not in _KEYWORDS:
                return False
            expect_keyword = False
    return depth == 0 and expect_keyword
