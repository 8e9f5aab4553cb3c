"""Pluggable object types and dhcpd's request semantics, for the server role.

Theory of operation
-------------------
An OMAPI server is a table of object *types* (``lease``, ``host``…) and a table of object
*handles*. An application registers one :class:`ObjectType` per type name; each knows how to
look its objects up from a set of keys, create a blank one, set one attribute, finish an
update (dhcpd's ``updated`` signal, where new objects get entered), remove one, and list an
object's attributes in wire order. Methods may be plain functions or coroutines.

:class:`Dispatcher` turns one request into one reply exactly as dhcpd 4.4.3's
``omapi_message_process_internal()`` does (docs/dhcpd-behaviour.md, "Messages and replies",
verified against the real server), so an application only writes the per-type behaviour:

* OPEN: ``type`` → flags (``create``, ``update``, ``exclusive``: 4-byte ints) → lookup →
  create when nothing was found and ``create`` was asked, *or* when the lookup had no usable
  key at all (NOKEYS — dhcpd's quirk that hands out blank hosts) → apply every object value,
  keys included, in list order → ``updated`` → UPDATE reply with a handle.
* REFRESH / UPDATE / DELETE work on the header ``handle``.
* The status texts are dhcpd's own wire strings.

Handles are server-wide, start at 1, are handed out the first time an object is sent or
referenced, and are never reused; the table keeps the object alive, as dhcpd does
(docs/dhcpd-behaviour.md, "Objects").
The authenticator type is built in, because opening one changes the connection.

Replies are built on the hot path: a lease lookup is one OPEN, so :meth:`Dispatcher.handle`
reads the message values in one pass, calls a type's methods directly and awaits only what
is awaitable (a coroutine per request costs more than the lookup). A type whose objects
rarely change can hand back :class:`WireValues` — its values with every :class:`Ref`
already turned into a handle — and keep them until the object changes;
:attr:`HandleTable.generation` tells it when a handle it resolved may have been dropped.

Value lists are read by dhcpd's rule (:func:`~aiomapi._sansio.wire.find_value`,
:func:`~aiomapi._sansio.wire.collapse_values`): a repeated name keeps its first position and
takes its last value, and a null value reads as absent for lookups but is passed on (as
``None``) to :meth:`ObjectType.set_value`, where it means "unset".
"""

from __future__ import annotations

import contextlib
import inspect
import logging
from collections.abc import Awaitable, Iterable, Mapping
from dataclasses import dataclass
from types import CoroutineType, GeneratorType
from typing import Any, ClassVar, Generic, Protocol, TypeAlias, TypeGuard, TypeVar, cast

from aiomapi._sansio.auth import Key
from aiomapi._sansio.wire import (
    Message,
    Opcode,
    Values,
    collapse_values,
    status_message,
)
from aiomapi.errors import ResultCode, StatusError
from aiomapi.facts import (  # the status texts, exactly as dhcpd sends them
    ALREADY_EXISTS,
    CANNOT_UPDATE_AUTHENTICATOR,
    CANT_CREATE,
    CANT_SELECT_AUTHENTICATOR,
    CANT_UPDATE,
    INVALID_FLAG,
    LOOKUP_FAILED,
    NO_MATCH,
    NO_MATCHING_HANDLE,
    NO_REMOVE_METHOD,
    NOTIFY_NOT_IMPLEMENTED,
    SIG_ALG_SUFFIX,
    TYPE_REQUIRED,
    UNSEARCHABLE,
)

__all__ = [
    "Authenticator",
    "AuthenticatorType",
    "Dispatcher",
    "HandleTable",
    "ObjectType",
    "Ref",
    "Session",
    "StatusError",
    "WireValues",
    "collapse_values",
    "int32",
]

log = logging.getLogger("aiomapi.server")

T = TypeVar("T")
ObjT = TypeVar("ObjT")
MaybeAwaitable: TypeAlias = T | Awaitable[T]


def int32(n: int) -> bytes:
    """``n`` as the 4-byte big-endian value dhcpd sends for integers."""
    return (n & 0xFFFFFFFF).to_bytes(4, "big")


@dataclass(frozen=True, slots=True)
class Ref:
    """An attribute value that is another object: sent as that object's handle (int32)."""

    type: ObjectType[Any]
    obj: object


AttributeValue: TypeAlias = bytes | Ref


class WireValues(tuple[tuple[str, bytes], ...]):
    """An object's attributes ready to send: plain bytes, every :class:`Ref` already a
    handle (``int32(handles.handle_of(...))``). :meth:`ObjectType.values` may return one,
    and keep it until the object changes (or :attr:`HandleTable.generation` moves on); the
    dispatcher then sends it as it is, without looking at each value.
    """

    __slots__ = ()


class ObjectType(Generic[ObjT]):
    """Behaviour of one object type. Subclass it and override what the type supports.

    Every method may return its result directly or as an awaitable. Failures are
    :class:`StatusError`; the defaults below are what dhcpd does for a type that lacks
    the method.

    Attributes:
        name: the type name clients send in ``type`` (compared byte for byte).
        searchable: ``False`` for types without a lookup (OPEN → 27 "unsearchable object type").
    """

    name: str = ""
    searchable: ClassVar[bool] = True

    def lookup(self, keys: Mapping[str, bytes]) -> MaybeAwaitable[ObjT | None]:
        """The object the keys name, or ``None`` (NOTFOUND).

        ``keys`` maps names to non-null values (last one wins). Raise ``StatusError(NOKEYS)``
        when no usable key was given: the dispatcher then creates a blank object, as dhcpd
        does; any other :class:`StatusError` becomes "object lookup failed".
        """
        raise StatusError(ResultCode.NOKEYS)

    def create(self) -> MaybeAwaitable[ObjT]:
        """A new, blank object, not yet entered anywhere (``updated`` enters it)."""
        raise StatusError(ResultCode.NOTIMPLEMENTED)

    def set_value(self, obj: ObjT, name: str, value: bytes | None) -> MaybeAwaitable[None]:
        """Set one attribute; ``None`` is the null value (unset)."""
        raise StatusError(ResultCode.UNKNOWNATTRIBUTE)

    def updated(self, obj: ObjT) -> MaybeAwaitable[None]:
        """All values of one OPEN/UPDATE are set: validate, enter or store the object."""
        return None

    def remove(self, obj: ObjT) -> MaybeAwaitable[None]:
        """Delete the object (a DELETE request)."""
        raise StatusError(ResultCode.NOTIMPLEMENTED, NO_REMOVE_METHOD)

    def values(self, obj: ObjT) -> MaybeAwaitable[Iterable[tuple[str, AttributeValue]]]:
        """The object's attributes in wire order."""
        return ()

    def ref(self, obj: ObjT) -> Ref:
        """A reference to ``obj`` for use in another object's :meth:`values`."""
        return Ref(self, obj)


class Session(Protocol):
    """What the dispatcher needs from a connection (a :class:`ServerConnection`)."""

    def add_authenticator(self, handle: int, key: Key) -> None: ...


# ---------------------------------------------------------------- handles


class HandleTable:
    """Server-wide object handles: from 1, allocated on first use, never reused.

    The table holds a reference to every object it has a handle for, as dhcpd does.

    Args:
        limit: the most handles ever handed out. dhcpd has no limit and keeps every object a
            handle was given for; a client opening blank objects in a loop grows it without
            bound. Past the limit, requests that need a new handle get ISC_R_NOMEMORY.
    """

    __slots__ = ("_by_id", "_entries", "generation", "limit")

    def __init__(self, limit: int = 1_000_000) -> None:
        self._by_id: dict[int, int] = {}
        self._entries: list[tuple[ObjectType[Any], object] | None] = []
        self.limit = limit
        #: Counts :meth:`forget` calls: a handle resolved while it was the same still
        #: names the same object (handles are never reused; only forgetting changes one).
        self.generation = 0

    def __len__(self) -> int:
        return len(self._entries)

    def handle_of(self, object_type: ObjectType[Any], obj: object) -> int:
        """The handle of ``obj``, allocated now if it has none.

        Raises:
            StatusError: ISC_R_NOMEMORY, the table is full.
        """
        handle = self._by_id.get(id(obj))
        if handle is None:
            if len(self._entries) >= self.limit:
                raise StatusError(ResultCode.NOMEMORY)
            self._entries.append((object_type, obj))
            handle = len(self._entries)
            self._by_id[id(obj)] = handle
        return handle

    def get(self, handle: int) -> tuple[ObjectType[Any], object] | None:
        """The type and object of ``handle``, or ``None``."""
        if 0 < handle <= len(self._entries):
            return self._entries[handle - 1]
        return None

    def forget(self, obj: object) -> None:
        """Drop ``obj``'s handle (its number is not reused). dhcpd does this when it deletes
        a group: the old handle then reads as "no matching handle"."""
        handle = self._by_id.pop(id(obj), None)
        if handle is not None:
            self._entries[handle - 1] = None
            self.generation += 1


# ---------------------------------------------------------------- authenticators


@dataclass(frozen=True, slots=True, eq=False)
class Authenticator:
    """A key as an OMAPI object. ``selectable`` is False for keys that exist but are not
    the server's ``omapi-key`` (dhcpd: "can't select authenticator")."""

    key: Key
    selectable: bool

    @property
    def algorithm(self) -> str:
        """dhcpd's stored spelling, e.g. ``hmac-md5.SIG-ALG.REG.INT.`` (docs/dhcpd-behaviour.md,
        "Authentication")."""
        return self.key.algorithm + SIG_ALG_SUFFIX


class AuthenticatorType(ObjectType[Authenticator]):
    """The built-in ``authenticator`` type (docs/dhcpd-behaviour.md, "Authentication" and
    "Objects")."""

    name = "authenticator"

    def __init__(self, key: Key | None, known_keys: Iterable[Key] = ()) -> None:
        self._by_name: dict[bytes, Authenticator] = {}
        for other in known_keys:
            self._by_name[other.name.encode()] = Authenticator(other, key is None)
        if key is not None:
            self._by_name[key.name.encode()] = Authenticator(key, True)

    def lookup(self, keys: Mapping[str, bytes]) -> Authenticator | None:
        if not keys:
            raise StatusError(ResultCode.NOKEYS)
        name, algorithm = keys.get("name"), keys.get("algorithm")
        found = self._by_name.get(name) if name is not None else None
        if found is None or algorithm is None:
            return None
        # Case-insensitive, full length, dhcpd's spelling with the trailing dot
        # (docs/dhcpd-behaviour.md, "Authentication").
        if algorithm.lower() != found.algorithm.lower().encode():
            return None
        return found

    def set_value(self, obj: Authenticator, name: str, value: bytes | None) -> None:
        # dhcpd answers status 0 "can't update object" (verified).
        raise StatusError(ResultCode.SUCCESS)

    def values(self, obj: Authenticator) -> list[tuple[str, AttributeValue]]:
        return [("name", obj.key.name.encode()), ("algorithm", obj.algorithm.encode())]


# ---------------------------------------------------------------- dispatcher


#: Types whose instances are never awaitable, learnt as they come (see _awaitable).
_PLAIN_TYPES: set[type] = {type(None), bytes, list, tuple, WireValues, dict}


def _awaitable(value: object) -> TypeGuard[Awaitable[Any]]:
    """:func:`inspect.isawaitable`, answered from a set for the types seen before.

    ``inspect.isawaitable`` ends in an ABC check that costs about as much as a lease
    lookup; the types a dispatcher meets are few. Coroutines and generators are never
    cached (a generator is awaitable or not by its code's flags).
    """
    kind = type(value)
    if kind in _PLAIN_TYPES:
        return False
    if kind is CoroutineType:
        return True
    if inspect.isawaitable(value):
        return True
    if kind is not GeneratorType and len(_PLAIN_TYPES) < 256:
        _PLAIN_TYPES.add(kind)
    return False


async def _resolve(value: MaybeAwaitable[T]) -> T:
    if _awaitable(value):
        return cast(T, await value)
    return cast(T, value)


_FLAGS = ("create", "update", "exclusive")
_ZERO32 = bytes(4)


def _status(code: int, text: str | None = None) -> Message:
    return status_message(code, text)


class Dispatcher:
    """Executes requests against registered object types (see the module doc).

    Args:
        types: the object types to serve.
        key: the ``omapi-key``: with it, every request but the authenticator OPEN must be
            signed. ``None`` serves unsigned requests (dhcpd without ``omapi-key``).
        known_keys: further keys that exist but are not the ``omapi-key``: opening one is
            refused with INVALIDKEY "can't select authenticator" when ``key`` is set, and
            allowed (for signing) when it is not.
        max_handles: see :class:`HandleTable`.
    """

    def __init__(
        self,
        types: Iterable[ObjectType[Any]] = (),
        *,
        key: Key | None = None,
        known_keys: Iterable[Key] = (),
        max_handles: int = 1_000_000,
    ) -> None:
        self.key = key
        self.handles = HandleTable(max_handles)
        self.authenticators = AuthenticatorType(key, known_keys)
        self.types: dict[bytes, ObjectType[Any]] = {}
        self.register(self.authenticators)
        for object_type in types:
            self.register(object_type)

    @property
    def require_auth(self) -> bool:
        return self.key is not None

    def register(self, object_type: ObjectType[Any]) -> None:
        """Serve ``object_type`` under its :attr:`~ObjectType.name` (replacing any other)."""
        if not object_type.name:
            raise ValueError(f"{object_type!r} has no type name")
        self.types[object_type.name.encode()] = object_type

    async def handle(self, session: Session, message: Message) -> Message:
        """The reply (opcode, handle and values; no ids) to one accepted request."""
        try:
            op = message.opcode
            if op == Opcode.OPEN:
                return await self._open(session, message)
            if op == Opcode.REFRESH:
                return await self._refresh(message.handle)
            if op == Opcode.UPDATE:
                return await self._update(message)
            if op == Opcode.DELETE:
                return await self._delete(message.handle)
            return _status(ResultCode.NOTIMPLEMENTED, NOTIFY_NOT_IMPLEMENTED)
        except StatusError as exc:  # a table limit hit outside a step that maps codes
            return _status(exc.code, exc.text)

    async def _reply_object(self, object_type: ObjectType[Any], obj: object) -> Message:
        handle = self.handles.handle_of(object_type, obj)
        values = object_type.values(obj)
        if _awaitable(values):
            values = await values
        wire = self._wire_values(cast("Iterable[tuple[str, AttributeValue]]", values))
        return Message(Opcode.UPDATE, handle, object=wire)

    def _wire_values(self, values: Iterable[tuple[str, AttributeValue]]) -> Values:
        """``values`` with each :class:`Ref` sent as its handle."""
        if type(values) is WireValues:
            return values
        handles = self.handles
        out: list[tuple[str, bytes]] = []
        for name, value in values:
            if isinstance(value, Ref):
                value = int32(handles.handle_of(value.type, value.obj))
            out.append((name, value))
        return tuple(out)

    async def _open(self, session: Session, message: Message) -> Message:
        # One pass over each list, by dhcpd's rule (the last value of a name wins; a null
        # reads as absent): a dict built from the pairs keeps each name's last value.
        given = dict(message.message)
        flags = [False, False, False]
        for i, flag in enumerate(_FLAGS):
            raw = given.get(flag)
            if raw:
                if len(raw) != 4:
                    return _status(ResultCode.INVALIDARG, INVALID_FLAG.format(flag))
                flags[i] = raw != _ZERO32
        create, update, exclusive = flags
        type_name = given.get("type")
        object_type = self.types.get(type_name) if type_name else None
        if object_type is None:
            if create:
                return _status(ResultCode.INVALIDARG, TYPE_REQUIRED)
            return await self._refresh(message.handle)
        if not object_type.searchable:
            return _status(ResultCode.NOTIMPLEMENTED, UNSEARCHABLE)

        keys = dict(message.object)
        if not all(keys.values()):
            keys = {k: v for k, v in keys.items() if v}
        nokeys = False
        try:
            found = object_type.lookup(keys)
            obj = (await found) if _awaitable(found) else found
        except StatusError as exc:
            if exc.code == ResultCode.NOTFOUND:
                obj = None
            elif exc.code == ResultCode.NOKEYS:
                obj, nokeys = None, True
            else:
                return _status(exc.code, LOOKUP_FAILED)
        if obj is None and not nokeys and not create:
            return _status(ResultCode.NOTFOUND, NO_MATCH)
        if obj is not None and create and exclusive:
            return _status(ResultCode.EXISTS, ALREADY_EXISTS)
        if obj is None:
            try:
                obj = await _resolve(object_type.create())
            except StatusError as exc:
                return _status(exc.code, CANT_CREATE)

        if create or update:
            failed = await self._apply(object_type, obj, message.object, message.handle)
            if failed is not None:
                return failed

        if isinstance(obj, Authenticator):
            if not obj.selectable:
                return _status(ResultCode.INVALIDKEY, CANT_SELECT_AUTHENTICATOR)
            handle = self.handles.handle_of(object_type, obj)
            session.add_authenticator(handle, obj.key)
        # _reply_object, inline: a lease lookup is this path, and a coroutine less counts
        handle = self.handles.handle_of(object_type, obj)
        values = object_type.values(obj)
        if _awaitable(values):
            values = await values
        wire = self._wire_values(cast("Iterable[tuple[str, AttributeValue]]", values))
        return Message(Opcode.UPDATE, handle, object=wire)

    async def _apply(
        self, object_type: ObjectType[Any], obj: object, values: Values, handle: int
    ) -> Message | None:
        """dhcpd's ``omapi_object_update``; returns the failure status, or ``None``."""
        if not values:
            return _status(ResultCode.INVALIDARG, CANT_UPDATE)
        try:
            for name, value in collapse_values(values).items():
                try:
                    await _resolve(object_type.set_value(obj, name, value))
                except StatusError as exc:
                    if exc.code != ResultCode.UNCHANGED:
                        raise
            if handle:
                # dhcpd sets remote-handle after the values and ignores the result
                with contextlib.suppress(StatusError):
                    await _resolve(object_type.set_value(obj, "remote-handle", int32(handle)))
            try:
                await _resolve(object_type.updated(obj))
            except StatusError as exc:
                if exc.code != ResultCode.NOTFOUND:  # "no handler" counts as success
                    raise
        except StatusError as exc:
            return _status(exc.code, CANT_UPDATE)
        return None

    async def _refresh(self, handle: int) -> Message:
        entry = self.handles.get(handle)
        if entry is None:
            return _status(ResultCode.NOTFOUND, NO_MATCHING_HANDLE)
        return await self._reply_object(*entry)

    async def _update(self, message: Message) -> Message:
        entry = self.handles.get(message.handle)
        if entry is None:
            return _status(ResultCode.NOTFOUND, NO_MATCHING_HANDLE)
        object_type, obj = entry
        if isinstance(obj, Authenticator):
            return _status(ResultCode.SUCCESS, CANNOT_UPDATE_AUTHENTICATOR)
        failed = await self._apply(object_type, obj, message.object, message.handle)
        return failed if failed is not None else _status(ResultCode.SUCCESS)

    async def _delete(self, handle: int) -> Message:
        entry = self.handles.get(handle)
        if entry is None:
            return _status(ResultCode.NOTFOUND, NO_MATCHING_HANDLE)
        object_type, obj = entry
        try:
            await _resolve(object_type.remove(obj))
        except StatusError as exc:
            return _status(exc.code, exc.text)
        return _status(ResultCode.SUCCESS)
