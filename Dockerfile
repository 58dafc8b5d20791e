# syntax=docker/dockerfile:1
# Codio's container images: one target per role (edge, relay, origin, tracker), built from this
# checkout after `npm run build`:
#
#   npm install && npm run build
#   docker build --target edge -t codio/edge:0.1.0 .      (or: docker compose build)
#
# The images carry only dist/, production node_modules and the native addon.
#
# Why the TypeScript and the addon are built on the host, not in a build stage: the addon is Rust
# (napi-rs), and a Rust toolchain cannot be fetched inside a build container on the machines this
# project is built on (no Docker Hub, no rustup server). napi-rs projects ship their addon as a
# prebuilt binary per platform; here the prebuilt binary is the one `npm run build` left in
# native/ for this platform (linux-x64-gnu, glibc — which node:24-slim is), and the dist/ folders
# come from the same build, so the image runs exactly the code the tests ran. A stage below
# refuses to go on, naming the command, when they are missing.

ARG NODE_IMAGE=node:24-slim

# ---- what the build on the host made: package.json + dist/ of every workspace, the addon ----
FROM ${NODE_IMAGE} AS dist
COPY . /src
RUN set -eu; cd /src; \
    ls native/codio-native.*.node >/dev/null 2>&1 || { echo 'native/codio-native.*.node is missing: run `npm install && npm run build` first (the addon needs Rust)' >&2; exit 1; }; \
    for d in proto libs/* services/* tools/*; do \
      [ -f "$d/package.json" ] || continue; \
      [ -d "$d/dist" ] || { echo "$d/dist is missing: run \`npm run build\` first" >&2; exit 1; }; \
      mkdir -p "/out/$d" && cp "$d/package.json" "/out/$d/" && cp -r "$d/dist" "/out/$d/"; \
    done; \
    mkdir -p /out/native /out/deploy /out/fuzz && cp native/package.json native/index.js native/index.d.ts native/codio-native.*.node /out/native/ \
    && cp deploy/package.json /out/deploy/ && cp fuzz/package.json /out/fuzz/ && cp package.json package-lock.json /out/ \
    && find /out -name '*.map' -delete

# ---- production dependencies only, from the lockfile ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY --from=dist /out/ /app/
# --ignore-scripts: no production dependency needs an install script (QUIC ships its binary as an
# optional platform package); dev tools' scripts have no business in a runtime image
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force \
    && rm -rf /app/deploy /app/node_modules/@codio/deploy
# what only editors and debuggers read: type declarations, source maps, docs, and the TypeScript
# sources js-libp2p packages ship beside their dist/ (about a third of node_modules)
RUN set -eu; cd /app/node_modules; \
    find . -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' -o -name '*.md' -o -name 'typedoc-urls.json' \) -delete; \
    rm -rf @types; \
    for d in @libp2p/* @chainsafe/* @multiformats/* @ipshipyard/* libp2p it-* uint8arrays multiformats; do \
      [ -d "$d/dist" ] && [ -d "$d/src" ] && rm -rf "$d/src"; \
    done; true

# ---- the runtime every role shares ----
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=unknown
LABEL org.opencontainers.image.title="Codio" \
      org.opencontainers.image.description="Codio: a peer-to-peer content delivery network over libp2p" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT"
# tini as PID 1: signals reach node (SIGTERM drains and stops each service) and zombies are reaped
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends tini >/dev/null \
    && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /var/log/apt /var/log/dpkg.log \
    && groupadd -g 10001 codio && useradd -u 10001 -g 10001 -d /var/lib/codio -M -s /usr/sbin/nologin codio \
    && mkdir -p /var/lib/codio /etc/codio/keys/private /etc/codio/keys/public /etc/codio/tokens \
    && chown -R 10001:10001 /var/lib/codio /etc/codio/keys /etc/codio/tokens && chmod 700 /etc/codio/keys/private /etc/codio/tokens
WORKDIR /app
COPY --from=deps /app /app
RUN ln -s /app/libs/cli/dist/bin.js /usr/local/bin/codio
# all state lives here (block store, peer key): the root filesystem can be read-only
VOLUME /var/lib/codio
USER 10001:10001
ENV NODE_ENV=production
# every role serves /healthz on its HTTP port; each target sets HEALTHCHECK_URL
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL,{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
STOPSIGNAL SIGTERM
# each role starts with SERVICE_NODE_FLAGS of libs/sidecars (src/node-flags.ts says why): V8 reads
# them only on the command line

FROM runtime AS edge
COPY deploy/docker/edge.toml /etc/codio/codio.toml
ENV HEALTHCHECK_URL=http://127.0.0.1:8080/healthz
EXPOSE 8080 8081 4001 4001/udp 4002
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--initial-old-space-size=256", "--external-memory-accounted-in-global-limit", "/app/services/edge/dist/main.js"]
# after ENTRYPOINT: setting ENTRYPOINT clears an inherited CMD
CMD ["--config", "/etc/codio/codio.toml"]

FROM runtime AS relay
COPY deploy/docker/relay.toml /etc/codio/codio.toml
ENV HEALTHCHECK_URL=http://127.0.0.1:7080/healthz
EXPOSE 7080 7081 4001 4001/udp 4002
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--initial-old-space-size=256", "--external-memory-accounted-in-global-limit", "/app/services/relay/dist/main.js"]
# after ENTRYPOINT: setting ENTRYPOINT clears an inherited CMD
CMD ["--config", "/etc/codio/codio.toml"]

FROM runtime AS origin
COPY deploy/docker/origin.toml /etc/codio/codio.toml
ENV HEALTHCHECK_URL=http://127.0.0.1:7070/healthz
EXPOSE 7070 7071 4001 4001/udp 4002
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--initial-old-space-size=256", "--external-memory-accounted-in-global-limit", "/app/services/origin/dist/main.js"]
# after ENTRYPOINT: setting ENTRYPOINT clears an inherited CMD
CMD ["--config", "/etc/codio/codio.toml"]

FROM runtime AS tracker
COPY deploy/docker/tracker.toml /etc/codio/codio.toml
ENV HEALTHCHECK_URL=http://127.0.0.1:7090/healthz
EXPOSE 7090 7091
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--initial-old-space-size=256", "--external-memory-accounted-in-global-limit", "/app/services/tracker/dist/main.js"]
# after ENTRYPOINT: setting ENTRYPOINT clears an inherited CMD
CMD ["--config", "/etc/codio/codio.toml"]
