"""``aiomapi completion bash|zsh``: a script generated from the parser that the shell takes."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from aiomapi.cli import build_parser
from aiomapi.cli.completion import script


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aiomapi", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


@pytest.fixture(scope="module")
def bash_script() -> str:
    result = run("completion", "bash")
    assert result.returncode == 0, result.stderr
    return result.stdout


BASH = shutil.which("bash")
needs_bash = pytest.mark.skipif(BASH is None, reason="no bash on this machine")


@needs_bash
def test_bash_accepts_it(bash_script: str) -> None:
    assert BASH is not None
    checked = subprocess.run(
        [BASH, "-n"], input=bash_script, capture_output=True, text=True, timeout=30, check=False
    )
    assert checked.returncode == 0, checked.stderr


def complete(bash_script: str, *words: str) -> list[str]:
    """What bash offers for the last of ``words`` after sourcing the script."""
    assert BASH is not None
    line = " ".join(("aiomapi", *words))
    program = (
        'eval "$SCRIPT"\n'
        "complete -p aiomapi\n"
        f"COMP_WORDS=(aiomapi {' '.join(words)}); COMP_CWORD={len(words)}\n"
        f'COMP_LINE="{line}"; COMP_POINT={len(line)}\n'
        "_shtab_aiomapi\n"
        'printf "%s\\n" "${COMPREPLY[@]}"\n'
    )
    done = subprocess.run(
        [BASH, "-c", program],
        env={"SCRIPT": bash_script, "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    registered, *offered = done.stdout.splitlines()
    assert registered == "complete -o bashdefault -F _shtab_aiomapi aiomapi"
    return offered


@needs_bash
def test_sourced_it_completes_commands_and_options(bash_script: str) -> None:
    assert complete(bash_script, "fail") == ["failover"]
    assert complete(bash_script, "failover", "st") == ["status"]
    assert "--key-file" in complete(bash_script, "lease", "--key")
    assert complete(bash_script, "completion", "z") == ["zsh"]


def test_zsh_script() -> None:
    result = run("completion", "zsh")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("#compdef aiomapi")
    assert "failover" in result.stdout


def test_file_options_complete_file_names() -> None:
    text = script(build_parser(), "zsh")
    assert "--key-file[" in text
    key_file = next(line for line in text.splitlines() if '"--key-file[' in line)
    assert ":_files" in key_file


def test_an_unknown_shell_is_a_usage_error() -> None:
    result = run("completion", "tcsh")
    assert result.returncode == 64
    assert "invalid choice" in result.stderr
