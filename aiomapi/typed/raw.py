"""The generic object: a handle and the raw values the server sent, untyped.

:class:`OmapiObject` is what the generic operations (``omapi.open``, ``omapi.refresh``, …)
return for any object type, including ones the typed layer has no class for. It depends on
nothing but the wire format; the typed objects (:mod:`aiomapi.typed.objects`) decode the
same values straight from the reply, without making an :class:`OmapiObject` first.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from aiomapi._sansio.wire import Message

__all__ = ["OmapiObject"]


@dataclass(frozen=True, slots=True)
class OmapiObject:
    """An object as the server sent it.

    Attributes:
        handle: the server's handle for the object (valid for the life of the server).
        values: attribute name → the raw bytes the server sent, in the server's order. When
            a name comes twice, its first value is here.
        object_type: the type it was opened as, when known.
        repeated: later values of names that came more than once, in order. dhcpd sends
            a lease's fields before its binding variables, so a binding variable named like
            a field (``tstp`` set over OMAPI) lands here.
    """

    handle: int
    values: Mapping[str, bytes] = field(default_factory=dict)
    object_type: str | None = None
    repeated: tuple[tuple[str, bytes], ...] = ()

    def __getitem__(self, name: str) -> bytes:
        return self.values[name]

    def __contains__(self, name: object) -> bool:
        return name in self.values

    def __iter__(self) -> Iterator[str]:
        return iter(self.values)

    def get(self, name: str, default: bytes | None = None) -> bytes | None:
        """The raw value of ``name``, or ``default``."""
        return self.values.get(name, default)

    def int(self, name: str) -> int | None:
        """``name`` read as a big-endian integer (int32 values), or ``None`` if absent."""
        raw = self.values.get(name)
        return int.from_bytes(raw, "big") if raw is not None else None

    @classmethod
    def from_message(cls, message: Message, object_type: str | None = None) -> OmapiObject:
        """The object in a reply ``message`` (its handle and object values)."""
        values = dict(message.object)
        if len(values) == len(message.object):
            return cls(message.handle, values, object_type)
        values = {}
        repeated: list[tuple[str, bytes]] = []
        for name, value in message.object:
            if name in values:
                repeated.append((name, value))
            else:
                values[name] = value
        return cls(message.handle, values, object_type, tuple(repeated))
