"""``aiomapi --loop``: the event loop every command runs on."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import pytest
import uvloop

from aiomapi.cli.main import build_parser, loop_factory, main


def test_asyncio_is_the_default_and_needs_no_factory() -> None:
    args = build_parser().parse_args(["bench"])
    assert args.loop == "asyncio"
    assert loop_factory("asyncio") is None


def test_uvloop_is_chosen_by_name() -> None:
    factory = loop_factory("uvloop")
    assert factory is uvloop.new_event_loop


def test_a_missing_uvloop_is_a_usage_error(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now fails
    with pytest.raises(ValueError, match="uvloop is not installed"):
        loop_factory("uvloop")
    assert main(["--loop", "uvloop", "bench", "--duration", "0.1"]) == 64
    assert "pip install uvloop" in capsys.readouterr().err


def test_an_unknown_loop_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(["--loop", "trio", "bench"])
    assert info.value.code != 0
    assert "invalid choice" in capsys.readouterr().err


@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_bench_runs_on_the_loop_asked_for_and_says_so(loop: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "aiomapi", "--loop", loop, "bench", "--duration", "0.3", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    result = json.loads(done.stdout)
    assert result["loop"] == loop
    assert all(row["errors"] == 0 for row in result["rows"])


async def test_the_running_loop_is_reported_by_its_package() -> None:
    from aiomapi.bench.compare import _loop_name

    expected = (
        "uvloop" if type(asyncio.get_running_loop()).__module__.startswith("uvloop") else "asyncio"
    )
    assert _loop_name() == expected
