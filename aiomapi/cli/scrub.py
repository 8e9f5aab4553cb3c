"""Keeping key material out of everything the command prints.

The library's messages hold no key (see :mod:`aiomapi._sansio.auth`); on top of that, every
error line and log record is scrubbed of the parts of ``--key`` and ``AIOMAPI_KEY``,
``--key-name`` and the name and secret of the key in use (``args.loaded_key``, from
whichever source :func:`aiomapi.config.options.load_key` found it in), and argparse's
own errors are scrubbed of every argument value, since a stray space in a key spec turns its
parts into unrecognised arguments.
"""

from __future__ import annotations

import argparse
import logging
import re
import sys
from collections.abc import Iterable, Sequence
from typing import Any, NoReturn

from aiomapi import Key
from aiomapi._sansio.auth import normalise_algorithm

#: The exit code of a usage error (see aiomapi.cli.exits; repeated here to avoid a cycle).
USAGE_EXIT = 64

__all__ = ["HIDDEN", "ScrubbingFilter", "ScrubbingParser", "hide", "key_material"]


class ScrubbingFilter(logging.Filter):
    """Hides the key options in a log record, its traceback included."""

    def __init__(self, args: argparse.Namespace) -> None:
        super().__init__()
        self._args = args

    def filter(self, record: logging.LogRecord) -> bool:
        words = key_material(self._args)
        record.msg, record.args = hide(record.getMessage(), words), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = hide(record.exc_text, words)
        if record.stack_info:
            record.stack_info = hide(record.stack_info, words)
        return True


def key_material(args: argparse.Namespace) -> list[str]:
    """Every string of the key options that a message must not show."""
    words: list[str] = []
    given_ones = (getattr(args, name, None) for name in ("key", "env_key", "key_name"))
    for given in given_ones:
        if given:
            words += [given, *(part for part in given.split(":") if not _is_algorithm(part))]
    key: Key | None = getattr(args, "loaded_key", None)
    if key is not None:
        words += [key.name, key.secret]
    return words


def _is_algorithm(text: str) -> bool:
    try:
        normalise_algorithm(text)
    except ValueError:
        return False
    return True


# Shorter strings are hidden only where they stand alone, so that hiding a key named "k"
# does not mangle every word with a k in it; longer ones wherever they occur.
_WHOLE_WORD_BELOW = 8
HIDDEN = "<hidden>"


def hide(text: str, words: Iterable[str]) -> str:
    """``text`` with each of ``words`` (and its repr-escaped form) replaced by ``<hidden>``."""
    forms = {form for word in words if word for form in (word, repr(word)[1:-1]) if form}
    for form in sorted(forms, key=len, reverse=True):
        if len(form) >= _WHOLE_WORD_BELOW:
            text = text.replace(form, HIDDEN)
        else:
            text = re.sub(rf"(?<![\w+/=]){re.escape(form)}(?![\w+/=])", HIDDEN, text)
    return text


class ScrubbingParser(argparse.ArgumentParser):
    """An ArgumentParser whose error messages show no argument values.

    argparse quotes what it could not use (``unrecognized arguments: …``, ``invalid choice:
    '…'``), and with ``--key hmac-md5 SECRET name`` that is the secret. Every token of the
    command line but option names is hidden; the parsers of one command line share the
    list of tokens, which the top-level parser fills.
    """

    def __init__(self, *args: Any, argv: list[str] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._top = argv is None
        self.argv: list[str] = [] if argv is None else argv

    def parse_known_args(  # type: ignore[override]
        self, args: Sequence[str] | None = None, namespace: argparse.Namespace | None = None
    ) -> tuple[argparse.Namespace, list[str]]:
        if self._top:
            self.argv[:] = sys.argv[1:] if args is None else args
        return super().parse_known_args(args, namespace)

    def error(self, message: str) -> NoReturn:
        """Print the usage and the scrubbed message; exit with the usage-error code."""
        values: list[str] = []
        for token in self.argv:
            if not token.startswith("-"):
                values.append(token)
            elif "=" in token:
                values.append(token.partition("=")[2])
        self.print_usage(sys.stderr)
        self.exit(USAGE_EXIT, f"{self.prog}: error: {hide(message, values)}\n")
