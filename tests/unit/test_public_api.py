"""The public API, pinned: what ``aiomapi`` exports and the import paths the docs name.

A name that disappears from here breaks users' code, so removing or renaming one is a
deliberate change to this file. Renamed classes keep their old names as aliases.
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import subprocess
import sys

import pytest

import aiomapi
import aiomapi.errors

# Today's flat exports, sorted.
PUBLIC_NAMES = [
    "ALGORITHMS",
    "AlreadyExists",
    "AuthenticationError",
    "BadParse",
    "Class",
    "Classes",
    "Client",
    "ConnectionClosed",
    "ConnectionError_",
    "Control",
    "ControlObject",
    "ControlState",
    "DEFAULT_BULK_RATE",
    "DEFAULT_PORT",
    "Dispatcher",
    "Failover",
    "FailoverHierarchy",
    "FailoverPeer",
    "FailoverState",
    "Failure",
    "Group",
    "Groups",
    "HandshakeError",
    "Host",
    "Hosts",
    "IOFailure",
    "InvalidArgument",
    "InvalidKey",
    "Key",
    "KeyConflict",
    "Lease",
    "LeaseFlags",
    "LeasePool",
    "LeaseState",
    "Leases",
    "LocalProtocolError",
    "MacAddress",
    "MultipleMatches",
    "NEVER",
    "NetworkError",
    "NoKeys",
    "NotFound",
    "NotImplementedByServer",
    "ObjectType",
    "OmapiError",
    "OmapiObject",
    "OmapiServer",
    "Opcode",
    "PermissionDenied",
    "Pools",
    "ProtocolError",
    "Ref",
    "RejectedWithSuccessCode",
    "RemoteProtocolError",
    "ResultCode",
    "ServerError",
    "ServerLimits",
    "StatusError",
    "Subclass",
    "Subclasses",
    "TimeSentinel",
    "TimeoutError",
    "UNSET",
    "UnknownAttribute",
    "__version__",
    "serve",
]

# module → names documented (README, docs/usage.md, docs/config.md) as importable from it.
DOCUMENTED_PATHS = {
    "aiomapi": ["Client", "Key", "serve", "OmapiServer", "ObjectType", "MacAddress"],
    "aiomapi.client": [
        "Client",
        "OmapiObject",
        "DEFAULT_PORT",
        "DEFAULT_BULK_RATE",
        "key_from_spec",
    ],
    "aiomapi.server": ["OmapiServer", "ServerLimits", "serve"],
    "aiomapi.testing": ["FakeDhcpd", "synthetic_leases"],
    "aiomapi.testing.pytest_plugin": ["fake_dhcpd"],
    "aiomapi.leasefile": [
        "parse_leases",
        "load_leases",
        "format_lease",
        "format_host",
        "format_database",
        "LeaseDatabase",
        "LeaseRecord",
        "HostRecord",
        "LeaseFileError",
    ],
    "aiomapi.config": ["load_config", "parse_config", "Config", "ConfigError"],
    "aiomapi.errors": ["OmapiError", "ResultCode", "ServerError"],
    "aiomapi.typed.values": ["MacAddress", "LeaseState", "encode_value", "decode_time"],
    "aiomapi.typed.objects": ["Lease", "Host", "to_lease_state", "to_failover_state"],
    "aiomapi.typed.managers": ["Leases", "Hosts", "lease_keys", "host_keys", "LeaseLookup"],
}


def test_all_is_exactly_the_public_names() -> None:
    assert sorted(aiomapi.__all__) == PUBLIC_NAMES
    assert len(set(aiomapi.__all__)) == len(aiomapi.__all__)


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_every_public_name_resolves(name: str) -> None:
    assert getattr(aiomapi, name) is not None


@pytest.mark.parametrize(("module", "names"), DOCUMENTED_PATHS.items())
def test_documented_import_paths(module: str, names: list[str]) -> None:
    imported = importlib.import_module(module)
    missing = [name for name in names if not hasattr(imported, name)]
    assert not missing, f"{module} lacks {missing}"


def test_every_error_class_is_exported_flat() -> None:
    classes = {
        name: value
        for name, value in vars(aiomapi.errors).items()
        if inspect.isclass(value) and issubclass(value, aiomapi.OmapiError)
    }
    assert "NotFound" in classes
    for name, cls in classes.items():
        assert getattr(aiomapi, name, None) is cls, name
        assert name in aiomapi.__all__, name


def test_error_families() -> None:
    assert issubclass(aiomapi.TimeoutError, builtins.TimeoutError)
    assert issubclass(aiomapi.NetworkError, builtins.ConnectionError)
    assert issubclass(aiomapi.LocalProtocolError, ValueError)
    assert issubclass(aiomapi.NotFound, aiomapi.ServerError)


def test_old_names_are_aliases() -> None:
    from aiomapi.client import key_from_spec

    assert aiomapi.ConnectionError_ is aiomapi.NetworkError
    assert aiomapi.Leases.fetch is aiomapi.Leases.get_by_keys
    assert key_from_spec("omapi_key:c2VjcmV0") == aiomapi.Key("omapi_key", "c2VjcmV0")


def test_serve_is_the_servers() -> None:
    import aiomapi.server

    assert aiomapi.serve is aiomapi.server.serve
    assert aiomapi.OmapiServer is aiomapi.server.OmapiServer


def test_import_loads_no_benchmark_or_testing_code() -> None:
    # A fresh interpreter: this one has imported aiomapi.testing through the test suite.
    # aiomapi.failover is runtime code and may be imported; bench and testing may not.
    code = "import aiomapi, sys; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    loaded = [m for m in out if m.startswith("aiomapi")]
    assert "aiomapi.client" in loaded
    unwanted = [
        m
        for m in out
        if m.startswith(("aiomapi.bench", "aiomapi.testing", "benchmarks", "tests"))
        or m in ("pytest", "_pytest", "hypothesis", "pypureomapi")
    ]
    assert not unwanted, unwanted
