"""Bytes captured from a real dhcpd 4.4.3-P1 (Debian), HMAC-MD5, for wire-level tests.

The capture: startup exchange, authenticator OPEN (request id 7), a signed lease lookup of
10.100.1.5 (id 8, lease ``host5``) and a signed lookup of 10.99.1.5 (id 9, not found).
The secret is a test secret written into that dhcpd's configuration for the capture.
"""

from __future__ import annotations

import json
from pathlib import Path

from aiomapi._sansio.auth import Key

_DATA = json.loads((Path(__file__).parent / "data" / "dhcpd_captures.json").read_text())

SECRET: str = _DATA["secret"]
KEY = Key("omapi_key", SECRET, "hmac-md5")
SERVER_STARTUP = bytes.fromhex(_DATA["server_startup"])
AUTH_REQUEST = bytes.fromhex(_DATA["auth_request"])
AUTH_REPLY = bytes.fromhex(_DATA["auth_reply"])
LOOKUP = bytes.fromhex(_DATA["lookup"])
LEASE_REPLY = bytes.fromhex(_DATA["lease_reply"])
NOTFOUND_REQUEST = bytes.fromhex(_DATA["notfound_request"])
NOTFOUND_REPLY = bytes.fromhex(_DATA["notfound_reply"])
