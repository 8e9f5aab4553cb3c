"""``benchmarks.dhcp_service`` stays runnable: a short run against the real dhcpd.

No timing is asserted: only that every row ran, perfdhcp's DORA exchanges completed, and the
OMAPI lookups of the loaded rows happened without a failure.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import require_dhcpd

pytestmark = [pytest.mark.dhcpd, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent.parent
SMOKE_TIMEOUT = 180  # the run takes about 15 s; this only bounds a hang


def test_dhcp_service_smoke(tmp_path: Path) -> None:
    require_dhcpd()
    out = tmp_path / "rows.json"
    argv = [sys.executable, "-m", "benchmarks.dhcp_service", "--leases", "100"]
    argv += ["--seconds", "1", "--omapi-rates", "1000", "--placement", "apart"]
    argv += ["--quiet-wait", "0", "--json", str(out)]
    done = subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=SMOKE_TIMEOUT, check=False
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = json.loads(out.read_text())
    names = [row["name"] for row in rows]
    assert names == ["none", "get_many, no limit", "get_many at 1,000/s", "none (again)"]
    for row in rows:
        dhcp = row["dhcp"]
        assert dhcp["request_ack"]["received"] > 0, row
        assert row["lookup_errors"] == 0, row
        assert (row["lookups"] > 0) == (row["omapi_rate"] is not None or "no limit" in row["name"])
    assert "| apart | get_many at 1,000/s |" in done.stdout
