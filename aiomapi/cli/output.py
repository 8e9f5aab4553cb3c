"""Printing results: plain text for people, JSON for scripts; enums by their dhcpd names."""

from __future__ import annotations

import dataclasses
import enum
import json
from datetime import datetime
from typing import Any

__all__ = ["plain", "print_json", "print_object"]


def plain(value: object) -> object:
    """``value`` as JSON-ready data: enums by their dhcpd names, bytes as hex, times ISO."""
    if isinstance(value, enum.Enum):
        name = getattr(value, "dhcpd_name", None)
        return name if name is not None else str(value.name or value.value).lower()
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, bytes):
        return value.hex(":")
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)


def fields_of(obj: object) -> dict[str, Any]:
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    return {"value": plain(obj)}


def print_json(data: object) -> None:
    print(json.dumps(data, indent=2, default=str))


def print_object(obj: object, as_json: bool) -> None:
    """Print a typed object: aligned ``name  value`` lines, or a JSON object."""
    fields = fields_of(obj)
    if as_json:
        print_json(fields)
        return
    width = max(map(len, fields), default=0)
    for name, value in fields.items():
        if value is not None and value != {} and value != []:
            print(f"{name:<{width}}  {value}")
