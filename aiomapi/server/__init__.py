"""The server role: an asyncio OMAPI server (:func:`serve`, :class:`OmapiServer`) on the
sans-IO core, and the object model it dispatches requests to (:mod:`.objects`)."""

from aiomapi.server.listener import OmapiServer, ServerLimits, serve
from aiomapi.server.objects import (
    Authenticator,
    AuthenticatorType,
    Dispatcher,
    HandleTable,
    ObjectType,
    Ref,
    Session,
    StatusError,
)

__all__ = [
    "Authenticator",
    "AuthenticatorType",
    "Dispatcher",
    "HandleTable",
    "ObjectType",
    "OmapiServer",
    "Ref",
    "ServerLimits",
    "Session",
    "StatusError",
    "serve",
]
