"""``python -m aiomapi``: the command line."""

from aiomapi.cli import main

raise SystemExit(main())
