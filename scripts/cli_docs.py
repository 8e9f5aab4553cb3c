"""Write docs/cli.md from the ``aiomapi`` parser (run it after changing a command).

``tests/unit/test_cli_docs.py`` fails when docs/cli.md is not what this script writes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from aiomapi.cli import build_parser  # noqa: E402
from aiomapi.cli.exits import TABLE  # noqa: E402
from aiomapi.config.options import KEY_ORDER  # noqa: E402

INTRO = """\
# The `aiomapi` command

Generated from the parser by `python scripts/cli_docs.py`; do not edit by hand.

Every command takes `--json` (errors too: an object with `error`, `result_code`, `result`,
`text`, `hint` and `exit`), keys come from `--key-file` or `AIOMAPI_KEY` (a `--key` on the
command line works but warns: `ps` shows it), the library's log is silent unless `-v`, and a
closed pipe (`| head`) ends the command quietly. Every command finds its key in the same
order (`aiomapi.config.options`), and `aiomapi completion bash|zsh` prints a completion
script generated from this parser (`source <(aiomapi completion bash)`).

```
{table}

{keys}
```
"""


def _sections(parser: argparse.ArgumentParser, path: list[str]) -> list[str]:
    out = [f"## `{' '.join(path)}`\n\n```\n{parser.format_help().rstrip()}\n```\n"]
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                out += _sections(sub, [*path, name])
    return out


def render() -> str:
    os.environ["COLUMNS"] = "100"  # argparse wraps help to the terminal's width
    parser = build_parser()
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    body = "\n".join(_sections(parser, ["aiomapi"]))
    return INTRO.format(table=TABLE, keys=KEY_ORDER) + "\n" + body


if __name__ == "__main__":
    (ROOT / "docs" / "cli.md").write_text(render())
