"""``aiomapi config check``: what will break a dhcpd.conf, a failover pair, or a running server.

Theory of operation
-------------------
:func:`check_file` checks one file (and its partner's, if given) without a server;
:func:`check_config` does the same and then compares the file with the running server over
OMAPI. Both return a :class:`~aiomapi.config.check_report.Report` of findings, each with its
place, severity, what dhcpd does and the fix (docs/config-check.md lists them all).

One file goes through these steps, each adding findings and none stopping at the first:

1. **Characters** (:mod:`~aiomapi.config.check_chars`): every character dhcpd will not read, in
   the file and everything it includes. The file is then read with its look-alikes replaced by
   their ASCII twins, so that the other checks see what its author meant.
2. **Statements** (:mod:`~aiomapi.config.source`): the file cut into statements and blocks.
   A file whose braces or semicolons do not add up stops here.
3. **Failover peers** (:mod:`~aiomapi.config.check_peers`): each declaration read leniently,
   every problem and every omitted setting reported with the value dhcpd uses. In the tree
   handed to the next step each declaration's body is then replaced by a stand-in that always
   reads, so that a broken peer does not hide the rest.
4. **The rest** (:mod:`~aiomapi.config.reader`): the reader raises at the first statement it
   refuses; that becomes a finding, the statement is cut out of the tree, and the reader runs
   again (at most :data:`MAX_REPAIRS` times), so every refused statement is listed. Then the
   pools: addresses outside failover next to pools under a peer.
5. **dhcpd** (:mod:`~aiomapi.config.check_dhcpd`): where it is installed, ``dhcpd -t``'s
   verdict, its key secrets hidden. A finding on a line dhcpd complains about quotes dhcpd's
   message; a file dhcpd refuses where this check found no error gets an error of its own.

With the partner's file, the pair as a whole (:mod:`~aiomapi.config.check_pair`); with a
client, the running server.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Final

from aiomapi import Client
from aiomapi.leasefile import lexer
from aiomapi.typed.values import decode_string

from .check_chars import CODES as CHARACTER_CODES
from .check_chars import included_texts, relocate, scan_characters
from .check_dhcpd import error_lines, find_dhcpd, run_dhcpd, secrets_in
from .check_pair import Side, live_findings, pair_findings
from .check_peers import peer_findings, pool_findings, read_peer
from .check_report import DhcpdVerdict, Finding, Report, Severity
from .failover import read_failover_peer
from .model import Config, ConfigError, FailoverPeerConfig, Location, Statement, Token
from .reader import build_config
from .source import Node, read_text

__all__ = ["MAX_REPAIRS", "check_config", "check_file"]

#: The most statements cut out of one file to read past them: beyond that, a file is broken
#: enough that more findings would not help.
MAX_REPAIRS: Final = 100


@dataclass(slots=True)
class _File:
    """One file as the check found it."""

    path: Path
    text: str
    deleted: tuple[int, ...] = ()
    findings: list[Finding] = field(default_factory=list)
    peers: dict[str, FailoverPeerConfig] = field(default_factory=dict)
    config: Config | None = None
    secrets: list[str] = field(default_factory=list)
    verdict: DhcpdVerdict | None = None

    def side(self) -> Side:
        return Side(str(self.path), self.peers, self.config)


def check_file(
    path: str | PathLike[str],
    *,
    peer_config: str | PathLike[str] | None = None,
    dhcpd: str | bool = True,
) -> Report:
    """Check a dhcpd.conf, and with ``peer_config`` its failover partner's too.

    Args:
        path: the file.
        peer_config: the partner's dhcpd.conf: both files are checked, and the pair as a whole.
        dhcpd: run ``dhcpd -t`` on each file: ``True`` where dhcpd is installed, ``False``
            never, or the path of the dhcpd to run.

    Returns:
        The report; nothing is raised for what the files say.

    Raises:
        OSError: a file given here cannot be read (an include that cannot be read is a
            finding).
    """
    files = _check_files(Path(path), None if peer_config is None else Path(peer_config), dhcpd)
    return _report(files)


async def check_config(
    path: str | PathLike[str],
    *,
    peer_config: str | PathLike[str] | None = None,
    live_client: Client | None = None,
    dhcpd: str | bool = True,
) -> Report:
    """:func:`check_file`, and with ``live_client`` the file against the running server.

    Args:
        path, peer_config, dhcpd: as for :func:`check_file`.
        live_client: a client of the server that reads ``path``: each failover peer's values
            as it runs are compared with the file's (a file edited but not loaded shows).

    Raises:
        OSError: a file cannot be read, or the server cannot be reached.
        OmapiError: the server refuses the client (its key, for instance).
    """
    files = await asyncio.to_thread(
        _check_files, Path(path), None if peer_config is None else Path(peer_config), dhcpd
    )
    live = None
    if live_client is not None:
        main = files[0]
        partner = files[1].peers if len(files) > 1 else {}
        main.findings += await live_findings(main.peers, partner, live_client)
        live = f"{live_client.host}:{live_client.port}"
    return _report(files, live)


def _check_files(path: Path, peer_path: Path | None, dhcpd: str | bool) -> list[_File]:
    program = find_dhcpd() if dhcpd is True else (dhcpd or None)
    files = [_check_one(path, program)]
    if peer_path is not None:
        files.append(_check_one(peer_path, program))
        files[0].findings += pair_findings(files[0].side(), files[1].side())
    return files


def _report(files: list[_File], live: str | None = None) -> Report:
    texts = {str(f.path): f for f in files}
    findings = []
    for f in files:
        for finding in f.findings:
            findings.append(_relocated(finding, texts))
    findings.sort(key=Finding.sort_key)
    return Report(
        file=str(files[0].path),
        findings=tuple(findings),
        peer_file=str(files[1].path) if len(files) > 1 else None,
        live=live,
        dhcpd=tuple(f.verdict for f in files if f.verdict is not None),
    )


def _relocated(finding: Finding, files: dict[str, _File]) -> Finding:
    """A finding made on a file's repaired text, placed in its original text."""
    loc = finding.location
    if loc is None or finding.code in CHARACTER_CODES:
        return finding
    f = files.get(loc.file)
    if f is None or not f.deleted:
        return finding
    return dataclasses.replace(finding, location=relocate(loc, f.text, f.deleted))


# ----------------------------------------------------------------- one file


def _check_one(path: Path, dhcpd: str | None) -> _File:
    text = path.read_text(encoding="utf-8", errors="surrogateescape")
    scan = scan_characters(text, str(path))
    result = _File(path, text, scan.deleted, list(scan.findings))
    included = included_texts(path, text)
    for other, other_text in included:
        result.findings += scan_characters(other_text, str(other)).findings
    result.secrets = secrets_in([text, *(t for _, t in included)])
    try:
        nodes, files = read_text(scan.repaired, str(path), include_dir=None, directory=path.parent)
    except ConfigError as exc:
        result.findings += _reader_findings(exc)
        result.findings.append(_not_checked(exc))
    else:
        nodes = _read_peers(nodes, result)
        result.config = _build(nodes, str(path), files, result.findings)
        if result.config is not None:
            result.findings += pool_findings(result.config)
    if dhcpd is not None:
        result.verdict = run_dhcpd(dhcpd, path, result.secrets)
        result.findings = _with_verdict(result.findings, result.verdict)
    return result


def _read_peers(nodes: list[Node] | tuple[Node, ...], result: _File) -> list[Node]:
    """Read every failover peer declaration in ``nodes`` into ``result``; the tree with each
    one's body replaced by a stand-in (module docstring, step 3)."""
    out: list[Node] = []
    for node in nodes:
        st, block = node.statement, node.block
        if block is None:
            out.append(node)
            continue
        tokens = st.tokens
        name = _peer_name(tokens[2]) if len(tokens) == 3 and st.keyword == "failover" else None
        if name is None or tokens[1].text.lower() != "peer":
            out.append(Node(st, tuple(_read_peers(block, result))))
            continue
        peer, problems = read_peer(name, st.location, block)
        if not problems:
            # The reader's own result where it reads: one grammar, one set of values. Where
            # it refuses a check, peer_findings reports it.
            with contextlib.suppress(ConfigError):
                peer = read_failover_peer(name, st.location, block)
        result.findings += problems + peer_findings(peer)
        result.peers.setdefault(name, peer)
        out.append(Node(st, _stand_in(st.location)))
    return out


def _peer_name(tok: Token) -> str | None:
    if tok.text[0] == '"' and len(tok.text) > 1:
        return decode_string(lexer.unquote(tok.text))
    return tok.text if lexer.NAME_RE.fullmatch(tok.text) else None


def _stand_in(at: Location) -> tuple[Node, ...]:
    """A peer body that always reads (a secondary needs only a peer address)."""

    def node(*words: str) -> Node:
        return Node(Statement(words[0], tuple(Token(w, at) for w in words)), None)

    return (node("secondary"), node("peer", "address", "127.0.0.1"))


def _build(
    nodes: list[Node], source: str, files: list[str], findings: list[Finding]
) -> Config | None:
    """The configuration, every statement the reader refuses cut out and reported (module
    docstring, step 4); ``None`` if it still does not read.

    A cut can make its block fail in turn (a pool whose only range was cut has none, a key
    whose secret was cut has none, a peer whose only pool was cut is named by no pool): those
    follow-on errors are not reported, dhcpd does not report them either.
    """
    touched: set[tuple[str, int]] = set()  # the blocks a cut has changed
    pools_cut = False
    for _ in range(MAX_REPAIRS):
        try:
            return build_config(nodes, source, files)
        except ConfigError as exc:
            where = exc.location
            follow_on = where is not None and (
                (where.file, where.offset) in touched
                or (pools_cut and "is named by no pool" in exc.message)
            )
            if not follow_on:
                findings += _reader_findings(exc)
            heads: list[Statement] = []
            nodes, cut = _without(nodes, where, heads)
            if not cut:
                findings.append(_not_checked(exc))
                return None
            touched.update((h.location.file, h.location.offset) for h in heads)
            pools_cut = pools_cut or any(h.keyword == "pool" for h in heads)
    findings.append(_not_checked(None))
    return None


def _without(
    nodes: list[Node] | tuple[Node, ...], where: Location | None, heads: list[Statement]
) -> tuple[list[Node], bool]:
    """``nodes`` without the statement (and its block) holding a token at ``where``; the
    statements of the blocks it was in are added to ``heads``."""
    if where is None:
        return list(nodes), False
    out: list[Node] = []
    cut = False
    for node in nodes:
        if cut:
            out.append(node)
        elif any(
            t.location.offset == where.offset and t.location.file == where.file
            for t in node.statement.tokens
        ):
            cut = True
        elif node.block is not None:
            inner, cut = _without(node.block, where, heads)
            if cut:
                heads.append(node.statement)
                node = Node(node.statement, tuple(inner))
            out.append(node)
        else:
            out.append(node)
    return out, cut


_REFUSES: Final = "refuses the whole file"


def _reader_findings(exc: ConfigError) -> list[Finding]:
    """The finding for a statement the reader refuses (none for a character: step 1 has it)."""
    message = exc.message
    if "reads only ASCII outside" in message:
        return []
    if "is not declared before this statement" in message:
        return [
            Finding(
                Severity.ERROR,
                "pool-unknown-peer",
                message,
                f"{_REFUSES} ('failover peer NAME: not found')",
                "declare the peer before the first pool that names it, with the same name",
                exc.location,
            )
        ]
    if "is named by no pool" in message:
        return [
            Finding(
                Severity.ERROR,
                "peer-without-pool",
                message.split(" (")[0],
                "refuses to start ('Failover peer, NAME, has no referring pools' and "
                "'Failover configuration sanity check failed')",
                'name the peer in the pools it serves (failover peer "NAME";), or delete it',
                exc.location,
            )
        ]
    return [
        Finding(
            Severity.ERROR,
            "config-error",
            message,
            _REFUSES,
            "correct the statement (docs/config.md says what dhcpd accepts)",
            exc.location,
        )
    ]


def _not_checked(exc: ConfigError | None) -> Finding:
    where = f" past {exc.location}" if exc is not None and exc.location is not None else ""
    return Finding(
        Severity.NOTE,
        "not-checked",
        f"the configuration does not read{where}: the checks that need all of it did not run",
        "refuses the whole file",
        "fix the errors above and check again",
        None,
    )


def _stricter(finding: Finding, verdict: DhcpdVerdict) -> bool:
    """An error that says dhcpd refuses the file, which dhcpd accepted: one of the few places
    where aiomapi's reader refuses what dhcpd takes (docs/config.md)."""
    return (
        verdict.accepted
        and finding.severity is Severity.ERROR
        and finding.dhcpd.startswith(_REFUSES)
        and finding.code not in CHARACTER_CODES
    )


def _with_verdict(findings: list[Finding], verdict: DhcpdVerdict) -> list[Finding]:
    """The findings of ``verdict.file`` with dhcpd's word added (module docstring, step 5)."""
    said = error_lines(verdict)
    out = []
    mine = any(f.severity is Severity.ERROR and not _stricter(f, verdict) for f in findings)
    for f in findings:
        loc = f.location
        if loc is None or loc.file != verdict.file:
            out.append(f)
            continue
        if _stricter(f, verdict):
            f = dataclasses.replace(
                f,
                severity=Severity.WARNING,
                dhcpd="accepts it (dhcpd -t exits 0), but does not read it as written: "
                "aiomapi's reader is stricter here on purpose (docs/config.md says why)",
            )
        elif f.severity is Severity.ERROR:
            line = loc.line if loc.line in said else 0 if loc.line == 1 and 0 in said else None
            if line is not None:
                quoted = f"line {line}: {said[line]}"
                f = dataclasses.replace(f, dhcpd=f"{f.dhcpd} (dhcpd -t: {quoted!r})")
        out.append(f)
    if not verdict.accepted and not mine:
        first = next(iter(said.items()), None)
        what = f"line {first[0]}: {first[1]}" if first else "; ".join(verdict.lines[:2])
        out.append(
            Finding(
                Severity.ERROR,
                "dhcpd-refuses",
                f"dhcpd -t {verdict.describe()} on {verdict.file}: {what}",
                f"{_REFUSES}; this check found nothing there (aiomapi's reader skips "
                "statements it does not use, such as options)",
                "correct what dhcpd's message names",
                None,
            )
        )
    return out
