"""The in-flight budget that keeps dhcpd 4.4.3 from aborting (reference §9.7)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from aiomapi.budget import (
    REPLY_LIMIT,
    REQUEST_LIMIT,
    STATUS_REPLY_BOUND,
    InflightBudget,
    ReplySizeModel,
)

LEASE_REQUEST = 79  # signed MD5 lease lookup by IP (§1.9)
LEASE_REPLY = 289  # largest lease reply on the 50,000-lease data set (§9.4)


def test_one_request_is_always_allowed_whatever_its_size() -> None:
    budget = InflightBudget()
    assert budget.fits(100_000)
    budget.add(1, 100_000, math.inf)
    assert not budget.fits(1)
    budget.remove(1)
    assert budget.fits(100_000)


def test_unknown_reply_size_goes_alone_and_blocks_followers() -> None:
    budget = InflightBudget()
    budget.add(1, LEASE_REQUEST, math.inf)
    assert not budget.fits(LEASE_REQUEST)
    budget.remove(1)
    assert len(budget) == 0
    assert budget.reply_bytes == 0


def test_lease_lookups_pipeline_within_the_safe_depth() -> None:
    model = ReplySizeModel()
    assert model.estimate("open:lease", expects_object=True) == math.inf
    model.observe("open:lease", LEASE_REPLY)
    estimate = model.estimate("open:lease", expects_object=True)
    assert LEASE_REPLY < estimate < 2 * LEASE_REPLY
    budget = InflightBudget()
    depth = 0
    while budget.fits(LEASE_REQUEST):
        budget.add(depth, LEASE_REQUEST, estimate)
        depth += 1
    # §9.4: K <= 14 is safe by construction for these replies; keep a margin below it.
    assert 8 <= depth <= 12
    # every reply but the last of a batch ends before offset 4040 even at the largest size
    assert (depth - 1) * LEASE_REPLY <= 4039


def test_status_replies_have_a_fixed_bound() -> None:
    model = ReplySizeModel()
    assert model.estimate(None, expects_object=False) == STATUS_REPLY_BOUND
    # dhcpd's longest status text is 31 bytes; the bound allows 64 and a SHA512 signature
    assert STATUS_REPLY_BOUND >= 24 + 16 + (6 + 7 + 31) + 4 + 64


def test_the_model_tracks_the_largest_reply_seen() -> None:
    model = ReplySizeModel()
    model.observe("open:host", 300)
    small = model.estimate("open:host", True)
    model.observe("open:host", 200)
    assert model.estimate("open:host", True) == small
    model.observe("open:host", 1000)
    assert model.estimate("open:host", True) > 1000


def test_a_hint_bounds_unknown_kinds() -> None:
    model = ReplySizeModel(hint=900)
    assert model.estimate("open:lease", True) == 900
    model.observe("open:lease", 100)
    assert model.estimate("open:lease", True) == 900  # never below the hint


def test_request_bytes_are_bounded() -> None:
    budget = InflightBudget()
    budget.add(1, 3000, STATUS_REPLY_BOUND)
    assert budget.fits(REQUEST_LIMIT - 3000)
    assert not budget.fits(REQUEST_LIMIT - 3000 + 1)


@given(
    st.lists(st.tuples(st.booleans(), st.integers(20, 5000), st.integers(100, 5000)), max_size=60)
)
def test_invariants_hold_for_any_sequence(ops: list[tuple[bool, int, int]]) -> None:
    """Whatever is added and removed: outstanding bytes stay within the limits, or alone."""
    budget = InflightBudget()
    outstanding: dict[int, tuple[int, int]] = {}
    for n, (remove, request, reply) in enumerate(ops):
        if remove and outstanding:
            rid = next(iter(outstanding))
            budget.remove(rid)
            del outstanding[rid]
        elif budget.fits(request):
            # the reply of the new request starts after every outstanding reply
            assert not outstanding or sum(r for _, r in outstanding.values()) <= REPLY_LIMIT
            budget.add(n, request, reply)
            outstanding[n] = (request, reply)
        if len(outstanding) > 1:
            assert sum(q for q, _ in outstanding.values()) <= REQUEST_LIMIT
        assert budget.request_bytes == sum(q for q, _ in outstanding.values())
