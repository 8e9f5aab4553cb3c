"""A pytest plugin with a ``fake_dhcpd`` fixture: an in-memory dhcpd per test.

Enable it in a ``conftest.py`` with ``pytest_plugins = ["aiomapi.testing.pytest_plugin"]``
(or run ``pytest -p aiomapi.testing.pytest_plugin``); it needs ``pytest-asyncio``.

The fixture yields a started :class:`~aiomapi.testing.FakeDhcpd` on 127.0.0.1 with a fresh
HMAC-MD5 key (``fake_dhcpd.key``) and 100 synthetic leases (10.100.1.0 + i, see
:func:`~aiomapi.testing.synthetic_leases`). The ``fake_dhcpd`` marker changes that; its
keyword arguments go to :class:`~aiomapi.testing.FakeDhcpd`, except ``leases=N`` (an int),
which asks for N synthetic leases::

    @pytest.mark.fake_dhcpd(leases=10, key=None)   # 10 leases, no authentication
    async def test_lookup(fake_dhcpd):
        async with aiomapi.Client(fake_dhcpd.host, fake_dhcpd.port, key=fake_dhcpd.key) as omapi:
            ...
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from aiomapi._sansio.auth import Key

from .fake_dhcpd import FakeDhcpd, synthetic_leases

__all__ = ["fake_dhcpd"]

DEFAULT_LEASES = 100


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "fake_dhcpd(**kwargs): FakeDhcpd options for the fake_dhcpd fixture "
        "(leases=N for N synthetic leases; key=None for no authentication)",
    )


@pytest_asyncio.fixture
async def fake_dhcpd(request: pytest.FixtureRequest) -> AsyncIterator[FakeDhcpd]:
    """A started :class:`FakeDhcpd` for one test (see the module doc)."""
    marker = request.node.get_closest_marker("fake_dhcpd")
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    leases = options.pop("leases", DEFAULT_LEASES)
    if isinstance(leases, int):
        leases = synthetic_leases(leases)
    if "key" not in options:
        options["key"] = Key.generate("omapi_key")
    async with FakeDhcpd(leases=leases, **options) as server:
        yield server
