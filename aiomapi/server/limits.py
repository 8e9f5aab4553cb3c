"""The resource limits of an :class:`~aiomapi.server.listener.OmapiServer`:
:class:`ServerLimits` (how they combine: :mod:`aiomapi.server.listener` for turns and flow
control, :mod:`aiomapi.server.slots` for connection slots)."""

from __future__ import annotations

from dataclasses import dataclass

from aiomapi._sansio.wire import DEFAULT_MAX_MESSAGE_SIZE

__all__ = ["ServerLimits"]


@dataclass(frozen=True, slots=True)
class ServerLimits:
    """Resource limits of an :class:`OmapiServer` (see the module doc for how they combine).

    Attributes:
        max_connections: concurrent connections. dhcpd manages about 190
            (docs/dhcpd-behaviour.md, "Server behaviour and limits"); 256 leaves room for a
            pool of clients. At the limit a new connection evicts the most stalled one, or
            is closed at once if no connection is stalled.
        max_connections_per_address: concurrent connections from one client address (IPv6
            addresses count one by one); ``None`` for no cap. Half of ``max_connections``
            by default, the ratio of Postfix's per-client limit to its process limit: one
            address cannot hold every slot with established connections. At the cap a new
            connection from that address evicts that address's most stalled connection.
        startup_timeout: seconds from accept for the startup exchange: the client's startup
            message and, if the server requires a key, an authenticator opened. ``None``
            waits for ever. A client sends both at once, so the exchange takes one round
            trip; 10 s covers TCP's first retransmissions (1 + 2 + 4 s) with room.
        message_timeout: seconds the server waits for the rest of a message once its first
            bytes have arrived; ``None`` waits for ever. Clients write a message at once;
            10 s lets the largest message (``max_message_size``) arrive at 26 KiB/s.
        idle_timeout: seconds without a complete request before a connection is closed
            (bytes of an unfinished message do not count); ``None`` waits for ever, as
            dhcpd does.
        write_timeout: seconds a client may leave more than ``write_buffer_size`` bytes of
            replies unread before it is dropped.
        write_buffer_size: high-water mark of each connection's output buffer.
        read_size: bytes taken from a connection's stream and framed at a time. 4 KiB hold
            about 50 lease lookups, which take a fraction of a millisecond to frame and check.
        turn_requests: requests of one connection served in one turn; with more to do, the
            connection waits for its next turn behind the other backlogged ones. A lease
            lookup takes about 20 µs, so a turn of 16 takes a third of a millisecond, the
            most that a request arriving on another connection waits for each turn ahead of
            it. memcached serves 20 requests per connection and event.
        max_handles: object handles handed out over the server's life (see
            :class:`~aiomapi.server.objects.HandleTable`).
    """

    max_connections: int = 256
    max_connections_per_address: int | None = 128
    max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE
    startup_timeout: float | None = 10.0
    message_timeout: float | None = 10.0
    idle_timeout: float | None = 600.0
    write_timeout: float = 30.0
    write_buffer_size: int = 256 * 1024
    read_size: int = 4 * 1024
    turn_requests: int = 16
    max_handles: int = 1_000_000

    def __post_init__(self) -> None:
        for name in (
            "max_connections",
            "max_message_size",
            "write_buffer_size",
            "read_size",
            "turn_requests",
            "max_handles",
        ):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        cap = self.max_connections_per_address
        if cap is not None and cap < 1:
            raise ValueError(f"max_connections_per_address must be at least 1 or None, got {cap}")
        for name in ("startup_timeout", "message_timeout", "idle_timeout", "write_timeout"):
            value = getattr(self, name)
            if value is not None and not value > 0:
                raise ValueError(f"{name} must be more than 0, got {value}")
