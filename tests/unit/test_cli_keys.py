"""Every command finds its key in one order (aiomapi.config.options), with the same options.

Each command's own way to build its clients is driven with the same sources of a key and
must end with the same key in ``args.loaded_key`` (what the command line scrubs from its
messages); no server is contacted (the clients connect on their first request).
"""

from __future__ import annotations

import argparse
import io
from collections.abc import Callable
from pathlib import Path

import pytest

from aiomapi import Key
from aiomapi.cli import build_parser, options
from aiomapi.cli.scrub import key_material
from aiomapi.config import cli_check, load_config
from aiomapi.config.options import KEY_ORDER, KEY_WARNING, find_key, load_key
from aiomapi.failover import cli_diff
from aiomapi.failover.connect import pair_from_options
from aiomapi.monitor.targets import targets_from_options

FILE_KEY = Key("file_key", "ZmlsZSBrZXkgc2VjcmV0IGZpbGUga2V5")
FLAG_KEY = Key("flag_key", "ZmxhZyBrZXkgc2VjcmV0IGZsYWcga2V5")
ENV_KEY = Key("env_key", "ZW52IGtleSBzZWNyZXQgZW52IGtleSBz")
CONF_KEY = Key("conf_key", "Y29uZiBrZXkgc2VjcmV0IGNvbmYga2V5")


def spec(key: Key) -> str:
    return f"{key.name}:{key.secret}"


def stanza(key: Key) -> str:
    return f'key {key.name} {{ algorithm hmac-md5; secret "{key.secret}"; }};\n'


CONF = (
    "omapi-port 7911;\n" + stanza(CONF_KEY) + "omapi-key conf_key;\n" + 'failover peer "dhcp" {\n'
    "  primary; address 192.0.2.1; port 647; peer address 192.0.2.2; peer port 647;\n"
    "  max-response-delay 30; max-unacked-updates 10; mclt 600; split 128;\n"
    "  load balance max seconds 3;\n"
    "}\n"
    "subnet 10.0.0.0 netmask 255.255.255.0 {\n"
    '  pool { failover peer "dhcp"; range 10.0.0.10 10.0.0.20; }\n'
    "}\n"
)


@pytest.fixture
def files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    for name in ("AIOMAPI_HOST", "AIOMAPI_PORT", "AIOMAPI_KEY", "AIOMAPI_PEER"):
        monkeypatch.delenv(name, raising=False)
    conf = tmp_path / "dhcpd.conf"
    conf.write_text(CONF)
    key_file = tmp_path / "key.conf"
    key_file.write_text(stanza(FILE_KEY))
    return conf, key_file


def parse(*argv: str) -> argparse.Namespace:
    return build_parser().parse_args(list(argv))


def run_lease(conf: Path, extra: list[str]) -> argparse.Namespace:
    args = parse("lease", "--ip", "10.0.0.10", "--config", str(conf), *extra)
    options.client(args)
    return args


def run_pair(conf: Path, extra: list[str]) -> argparse.Namespace:
    args = parse("failover", "status", "--config", str(conf), *extra)
    pair_from_options(args)
    return args


def run_release(conf: Path, extra: list[str]) -> argparse.Namespace:
    args = parse("leases", "release", "--server", "192.0.2.9", "--config", str(conf), *extra)
    cli_diff._single_client(args)
    return args


def run_pools(conf: Path, extra: list[str]) -> argparse.Namespace:
    args = parse("pools", "--config", str(conf), *extra)
    targets_from_options(args)
    return args


def run_exporter_single(conf: Path, extra: list[str]) -> argparse.Namespace:
    args = parse("exporter", "--server", "192.0.2.9:7911", "--config", str(conf), *extra)
    targets_from_options(args)
    return args


def run_check(conf: Path, extra: list[str]) -> argparse.Namespace:
    args = parse("config", "check", str(conf), "--live", *extra)
    cli_check._client(args)
    return args


def run_scan(conf: Path, extra: list[str]) -> argparse.Namespace:
    from aiomapi import scan_cli

    args = parse("leases", "scan", "--config", str(conf), *extra)
    scan_cli._client(args, load_config(conf))
    return args


def run_who_serves(conf: Path, extra: list[str]) -> argparse.Namespace:
    # who-serves reads no configuration: its last source is the environment.
    args = parse("failover", "who-serves", "--server", "h", "--peer", "p", "--mac", "0:1", *extra)
    load_key(args)
    return args


RUNNERS: dict[str, Callable[[Path, list[str]], argparse.Namespace]] = {
    "lease": run_lease,
    "failover status": run_pair,
    "leases release --server": run_release,
    "pools": run_pools,
    "exporter --server": run_exporter_single,
    "config check --live": run_check,
    "leases scan": run_scan,
    "failover who-serves": run_who_serves,
}


@pytest.mark.parametrize("command", RUNNERS)
def test_every_command_has_the_one_order(
    files: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    conf, key_file = files
    run = RUNNERS[command]
    reads_config = command != "failover who-serves"
    # 4. the configuration's omapi-key, when nothing else gives one
    args = run(conf, [])
    assert args.loaded_key == (CONF_KEY if reads_config else None)
    # 3. the environment comes before the configuration
    monkeypatch.setenv("AIOMAPI_KEY", spec(ENV_KEY))
    args = run(conf, [])
    assert args.loaded_key == ENV_KEY
    assert spec(ENV_KEY) in key_material(args)
    assert capsys.readouterr().err == ""
    # 2. --key before the environment, and it warns
    args = run(conf, ["--key", spec(FLAG_KEY)])
    assert args.loaded_key == FLAG_KEY
    assert capsys.readouterr().err == KEY_WARNING + "\n"
    # 1. --key-file before everything
    args = run(conf, ["--key", spec(FLAG_KEY), "--key-file", str(key_file)])
    assert args.loaded_key == FILE_KEY
    assert FILE_KEY.secret in key_material(args)


def test_every_command_has_the_same_key_options() -> None:
    """The three key options, with the same metavars, wherever a command takes a key."""
    seen = 0
    parsers = [build_parser()]
    while parsers:  # a finite tree: each parser is visited once
        parser = parsers.pop()
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                parsers += set(action.choices.values())
        flags = {o: a for a in parser._actions for o in a.option_strings}
        if "--key" not in flags:
            assert "--key-file" not in flags
            continue
        seen += 1
        assert (flags["--key"].metavar, flags["--key"].default) == ("NAME:SECRET", None)
        assert flags["--key-file"].metavar == "PATH"
        assert flags["--key-name"].metavar == "NAME"
    # bench, lease, host, failover get/status/resync/partner-down/hosts/who-serves/diff,
    # leases scan/release/expire, config check, exporter, pools, shutdown
    assert seen == 17


def test_the_order_is_in_the_top_level_help() -> None:
    assert KEY_ORDER in build_parser().format_help()


def test_find_key_plain(files: tuple[Path, Path]) -> None:
    conf, key_file = files
    env = {"AIOMAPI_KEY": spec(ENV_KEY)}
    config = load_config(conf)
    assert find_key(config=config, env={}, config_name="c") == (CONF_KEY, "omapi-key of c")
    assert find_key(config=config, env=env) == (ENV_KEY, "env AIOMAPI_KEY")
    assert find_key(spec=spec(FLAG_KEY), config=config, env=env) == (FLAG_KEY, "--key")
    assert find_key(key_file=key_file, spec=spec(FLAG_KEY), env=env)[0] == FILE_KEY
    assert find_key(env={}) == (None, None)
    # a file that does not read as a whole: its key stanza alone, or no key
    assert find_key(config=conf, env={})[0] == CONF_KEY
    no_key = key_file.with_name("no-key.conf")
    no_key.write_text("subnet 10.0.0.0 netmask 255.0.0.0 {")
    assert find_key(config=no_key, env={}) == (None, None)


def test_load_key_warns_once_and_records(files: tuple[Path, Path]) -> None:
    args = argparse.Namespace(key=spec(FLAG_KEY), key_file=None, key_name=None)
    err = io.StringIO()
    assert load_key(args, env={}, stderr=err) == FLAG_KEY
    assert load_key(args, env={}, stderr=err) == FLAG_KEY
    assert err.getvalue() == KEY_WARNING + "\n"
    assert (args.loaded_key, args.key_source, args.env_key) == (FLAG_KEY, "--key", None)


def test_load_key_failure_leaves_no_stale_key(files: tuple[Path, Path]) -> None:
    args = argparse.Namespace(key=None, key_file=None, key_name=None, loaded_key=FLAG_KEY)
    with pytest.raises(ValueError, match="key"):
        load_key(args, env={"AIOMAPI_KEY": "not a key spec"})
    assert args.loaded_key is None
    assert args.env_key == "not a key spec"  # scrubbed from the message the CLI prints


def test_an_empty_port_variable_is_no_port(monkeypatch: pytest.MonkeyPatch) -> None:
    """AIOMAPI_PORT= (set but empty) once broke every command: the parser read it."""
    monkeypatch.setenv("AIOMAPI_PORT", "")
    who = ["failover", "who-serves", "--server", "h", "--peer", "p", "--mac", "0:1"]
    assert parse(*who).port == 7911
    assert parse("lease", "--ip", "10.0.0.1").port is None  # then --config's, else 7911
    monkeypatch.setenv("AIOMAPI_PORT", "7913")
    assert parse(*who).port == parse("lease", "--ip", "10.0.0.1").port == 7913
