"""The in-flight budget that keeps dhcpd 4.4.3 from aborting (docs/pipelining.md).

Besides unit tests, a model of dhcpd's connection buffers (:class:`DhcpdBuffers`) replays any
interleaving of dhcpd's reads and writes with replies of any size each request can get, and
checks that no signed reply ever starts where its ``authlen`` would straddle a buffer
boundary. The same model catches the rule this budget replaced (a bound learned from the
replies seen so far) on the reproduction that crashed the real dhcpd.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

from hypothesis import given, settings
from hypothesis import strategies as st

from aiomapi._sansio.budget import (
    FIXED_OBJECT_BOUNDS,
    REPLY_LIMIT,
    REQUEST_LIMIT,
    STATUS_REPLY_BOUND,
    InflightBudget,
    reply_bound,
)
from aiomapi._sansio.client import Request
from aiomapi._sansio.wire import Opcode

LEASE_REQUEST = 79  # signed MD5 lease lookup by IP
RING = 4047  # bytes a fresh dhcpd buffer ring holds


def test_one_request_is_always_allowed_whatever_its_size() -> None:
    budget = InflightBudget()
    assert budget.fits(100_000)
    budget.add(1, 100_000, math.inf)
    assert not budget.fits(1)
    assert budget.complete(1, 100_000) is None
    assert budget.fits(100_000)


def test_lookups_of_unbounded_objects_go_alone() -> None:
    for object_type in ("lease", "host", "group", "class", "subclass", "failover-state", None):
        assert reply_bound(Opcode.OPEN, object_type) == math.inf
        assert reply_bound(Opcode.REFRESH, object_type) == math.inf
    budget = InflightBudget()
    budget.add(1, LEASE_REQUEST, reply_bound(Opcode.OPEN, "lease"))
    assert not budget.fits(LEASE_REQUEST)
    budget.complete(1, 5000)
    assert len(budget) == 0
    assert budget.reply_bytes == 0
    assert not budget.sequential  # an unbounded reply can exceed nothing


def test_an_unbounded_request_may_go_last_behind_bounded_ones() -> None:
    budget = InflightBudget()
    budget.add(1, 120, reply_bound(Opcode.UPDATE, "lease"))
    assert budget.fits(LEASE_REQUEST)
    budget.add(2, LEASE_REQUEST, reply_bound(Opcode.OPEN, "lease"))
    assert not budget.fits(LEASE_REQUEST)


def test_status_replies_pipeline_up_to_the_reply_limit() -> None:
    bound = reply_bound(Opcode.UPDATE, "lease")
    assert bound == reply_bound(Opcode.DELETE, "host") == STATUS_REPLY_BOUND
    budget = InflightBudget()
    depth = 0
    while budget.fits(100):
        budget.add(depth, 100, bound)
        depth += 1
    assert depth == REPLY_LIMIT // STATUS_REPLY_BOUND + 1
    # every reply but the last starts before offset 4040, whatever the reply sizes up to
    # the bound
    assert (depth - 1) * STATUS_REPLY_BOUND < 4040


def test_the_status_bound_covers_dhcpds_longest_text_and_signature() -> None:
    # header, result, a 31-byte text ("specified object already exists"), two list
    # terminators and a SHA512 signature
    assert STATUS_REPLY_BOUND >= 24 + (6 + 6 + 4) + (6 + 7 + 31) + 2 + 2 + 64


def test_fixed_objects_are_bounded_by_their_attribute_set() -> None:
    assert reply_bound(Opcode.OPEN, "control") == max(
        FIXED_OBJECT_BOUNDS["control"], STATUS_REPLY_BOUND
    )
    assert FIXED_OBJECT_BOUNDS["control"] >= 24 + 2 + (2 + 5 + 4 + 4) + 2 + 64
    assert reply_bound(Opcode.REFRESH, "pool") >= FIXED_OBJECT_BOUNDS["pool"]


def test_request_reply_bound_resolves_the_type_message_value() -> None:
    control = Request(Opcode.OPEN, message=(("type", b"control"),))
    assert control.reply_bound == reply_bound(Opcode.OPEN, "control")
    lease = Request(Opcode.OPEN, message=(("type", b"lease"),))
    assert lease.reply_bound == math.inf
    assert Request(Opcode.DELETE, handle=5).reply_bound == STATUS_REPLY_BOUND


def test_a_repeated_type_is_the_one_dhcpd_reads_the_last() -> None:
    """A lease hidden behind a control ``type`` would otherwise pipeline an unbounded reply."""
    hidden = Request(Opcode.OPEN, message=(("type", b"control"), ("type", b"lease")))
    assert hidden.resolved_type == "lease"
    assert hidden.reply_bound == math.inf
    assert Request(Opcode.OPEN, message=(("type", b"control"), ("type", b""))).reply_bound == (
        math.inf  # a null type reads as no type: no bound
    )


def test_a_reply_over_its_bound_stops_pipelining_for_good() -> None:
    budget = InflightBudget()
    budget.add(1, 100, STATUS_REPLY_BOUND)
    budget.add(2, 100, STATUS_REPLY_BOUND)
    assert budget.complete(1, STATUS_REPLY_BOUND + 1) == STATUS_REPLY_BOUND
    assert budget.sequential
    assert not budget.fits(100)  # request 2 is still out
    assert budget.complete(2, 50) is None
    assert budget.fits(100)  # alone is always allowed
    budget.add(3, 100, STATUS_REPLY_BOUND)
    assert not budget.fits(100)


def test_request_bytes_are_bounded() -> None:
    budget = InflightBudget()
    budget.add(1, 3000, STATUS_REPLY_BOUND)
    assert budget.fits(REQUEST_LIMIT - 3000)
    assert not budget.fits(REQUEST_LIMIT - 3000 + 1)


# ---------------------------------------------------------------- a model of dhcpd's buffers


class DhcpdCrashed(Exception):
    pass


@dataclass
class DhcpdBuffers:
    """dhcpd's side of one connection, as far as the abort is concerned.

    dhcpd reads whole requests, queues each reply at the end of its output buffer, and
    writes at most :data:`RING` bytes per ``write()``; the buffer starts again at offset 0
    only once everything queued has been written. A signed reply whose 4-byte ``authlen``
    (offsets 4..7) straddles a multiple of :data:`RING` aborts dhcpd.
    """

    arrived: deque[int] = field(default_factory=deque)  # reply sizes of unread requests
    fill: int = 0  # bytes queued since the buffer was last empty
    unwritten: int = 0

    def read(self, count: int) -> None:
        for _ in range(min(count, len(self.arrived))):
            size = self.arrived.popleft()
            start = self.fill
            boundary = (start + 4) // RING * RING + RING
            if start + 4 < boundary < start + 8:
                raise DhcpdCrashed(f"a {size}-byte reply starts at offset {start}")
            self.fill += size
            self.unwritten += size

    def write(self) -> int:
        sent = min(RING, self.unwritten)
        self.unwritten -= sent
        if not self.unwritten:
            self.fill = 0
        return sent


@dataclass(frozen=True)
class Job:
    request: Request
    request_size: int
    reply_size: int  # what dhcpd will answer, unknown to the client


class LearningBudget(InflightBudget):
    """The rule this budget replaced: a reply is bounded by the largest reply seen so far
    for its kind of request × 1.25 + 64 bytes, unbounded before the first one."""

    def __init__(self) -> None:
        super().__init__()
        self.largest: dict[Opcode, int] = {}

    def bound(self, job: Job) -> float:
        if job.request.reply_bound != math.inf:
            return job.request.reply_bound
        seen = self.largest.get(job.request.opcode)
        return math.inf if seen is None else seen * 1.25 + 64

    def learn(self, job: Job) -> None:
        largest = self.largest.get(job.request.opcode, 0)
        self.largest[job.request.opcode] = max(largest, job.reply_size)


def run_connection(jobs: list[Job], schedule: list[int], budget: InflightBudget) -> int:
    """Drive one client connection and :class:`DhcpdBuffers` through ``jobs``.

    ``schedule`` picks, step by step, what happens next: dhcpd reads 1, 2 or 3 requests
    (0-2), or writes (3); the client takes every reply that has arrived in full at once.
    Returns the number of replies received.

    Raises:
        DhcpdCrashed: the model of dhcpd aborted.
    """
    learning = budget if isinstance(budget, LearningBudget) else None
    server = DhcpdBuffers()
    waiting = deque(jobs)
    in_flight: deque[tuple[int, Job]] = deque()
    received = 0  # bytes of the reply at the head of in_flight received so far
    done = 0
    next_id = 0

    def admit() -> None:
        nonlocal next_id
        while waiting and budget.fits(waiting[0].request_size):
            job = waiting.popleft()
            bound = learning.bound(job) if learning is not None else job.request.reply_bound
            budget.add(next_id, job.request_size, bound)
            in_flight.append((next_id, job))
            server.arrived.append(job.reply_size)
            next_id += 1

    admit()
    steps = iter(schedule)
    for _ in range(20 * len(jobs) + 100):
        if not waiting and not in_flight:
            break
        step = next(steps, 3)
        if server.arrived and (step <= 2 or not server.unwritten):
            server.read(min(step, 2) + 1)
        else:
            received += server.write()
        while in_flight and received >= in_flight[0][1].reply_size:
            request_id, job = in_flight.popleft()
            received -= job.reply_size
            budget.complete(request_id, job.reply_size)
            if learning is not None:
                learning.learn(job)
            done += 1
        admit()
        if not server.arrived and not server.unwritten and in_flight:
            raise AssertionError("model stalled")  # pragma: no cover
    return done


LEASE_OPEN = Request(Opcode.OPEN, message=(("type", b"lease"),), object_type="lease")
HOST_OPEN = Request(Opcode.OPEN, message=(("type", b"host"),), object_type="host")
LEASE_UPDATE = Request(Opcode.UPDATE, handle=7, object_type="lease")
HOST_DELETE = Request(Opcode.DELETE, handle=9, object_type="host")
CONTROL_OPEN = Request(Opcode.OPEN, message=(("type", b"control"),), object_type="control")


def issue_reproduction() -> list[Job]:
    """A host with a 110-byte reply, then 40 hosts with 1,010-1,011-byte replies (four of
    them end at 4041, so the fifth would start inside the window)."""
    return [Job(HOST_OPEN, 90, 110)] + [Job(HOST_OPEN, 90, 1010 + (i % 4 == 3)) for i in range(40)]


def test_the_model_catches_the_rule_that_crashed_dhcpd() -> None:
    """Control: the learned bound admits the 40 long hosts behind each other; the model,
    like the real dhcpd, aborts. The first reply must arrive alone, so read one request and
    write before the rest come in."""
    schedule = [0, 3, 3] + [2] * 200
    try:
        run_connection(issue_reproduction(), schedule, LearningBudget())
    except DhcpdCrashed:
        pass
    else:  # pragma: no cover
        raise AssertionError("the model did not catch the learned bound")
    assert run_connection(issue_reproduction(), schedule, InflightBudget()) == 41


@st.composite
def jobs(draw: st.DrawFn) -> list[Job]:
    """Requests of every kind with replies of any size each can get from dhcpd."""
    out = []
    for _ in range(draw(st.integers(1, 60))):
        kind = draw(st.sampled_from(["lease", "host", "update", "delete", "control"]))
        if kind in ("lease", "host"):
            request = LEASE_OPEN if kind == "lease" else HOST_OPEN
            reply = draw(st.one_of(st.integers(60, 400), st.integers(400, 9000)))
        elif kind == "control":
            request, reply = CONTROL_OPEN, draw(st.integers(60, FIXED_OBJECT_BOUNDS["control"]))
        else:
            request = LEASE_UPDATE if kind == "update" else HOST_DELETE
            reply = draw(st.integers(40, STATUS_REPLY_BOUND))
        out.append(Job(request, draw(st.integers(40, 1500)), reply))
    return out


@settings(max_examples=400, deadline=None)
@given(jobs(), st.lists(st.integers(0, 3), max_size=400))
def test_no_interleaving_lets_a_reply_straddle_a_buffer_boundary(
    work: list[Job], schedule: list[int]
) -> None:
    """Whatever the replies' sizes and however dhcpd's reads and writes interleave, every
    request is answered and the model of dhcpd never aborts."""
    assert run_connection(work, schedule, InflightBudget()) == len(work)


@given(
    st.lists(st.tuples(st.booleans(), st.integers(20, 5000), st.integers(100, 5000)), max_size=60)
)
def test_invariants_hold_for_any_sequence(ops: list[tuple[bool, int, int]]) -> None:
    """Whatever is added and completed: outstanding bytes stay within the limits, or alone."""
    budget = InflightBudget()
    outstanding: dict[int, tuple[int, int]] = {}
    for n, (complete, request, reply) in enumerate(ops):
        if complete and outstanding:
            rid = next(iter(outstanding))
            budget.complete(rid, 0)
            del outstanding[rid]
        elif budget.fits(request):
            # the reply of the new request starts after every outstanding reply
            assert not outstanding or sum(r for _, r in outstanding.values()) <= REPLY_LIMIT
            budget.add(n, request, reply)
            outstanding[n] = (request, reply)
        if len(outstanding) > 1:
            assert sum(q for q, _ in outstanding.values()) <= REQUEST_LIMIT
        assert budget.request_bytes == sum(q for q, _ in outstanding.values())
