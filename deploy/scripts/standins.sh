#!/bin/sh
# Builds the stand-ins under deploy/standins/ for the upstream images docker-compose.yml uses
# that this machine neither has nor can pull (no Docker Hub). Idempotent.
set -eu
cd "$(dirname "$0")/../standins"
build () { # <dir> <upstream tag>
  if docker image inspect "$2" >/dev/null 2>&1; then return; fi
  if docker pull -q "$2" >/dev/null 2>&1; then return; fi
  echo "building a stand-in for $2 from Debian's package (deploy/standins/$1)" >&2
  docker build -q -t "$2" "$1" >/dev/null
}
build nats nats:2.10-alpine
build redis redis:7-alpine
build prometheus prom/prometheus:v2.53.0
