#!/bin/sh
# Builds and installs codio-otelcol, an OpenTelemetry Collector with the OTLP receiver and the
# file exporter (deploy/otelcol: collector core v0.161.0 / v1.67.0, contrib fileexporter
# v0.161.0, from the Go module proxy), as $OTELCOL_BIN (default /usr/local/bin/codio-otelcol).
# deploy/test/tracing.test.ts receives the cluster's traces through it. Idempotent: nothing to
# do when the binary is there at this version. About 2-3 minutes the first time on 2 cores
# (Go's module and build caches keep the rest).
set -eu
VERSION=0.161.0
BIN=${OTELCOL_BIN:-/usr/local/bin/codio-otelcol}
SRC=$(cd "$(dirname "$0")/../deploy/otelcol" && pwd)
if [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -q "$VERSION"; then exit 0; fi
GO=$(command -v go || true)
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
[ -n "$GO" ] || { echo "codio-otelcol is missing and Go is not installed to build it" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
(cd "$SRC" && CGO_ENABLED=0 "$GO" build -trimpath -o "$dir/codio-otelcol" .)
mkdir -p "$(dirname "$BIN")"
# install to a temporary name, then rename: a running test never sees a half-written binary
cp "$dir/codio-otelcol" "$BIN.tmp.$$"
chmod 0755 "$BIN.tmp.$$"
mv -f "$BIN.tmp.$$" "$BIN"
"$BIN" --version
