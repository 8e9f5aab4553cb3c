"""The per-item steps of a bulk lease lookup: an item's request, a reply's result.

Theory of operation
-------------------
``omapi.leases.get_many`` runs on the batch path (:mod:`aiomapi._asyncio.batch`), which
calls two functions per item: one that turns the item into its request, one that turns the
reply into the item's result. They run once per lookup, so they live here, in a module that
is compiled with mypyc together with the driver (docs/speedups.md): interpreted, these two
steps and the dataclass ``__init__`` they used cost about a tenth of the client's CPU per
lookup.

* :func:`lease_by_ip` is the request for an address: an OPEN of a ``lease`` with one key,
  ``ip-address``. A ``str`` is packed with ``inet_pton`` first; anything else, and any
  string that does not pack, goes through :func:`~aiomapi.typed.coders.encode_ip`, which
  accepts what it accepts and says why not. What cannot be looked up is that item's
  :class:`~aiomapi.LocalProtocolError`.
* The request carries its own reply decoder (:attr:`Request.decode_reply
  <aiomapi._sansio.client.Request.decode_reply>`): the connection makes the
  :class:`~aiomapi.Lease` straight from the reply's bytes
  (:func:`~aiomapi.typed.objects.lease_from_reply`, compiled where the extension is in use)
  and never makes the reply's Message and its value pairs. A reply it cannot make sense of
  is that item's :class:`~aiomapi.RemoteProtocolError`.
* :func:`lease_result` is the item's result: that Lease, or the item's error, where several
  matches are named by the keys that matched them. A reply that is no lease is that item's
  error on either path, never the end of the batch.

The lookups by MAC and client identifier build their keys with
:func:`~aiomapi.typed.keys.lease_keys` in :mod:`aiomapi.typed.leases` (they are rarer, and
their checks are the ones every other call uses), and their request with
:func:`lease_by_keys`, which carries the same decoder.
"""

from __future__ import annotations

import socket
from typing import Final

from aiomapi._sansio.client import Request
from aiomapi._sansio.events import Decoded
from aiomapi._sansio.wire import Message, Opcode, Values
from aiomapi.errors import LocalProtocolError, MultipleMatches, OmapiError, caused
from aiomapi.typed.coders import encode_ip
from aiomapi.typed.keys import several_matches
from aiomapi.typed.objects import Lease, build_lease, lease_from_reply

__all__ = ["LEASE_MESSAGE", "lease_by_ip", "lease_by_keys", "lease_result"]

#: The message values of a lease lookup: an OPEN of type ``lease``, no flags.
LEASE_MESSAGE: Final[Values] = (("type", b"lease"),)

_AF_INET: Final = socket.AF_INET
_OPEN: Final = Opcode.OPEN  # bound once: an enum member read is a metaclass lookup
_inet_pton: Final = socket.inet_pton


def lease_by_ip(item: object) -> Request:
    """The OPEN of the lease with address ``item`` (an IPv4Address or a str).

    Raises:
        LocalProtocolError: ``item`` is not an IPv4 address (nothing is sent).
    """
    if type(item) is str:
        try:
            packed = _inet_pton(_AF_INET, item)
        except OSError:
            packed = _checked_ip(item)
    else:
        packed = _checked_ip(item)
    return Request(_OPEN, 0, LEASE_MESSAGE, (("ip-address", packed),), "lease", lease_from_reply)


def lease_by_keys(keys: Values) -> Request:
    """The OPEN of the lease with these encoded lookup keys; its reply is decoded straight
    into the Lease, as for :func:`lease_by_ip`."""
    return Request(_OPEN, 0, LEASE_MESSAGE, keys, "lease", lease_from_reply)


def _checked_ip(item: object) -> bytes:
    try:
        return encode_ip(item)  # type: ignore[arg-type]  # its checks say what is wrong
    except OmapiError:
        raise
    except (TypeError, ValueError) as exc:
        raise caused(LocalProtocolError(f"cannot look up ip {item!r}: {exc}"), exc)


def lease_result(request: Request, reply: Message | OmapiError | Decoded) -> Lease | OmapiError:
    """A lookup's result: the Lease, or its error (several matches named by their keys)."""
    if isinstance(reply, Decoded):
        made = reply.value
        if isinstance(made, Lease | OmapiError):
            return made
        raise TypeError(f"a lease lookup's reply was decoded into {type(made).__name__}")
    if isinstance(reply, Message):
        try:
            lease: Lease = build_lease(Lease, reply.handle, reply.object)
        except OmapiError as exc:  # a reply that is no lease: this item's error, as above
            return exc
        return lease
    if isinstance(reply, MultipleMatches):
        return several_matches("leases", request.object, reply)
    return reply
