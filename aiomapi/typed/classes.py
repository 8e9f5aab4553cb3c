"""``omapi.groups``, ``omapi.classes``, ``omapi.subclasses``: the named collections of
statements and the client classes that hosts and leases are put in.

Each lookup encodes its keys once and decodes the reply message straight into the typed
object. A group's and a class's statements can be set and never read back
(docs/dhcpd-behaviour.md, "Objects").
"""

from __future__ import annotations

from aiomapi._sansio.wire import Values
from aiomapi.typed.keys import IdentifierLike, Keys, handle_value, identifier_value, text_value
from aiomapi.typed.objects import Class, Group, Subclass
from aiomapi.typed.requests import Manager

__all__ = ["Classes", "Groups", "Subclasses"]


class Groups(Manager):
    """``omapi.groups``: named groups of statements (docs/dhcpd-behaviour.md, "Objects").

    Hosts and classes name a group through their ``group`` attribute.
    """

    __slots__ = ()

    async def create(self, name: str | None = None, *, statements: str) -> Group:
        """Create a group.

        Args:
            name: unique name; dhcpd makes one up (``ng…``) if omitted.
            statements: dhcpd.conf statements (required by dhcpd; never sent back).

        Raises:
            AlreadyExists: the name is taken.
            BadParse: ``statements`` do not parse.
            LocalProtocolError: an empty name or statements.
        """
        values: Keys = {}
        if name is not None:
            values["name"] = text_value("name", name)
        values["statements"] = text_value("statements", statements)
        reply = await self._open("group", tuple(values.items()), create=True, exclusive=True)
        return Group.from_values(reply.handle, reply.object)

    async def get(self, name: str | None = None, *, handle: int | None = None) -> Group:
        """The group with this name and/or handle.

        Raises:
            NotFound: no such group (deleted included).
            TypeError: neither given.
        """
        keys: Keys = {}
        if handle is not None:
            keys["handle"] = handle_value(handle)
        if name is not None:
            keys["name"] = text_value("name", name)
        if not keys:
            raise TypeError("give a group name or handle")
        reply = await self._open("group", tuple(keys.items()))
        return Group.from_values(reply.handle, reply.object)

    async def delete(self, name: str | None = None, *, handle: int | None = None) -> None:
        """Delete a group (also one from dhcpd.conf).

        Raises:
            NotFound: no such group.
        """
        group = await self.get(name, handle=handle)
        await self._delete(group.handle, "group")


class Classes(Manager):
    """``omapi.classes``: client classes (docs/dhcpd-behaviour.md, "Objects"). Looked up by
    name only."""

    __slots__ = ()

    async def create(
        self, name: str, *, match: str | None = None, group: str | None = None
    ) -> Class:
        """Create a class.

        Args:
            name: the class name.
            match: ``"hardware"`` makes subclasses match on hardware type + MAC; dhcpd
                supports no other expression over OMAPI (InvalidArgument).
            group: the name of an existing group whose statements the class uses.

        Raises:
            AlreadyExists: a class with this name exists.
            InvalidArgument: ``match`` is not ``"hardware"``.
            NotFound: ``group`` does not exist.
        """
        values: Keys = {"name": text_value("name", name)}
        if match is not None:
            values["match"] = text_value("match", match)
        if group is not None:
            values["group"] = text_value("group", group)
        reply = await self._open("class", tuple(values.items()), create=True, exclusive=True)
        return Class.from_values(reply.handle, reply.object, name)

    async def get(self, name: str) -> Class:
        """The class called ``name``.

        Raises:
            NotFound: no such class (deleted included).
        """
        reply = await self._open("class", (("name", text_value("name", name)),))
        return Class.from_values(reply.handle, reply.object, name)

    async def delete(self, name: str) -> None:
        """Delete the class called ``name``.

        Raises:
            NotFound: no such class.
        """
        cls = await self.get(name)
        await self._delete(cls.handle, "class")


class Subclasses(Manager):
    """``omapi.subclasses``: subclasses, named by their parent class and a hash string."""

    __slots__ = ()

    async def create(self, name: str, hashstring: IdentifierLike) -> Subclass:
        """Add a subclass to class ``name``.

        Args:
            name: the parent class.
            hashstring: what the parent's ``match`` must evaluate to (bytes, or colon-hex
                text such as ``"01:02:00:00:00:00:05"`` for hardware type 1 + MAC).

        Raises:
            NotFound: no class ``name``.
            AlreadyExists: the parent already has this hash string.
        """
        keys = _subclass_keys(name, hashstring)
        reply = await self._open("subclass", keys, create=True, exclusive=True)
        return Subclass.from_values(reply.handle, reply.object, name, keys[1][1])

    async def get(self, name: str, hashstring: IdentifierLike) -> Subclass:
        """The subclass of ``name`` with this hash string.

        Raises:
            NotFound: no such class or subclass.
        """
        keys = _subclass_keys(name, hashstring)
        reply = await self._open("subclass", keys)
        return Subclass.from_values(reply.handle, reply.object, name, keys[1][1])

    async def delete(self, name: str, hashstring: IdentifierLike) -> None:
        """Remove the subclass of ``name`` with this hash string.

        Raises:
            NotFound: no such class or subclass.
        """
        sub = await self.get(name, hashstring)
        await self._delete(sub.handle, "subclass")


def _subclass_keys(name: str, hashstring: IdentifierLike) -> Values:
    """``name`` then ``hashstring``, encoded.

    Both are required: without hashstring dhcpd hands back a blank, unentered subclass.
    """
    return (
        ("name", text_value("name", name)),
        ("hashstring", identifier_value("hashstring", hashstring)),
    )
