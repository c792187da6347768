#!/usr/bin/env bash
# Installs the DNS tools the lab DNS tests use: BIND9's `named` (package bind9) and `dig`
# (package bind9-dnsutils). Idempotent: installs only what is missing. Debian/Ubuntu (apt-get).
# Never starts the bind9 service: the tests run their own `named` on a loopback port.
set -euo pipefail

say() { printf '[install-dns-tools] %s\n' "$*"; }

find_named() {
  command -v named 2>/dev/null || { [ -x /usr/sbin/named ] && echo /usr/sbin/named; } || true
}

missing=()
if [ -z "$(find_named)" ]; then missing+=(bind9); else say "named found: $(find_named)"; fi
if ! command -v dig >/dev/null 2>&1; then missing+=(bind9-dnsutils); else say "dig found: $(command -v dig)"; fi

if [ "${#missing[@]}" -eq 0 ]; then
  say "all DNS tools present; nothing to do"
  exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
  say "missing: ${missing[*]}, and apt-get is not available; install them with your package manager" >&2
  exit 1
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    say "missing: ${missing[*]}; run this script as root (or install sudo)" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
say "missing: ${missing[*]}"
# Refresh the package lists once if they are absent or older than a day.
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*Packages*' -mmin -1440 2>/dev/null | head -1)" ]; then
  say "apt-get update"
  $SUDO apt-get update -qq
fi
# policy-rc.d exit 101 keeps the package from starting a system-wide named during the install.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee "$policy" >/dev/null
  $SUDO chmod +x "$policy"
  created_policy=1
fi
cleanup() { if [ "$created_policy" -eq 1 ]; then $SUDO rm -f "$policy"; fi; }
trap cleanup EXIT

say "apt-get install ${missing[*]}"
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"

if [ -z "$(find_named)" ] || ! command -v dig >/dev/null 2>&1; then
  say "installation finished but named or dig is still missing" >&2
  exit 1
fi
say "named: $("$(find_named)" -v 2>/dev/null || echo '?')"
say "dig: $(dig -v 2>&1 | head -1)"
say "done"
