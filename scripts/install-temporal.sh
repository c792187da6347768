#!/usr/bin/env bash
# Installs the pinned Temporal CLI (dev server) into .tools/bin, building it from source with
# `go install` (newer tags than v1.5.1 refuse go install; no prebuilt binary can be downloaded here).
# Reuses a binary already there or on PATH when its version matches.
set -euo pipefail
VERSION="v1.5.1"
SERVER="1.29.1"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
BIN_DIR="$ROOT/.tools/bin"
mkdir -p "$BIN_DIR"

has_version() { [ -x "$1" ] && "$1" --version 2>/dev/null | grep -q "Server $SERVER"; }

if has_version "$BIN_DIR/temporal"; then
  echo "temporal CLI $VERSION: $BIN_DIR/temporal (already installed)"
  exit 0
fi
if command -v temporal >/dev/null 2>&1 && has_version "$(command -v temporal)"; then
  ln -sf "$(command -v temporal)" "$BIN_DIR/temporal"
  echo "temporal CLI $VERSION: reusing $(command -v temporal)"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  echo "error: Go is needed to build the Temporal CLI $VERSION (go install), and 'go' is not on PATH." >&2
  echo "fix: install Go 1.25 or newer (https://go.dev/dl or your package manager), then run 'make tools' again." >&2
  exit 1
fi
echo "building temporal CLI $VERSION with $(go version | cut -d' ' -f3) — the first build takes a few minutes…"
start=$(date +%s)
# -x would be too noisy; show module downloads (go prints them) and a heartbeat while compiling.
( while sleep 20; do echo "  … still building ($(( $(date +%s) - start ))s)"; done ) &
ticker=$!
trap 'kill $ticker 2>/dev/null || true' EXIT
GOBIN="$BIN_DIR" GOFLAGS="${GOFLAGS:-} -mod=mod" go install "github.com/temporalio/cli/cmd/temporal@$VERSION" 2>&1 | awk '{ print "  " $0; fflush() }'
kill $ticker 2>/dev/null || true
if ! has_version "$BIN_DIR/temporal"; then
  echo "error: the build finished but $BIN_DIR/temporal does not report server $SERVER" >&2
  exit 1
fi
echo "temporal CLI $VERSION built in $(( $(date +%s) - start ))s: $BIN_DIR/temporal"
