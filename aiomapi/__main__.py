"""``python -m aiomapi``: the command line."""

from .cli import main

raise SystemExit(main())
