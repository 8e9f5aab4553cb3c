"""The sans-IO core: OMAPI bytes in, events out; requests in, bytes out. No sockets, no clock."""
