#!/bin/sh
# Installs Toxiproxy's server (Shopify's TCP fault proxy, github.com/Shopify/toxiproxy) as
# $TOXIPROXY_BIN (default /usr/local/bin/toxiproxy-server), built from the Go module proxy.
# libs/cli/test/network-faults.e2e.test.ts takes its latency + jitter from it: the kernel of
# this project's machines has no `netem` qdisc. Idempotent: nothing to do when the binary is
# already there at the pinned version. About 10 s the first time (Go's module cache keeps it).
set -eu
VERSION=${TOXIPROXY_VERSION:-v2.12.0}
BIN=${TOXIPROXY_BIN:-/usr/local/bin/toxiproxy-server}
if [ -x "$BIN" ] && "$BIN" -version 2>/dev/null | grep -q "${VERSION#v}"; then exit 0; fi
GO=$(command -v go || true)
[ -z "$GO" ] && [ -x /usr/local/go/bin/go ] && GO=/usr/local/go/bin/go
[ -n "$GO" ] || { echo "toxiproxy-server is missing and Go is not installed to build it" >&2; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
GOBIN="$dir" CGO_ENABLED=0 "$GO" install -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=${VERSION#v}" "github.com/Shopify/toxiproxy/v2/cmd/server@$VERSION"
mkdir -p "$(dirname "$BIN")"
# install to a temporary name, then rename: a running test never sees a half-written binary
cp "$dir/server" "$BIN.tmp.$$"
chmod 0755 "$BIN.tmp.$$"
mv -f "$BIN.tmp.$$" "$BIN"
"$BIN" -version
