# syntax=docker/dockerfile:1
# nextneck serve in a container: the webhook server, dashboard, API and
# /metrics, with the SQLite store on a volume (or PostgreSQL: see
# deploy/compose.yaml).
#
#   docker build -t nextneck .
#   docker run -p 8080:8080 -v nextneck-data:/var/lib/nextneck \
#     -e NEXTNECK_GITHUB_SECRET=... nextneck
#
# Other commands: docker run --rm --entrypoint nextneck nextneck report --db ...

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p nextneck-cli --bin nextneck \
    && cp target/release/nextneck /usr/local/bin/nextneck

FROM debian:bookworm-slim
# curl for the health check, CA certificates for posting digests over HTTPS.
# Not pinned: bookworm's security updates should reach the image on rebuild.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates curl \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/nextneck --create-home nextneck
COPY --from=build /usr/local/bin/nextneck /usr/local/bin/nextneck
USER 10001:10001
WORKDIR /var/lib/nextneck
# The store (and a nextneck.toml, if you mount one here) live on the volume.
VOLUME ["/var/lib/nextneck"]
ENV NEXTNECK_DB=sqlite:/var/lib/nextneck/nextneck.db \
    NEXTNECK_LISTEN=0.0.0.0:8080
EXPOSE 8080
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
    CMD ["sh", "-c", "curl -fsS \"http://127.0.0.1:${NEXTNECK_LISTEN##*:}/healthz\" > /dev/null || exit 1"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["nextneck", "serve"]
