#!/usr/bin/env bash
# Install what the checks need; idempotent.  Run as root (the dhcpd lab needs it anyway).
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -x /usr/sbin/dhcpd ] || ! command -v ip >/dev/null 2>&1 \
  || ! command -v prometheus >/dev/null 2>&1 || ! command -v promtool >/dev/null 2>&1 \
  || ! command -v perfdhcp >/dev/null 2>&1 || [ ! -e /usr/include/openssl/evp.h ]; then
  # Keep the package from starting a system dhcpd: the tests start their own.
  policy=/usr/sbin/policy-rc.d
  if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$policy"
    chmod +x "$policy"
    trap 'rm -f "$policy"' EXIT
  fi
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends isc-dhcp-server iproute2 prometheus \
    kea-admin libssl-dev  # perfdhcp: DHCP load on the lab dhcpd; libssl-dev: the compiled HMAC-MD5
fi

python -m pip install -e '.[test]'
