#!/bin/sh
# Makes `docker compose` (Compose v2) available when the machine has only the docker CLI (or
# Debian's docker-compose 1.29, which cannot read docker-compose.yml's `name:`): builds
# docker/compose from the Go module proxy into ~/.docker/cli-plugins. A few minutes the first
# time (Go's module cache keeps it after); nothing to do when `docker compose version` answers.
set -eu
if docker compose version >/dev/null 2>&1; then exit 0; fi
command -v go >/dev/null 2>&1 || { echo "docker compose is missing and Go is not installed to build it" >&2; exit 1; }
VERSION=${COMPOSE_VERSION:-v5.6.0}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
go mod init compose-build >/dev/null 2>&1
# a plain `go install …@version` is refused: compose's go.mod has exclude directives
GOFLAGS=-mod=mod go get "github.com/docker/compose/v5@$VERSION" >/dev/null 2>&1
mkdir -p "$HOME/.docker/cli-plugins"
GOFLAGS=-mod=mod go build -o "$HOME/.docker/cli-plugins/docker-compose" github.com/docker/compose/v5/cmd
docker compose version
