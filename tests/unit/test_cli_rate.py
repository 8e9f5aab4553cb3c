"""``--rate`` on the commands over many leases: one parser, one default, the same words."""

from __future__ import annotations

import argparse

import pytest

from aiomapi.cli import build_parser
from aiomapi.client import DEFAULT_BULK_RATE
from aiomapi.config.options import parse_rate

COMMANDS = [
    ["leases", "scan", "10.0.0.0/30", "--server", "127.0.0.1"],
    ["leases", "release", "--server", "127.0.0.1", "--range", "10.0.0.1"],
    ["leases", "expire", "--server", "127.0.0.1", "--range", "10.0.0.1"],
    ["failover", "diff", "--primary", "127.0.0.1", "--secondary", "127.0.0.2"],
]


@pytest.mark.parametrize("text", ["unlimited", "none", " UNLIMITED "])
def test_words_for_no_limit(text: str) -> None:
    assert parse_rate(text) is None


@pytest.mark.parametrize(("text", "value"), [("1", 1.0), ("2500.5", 2500.5), ("1e4", 10_000.0)])
def test_numbers(text: str, value: float) -> None:
    assert parse_rate(text) == value


@pytest.mark.parametrize("text", ["0", "-5", "nan", "inf", "fast", ""])
def test_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        parse_rate(text)


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_every_bulk_command_defaults_to_the_bulk_rate(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.rate == DEFAULT_BULK_RATE
    assert build_parser().parse_args([*argv, "--rate", "unlimited"]).rate is None
    assert build_parser().parse_args([*argv, "--rate", "750"]).rate == 750.0


@pytest.mark.parametrize("argv", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_bad_rate_is_a_usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*argv, "--rate", "0"])
    assert exit_info.value.code == 64  # usage (aiomapi.cli.exits)
    assert "--rate" in capsys.readouterr().err
