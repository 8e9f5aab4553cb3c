"""``omapi.leases``: look up leases, many at a time too, and change ``ends``, ``state``, ``flags``.

A lookup encodes its keys once (:func:`~aiomapi.typed.keys.lease_keys`), sends one OPEN
without flags, and decodes the reply message straight into a :class:`~aiomapi.Lease`.
:meth:`Leases.get_by_keys` is that single step for keys built beforehand, so bulk lookups
reuse it.

Changes follow the safe pattern (docs/dhcpd-behaviour.md, "Messages and replies"): OPEN
without flags to get the handle, then a client UPDATE with only the attributes to change,
then a lookup by handle to return the new state. (An OPEN with ``update=1`` would re-apply the
lookup keys as attributes, which dhcpd refuses for a lease's ``ip-address``.)
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Iterable, Mapping
from dataclasses import dataclass
from ipaddress import IPv4Address
from typing import Any, Unpack

from aiomapi._asyncio.batch import Batcher
from aiomapi._asyncio.bulk import DEFAULT_BULK_RATE, DEFAULT_CONCURRENCY, map_bounded
from aiomapi._asyncio.pacing import Pacer, check_rate
from aiomapi._sansio.client import Request
from aiomapi._sansio.wire import Values
from aiomapi.errors import LocalProtocolError, MultipleMatches, OmapiError
from aiomapi.typed.attributes import ValueLike, encode_values
from aiomapi.typed.enums import LeaseFlags, LeaseState, to_lease_flags, to_lease_state
from aiomapi.typed.keys import (
    ETHERNET,
    IdentifierLike,
    IPLike,
    LeaseLookup,
    MacLike,
    handle_value,
    lease_keys,
    several_matches,
)
from aiomapi.typed.lookups import lease_by_ip, lease_by_keys, lease_result
from aiomapi.typed.objects import Lease
from aiomapi.typed.release import DEFAULT_CONCURRENCY as RELEASE_CONCURRENCY
from aiomapi.typed.release import LeaseOutcome, StateFilter, expire_many, release_many
from aiomapi.typed.requests import Manager, open_request
from aiomapi.typed.times import LeaseTime, encode_time

__all__ = ["Leases"]


def _now() -> bytes:
    return encode_time(int(time.time()))


@dataclass(frozen=True, slots=True)
class _LeaseChange:
    """Checked new values for a lease, before anything is sent."""

    ends: bytes | None
    flags: LeaseFlags | None
    state: LeaseState | None

    @classmethod
    def check(
        cls,
        ends: LeaseTime | int | None,
        state: LeaseState | int | str | None,
        flags: LeaseFlags | int | None,
    ) -> _LeaseChange:
        if ends is None and state is None and flags is None:
            raise TypeError("give at least one of ends, state or flags")
        return cls(
            encode_time(ends) if ends is not None else None,
            to_lease_flags(flags) if flags is not None else None,
            to_lease_state(state) if state is not None else None,
        )

    def values(self, current: LeaseState | int) -> dict[str, ValueLike]:
        """The UPDATE values, in the order that leaves the lease in the intended state.

        dhcpd moves a lease along its pending transition on *every* change of ``ends`` or
        ``flags`` (an active lease becomes free at once, whatever the new end), so those go
        first and the state last: the requested one, or else the current one again.
        """
        out: dict[str, ValueLike] = {}
        if self.ends is not None:
            out["ends"] = self.ends
        if self.flags is not None:
            out["flags"] = self.flags
        state = self.state
        if state is None and isinstance(current, LeaseState):
            state = current
        if state is not None:
            out["state"] = state
        return out


class Leases(Manager):
    """``omapi.leases``: look up leases and change their ``ends``, ``state`` and ``flags``.

    :meth:`get` takes keywords and looks the lease up; :meth:`get_by_keys` is the lookup
    alone, for keys built beforehand with :func:`~aiomapi.typed.keys.lease_keys`;
    :meth:`get_many` looks up many. dhcpd cannot create or delete leases
    (NotImplementedByServer).
    """

    __slots__ = ()

    async def get(self, **lookup: Unpack[LeaseLookup]) -> Lease:
        """The lease with this address, hardware address, client identifier or handle.

        Args:
            lookup: ``ip``, ``mac`` (+ ``hardware_type``), ``client_id`` and/or ``handle``;
                see :func:`lease_keys`.

        Raises:
            NotFound: no such lease.
            MultipleMatches: several leases have this ``mac`` or ``client_id``.
            KeyConflict: the keys name different leases.
            InvalidArgument: ``handle`` belongs to an object that is not a lease.
            TypeError, LocalProtocolError: bad arguments (nothing is sent).
        """
        return await self._lookup(tuple(lease_keys(**lookup).items()))

    async def get_by_keys(self, keys: Mapping[str, ValueLike]) -> Lease:
        """The lease named by lookup keys built beforehand, such as :func:`lease_keys` returns.

        :meth:`get` builds its keys from keywords and looks the lease up at once; this is the
        lookup alone, for keys made ahead of time (a batch, a cache of keys). The keys are
        attribute name → value; bytes go as they are, other values are encoded as
        :func:`~aiomapi.typed.attributes.encode_value` does. Formerly ``fetch``, which
        remains as an alias.

        Raises:
            NotFound, MultipleMatches, KeyConflict, InvalidArgument: as for :meth:`get`.
            LocalProtocolError: a name that is not a non-empty string, or a value that must
                not be sent (nothing is sent).
        """
        return await self._lookup(encode_values(keys, "lease"))

    #: The former name of :meth:`get_by_keys`.
    fetch = get_by_keys

    async def _lookup(self, keys: Values) -> Lease:
        """One OPEN of a lease with encoded keys; the reply decoded straight into a Lease."""
        try:
            reply = await self._client.request(open_request("lease", keys))
        except MultipleMatches as exc:
            raise several_matches("leases", keys, exc) from exc
        return Lease.from_values(reply.handle, reply.object)

    def get_many(
        self,
        *,
        ips: Iterable[IPLike] | None = None,
        macs: Iterable[MacLike] | None = None,
        client_ids: Iterable[IdentifierLike] | None = None,
        hardware_type: int = ETHERNET,
        concurrency: int = DEFAULT_CONCURRENCY,
        ordered: bool = False,
        rate: float | None = DEFAULT_BULK_RATE,
    ) -> AsyncGenerator[tuple[Any, Lease | OmapiError], None]:
        """Look up many leases: ``async for ip, result in omapi.leases.get_many(ips=…)``.

        Exactly one of ``ips``, ``macs`` or ``client_ids`` is given; it may be any iterable,
        including a lazy generator (items are pulled as lookups finish).

        Yields:
            ``(item, result)`` for every item, where ``item`` is what was passed in and
            ``result`` is the :class:`Lease`, or the :class:`~aiomapi.OmapiError` for that
            item (``NotFound``, ``MultipleMatches``, ``LocalProtocolError`` for a value that
            cannot be sent, …): one failure never aborts the batch. Results come as they
            complete; ``ordered=True`` yields them in input order instead.

        At most ``concurrency`` items are pending at once (looked up or waiting to be
        yielded); the client's in-flight budget decides how many are on the wire: one lease
        lookup at a time per connection, so spread them with ``Client(connections=N)``. The
        lookups run on the client's batch path (:mod:`aiomapi._asyncio.batch`): no task or
        future per lookup, each with the client's timeout. Leaving the loop early cancels
        the rest.

        ``rate`` caps the lookups a second (:data:`~aiomapi.client.DEFAULT_BULK_RATE` unless
        given; ``None``: no cap of its own), so that a bulk run leaves dhcpd time for its
        DHCP service. A client's ``max_rate`` applies as well.

        Raises:
            TypeError: not exactly one of ``ips``, ``macs``, ``client_ids``.
            ValueError: ``concurrency`` below 1, ``rate`` not above 0.
        """
        given = [
            (n, v)
            for n, v in (("ip", ips), ("mac", macs), ("client_id", client_ids))
            if v is not None
        ]
        if len(given) != 1:
            raise TypeError("get_many() takes exactly one of ips=, macs=, client_ids=")
        name, items = given[0]
        checked = check_rate(rate)
        if concurrency < 1:
            raise ValueError(f"concurrency must be at least 1, got {concurrency}")

        def encode_keys(item: Any) -> Request:
            try:
                if name == "mac":
                    keys = tuple(lease_keys(mac=item, hardware_type=hardware_type).items())
                else:
                    keys = tuple(lease_keys(client_id=item).items())
            except (TypeError, ValueError) as exc:
                if isinstance(exc, OmapiError):
                    raise
                raise LocalProtocolError(f"cannot look up {name} {item!r}: {exc}") from exc
            return lease_by_keys(keys)

        # The lookup by address, the common one, is compiled whole (aiomapi.typed.lookups).
        encode = lease_by_ip if name == "ip" else encode_keys
        client = self._client
        if isinstance(client, Batcher):
            return client.batch(
                encode, items, lease_result, window=concurrency, ordered=ordered, rate=checked
            )
        # Another Requester (a test double, a wrapper): one task per lookup.
        pacer = Pacer(checked) if checked is not None else None
        lookup_keys = self._lookup

        async def lookup(item: Any) -> Lease:
            request = encode(item)
            if pacer is not None:
                await pacer.wait()
            return await lookup_keys(request.object)

        return map_bounded(lookup, items, concurrency=concurrency, ordered=ordered)

    async def refresh(self, lease: Lease | int) -> Lease:
        """``lease`` (or the lease with this handle) as the server has it now."""
        handle = lease.handle if isinstance(lease, Lease) else lease
        return await self._lookup((("handle", handle_value(handle)),))

    async def update(
        self,
        *,
        ends: LeaseTime | int | None = None,
        state: LeaseState | int | str | None = None,
        flags: LeaseFlags | int | None = None,
        **lookup: Unpack[LeaseLookup],
    ) -> Lease:
        """Change a lease's ``ends``, ``flags`` and/or binding ``state``; returns the new lease.

        Sent in one UPDATE as ``ends``, ``flags``, then ``state``. dhcpd runs a lease through
        its pending transition whenever ``ends`` or ``flags`` change (an active lease becomes
        free at once, dropping its client-hostname), so the state is sent last: the given one,
        or the lease's current state again, which keeps e.g. an active lease active with its
        new end. A new ``state=ACTIVE`` with an ``ends`` in the past expires at once.

        Args:
            ends: the new end (aware datetime, NEVER, UNSET or epoch seconds).
            state: the new binding state (member, 1..7, or a name such as ``"released"``).
            flags: the new flags (only the bits in SETTABLE_LEASE_FLAGS).
            lookup: which lease, as for :meth:`get`.

        Raises:
            LocalProtocolError: a value that must not be sent (checked before any request).
            TypeError: no lookup key or no change given.
            NotFound, MultipleMatches, ...: as for :meth:`get`.
        """
        change = _LeaseChange.check(ends, state, flags)
        lease = await self.get(**lookup)
        return await self._apply(lease, change.values(lease.state))

    def release_many(
        self,
        ips: Iterable[IPv4Address | str],
        *,
        state_filter: StateFilter | None = None,
        dry_run: bool = False,
        concurrency: int = RELEASE_CONCURRENCY,
        rate: float | None = DEFAULT_BULK_RATE,
    ) -> AsyncGenerator[LeaseOutcome, None]:
        """Release many leases, one :class:`~aiomapi.typed.release.LeaseOutcome` each:
        ``async for outcome in omapi.leases.release_many(ips)`` (see
        :func:`aiomapi.typed.release.release_many`; on a failover pair, run it on the
        primary). ``rate``: requests a second, :data:`~aiomapi.client.DEFAULT_BULK_RATE`
        unless given, ``None`` for no cap."""
        return release_many(
            _Owner(self),
            ips,
            state_filter=state_filter,
            dry_run=dry_run,
            concurrency=concurrency,
            rate=rate,
        )

    def expire_many(
        self,
        ips: Iterable[IPv4Address | str],
        *,
        state_filter: StateFilter | None = None,
        dry_run: bool = False,
        concurrency: int = RELEASE_CONCURRENCY,
        rate: float | None = DEFAULT_BULK_RATE,
    ) -> AsyncGenerator[LeaseOutcome, None]:
        """End many leases now (see :func:`aiomapi.typed.release.expire_many`)."""
        return expire_many(
            _Owner(self),
            ips,
            state_filter=state_filter,
            dry_run=dry_run,
            concurrency=concurrency,
            rate=rate,
        )

    async def release(self, **lookup: Unpack[LeaseLookup]) -> Lease:
        """Release a lease as a DHCPRELEASE would; returns the lease afterwards.

        Sends ``state=released`` and then ``ends=now``. The state change makes dhcpd run its
        release actions; the new end then completes it as dhcpd's own release does: without
        failover the lease is free at once. (``ends`` first would expire the lease instead of
        releasing it, and leave it stuck in ``released`` until the next pool timer.)

        Args:
            lookup: which lease, as for :meth:`get`.

        Raises:
            NotFound, MultipleMatches, ...: as for :meth:`get`.
        """
        lease = await self.get(**lookup)
        return await self._apply(lease, {"state": LeaseState.RELEASED, "ends": _now()})

    async def expire(self, **lookup: Unpack[LeaseLookup]) -> Lease:
        """End a lease now, as if its time had run out; returns the lease afterwards.

        Sends only ``ends=now``: dhcpd then makes the lease's pending transition itself, as
        when its time runs out. An active lease becomes free. On a failover peer a lease
        that dhcpd has touched since it started (made active, or acknowledged by the
        partner) becomes expired instead, and free only once the partner acknowledges the
        binding update. dhcpd 4.4.3's partner refuses that while its own end for the lease
        is more than 65 s away (dhcpd logs "invalid state transition: active to expired"):
        the lease then stays expired here and active there. Check the partner when it
        matters.

        Args:
            lookup: which lease, as for :meth:`get`.

        Raises:
            NotFound, MultipleMatches, ...: as for :meth:`get`.
        """
        lease = await self.get(**lookup)
        return await self._apply(lease, {"ends": _now()})

    async def _apply(self, lease: Lease, values: Mapping[str, ValueLike]) -> Lease:
        await self._update(lease.handle, encode_values(values, "lease"), "lease")
        return await self.refresh(lease)


class _Owner:
    """Hands a :class:`Leases` manager to the bulk functions, which take a client."""

    __slots__ = ("leases",)

    def __init__(self, leases: Leases) -> None:
        self.leases = leases
