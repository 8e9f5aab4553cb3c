#!/usr/bin/env bash
# The project's test command (README): install what the checks need, then lint, types, tests.
# Arguments go to pytest. Run as root: the real-dhcpd tests start dhcpd in network
# namespaces. Without root they are skipped, unless AIOMAPI_REQUIRE_DHCPD=1 (CI sets it),
# which turns every such skip into a failure. pytest's exit code 5 (no tests ran) fails too.
set -euo pipefail
cd "$(dirname "$0")/.."
.ci/install.sh
ruff check .
mypy
lint-imports  # the layers' dependency direction ([tool.importlinter] in pyproject.toml)
# The whole suite twice, each pass on one implementation of the hot path (docs/speedups.md):
# this first pass on the compiled extension that .ci/install.sh builds in place, the uvloop
# pass below on the pure-Python reference (AIOMAPI_NO_EXTENSIONS=1). tests/unit/test_speedups.py
# checks the two against each other in both passes. Two passes, as before: CI time is unchanged.
python -m pytest "$@"
# asyncio's debug mode (slow callbacks, never-retrieved exceptions, unclosed transports)
# over the tests of the asyncio driver that need no dhcpd.
PYTHONASYNCIODEBUG=1 python -m pytest -q -p no:cacheprovider tests/local/test_client_local.py tests/local/test_bulk.py
# The whole suite again on uvloop: the asyncio driver must work on any asyncio loop; and on
# the pure-Python hot path, which stays the reference and the fallback.
AIOMAPI_EVENT_LOOP=uvloop AIOMAPI_NO_EXTENSIONS=1 python -m pytest -q -p no:cacheprovider "$@"
