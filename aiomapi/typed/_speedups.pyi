"""Type stub of the compiled typed-object builder (``_speedups.pyx``; docs/speedups.md)."""

from collections.abc import Callable, Mapping
from typing import Any

from aiomapi.typed.decoding import RawValues, Table

class Plan:
    def __init__(
        self,
        cls: type[Any],
        table: Table,
        required: frozenset[str],
        extra: str,
        fallback: Callable[[type[Any], int, RawValues], Any],
        kinds: Mapping[Any, Any],
        context: Mapping[str, Any],
    ) -> None: ...
    def build(self, cls: type[Any], handle: int, values: RawValues) -> Any: ...
    def build_reply(self, cls: type[Any], data: bytes, signed_end: int) -> Any | None: ...
