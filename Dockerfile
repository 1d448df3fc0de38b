# syntax=docker/dockerfile:1
#
# mint container image: a release build of `mint` on debian:bookworm-slim, running as uid 10001, with
# the repository's sample home (conf/, repository/, registry/) as the default MINT_HOME.
#
#   docker build -t mint:0.1.0 .
#   docker run --rm --ulimit memlock=-1:-1 --security-opt seccomp=mint-io-uring.json \
#       -p 8290:8290 -p 8253:8253 -p 9201:9201 mint:0.1.0
#
# io_uring needs locked memory and a seccomp profile that allows io_uring_setup, io_uring_enter and
# io_uring_register, which Docker's default profile blocks since Engine 25.0. mint-io-uring.json is
# Docker's default profile plus those three calls (a jq one-liner in docs/operations.md, section 2);
# seccomp=unconfined also works, without any syscall filtering.

ARG RUST_IMAGE=rust:1-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

# ---- build -------------------------------------------------------------------------------------
FROM ${RUST_IMAGE} AS build
# rust:*-bookworm already has gcc/g++/make: enough for aws-lc-sys (non-FIPS needs no cmake, Go or
# bindgen on x86_64/aarch64 Linux) and for the other crates. Nothing else to install.
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# Cargo.toml declares [[bench]] targets: cargo refuses the manifest when their files are missing.
COPY benches ./benches
COPY src ./src
# The release profile keeps line tables (debug = 1) for profiling; the image strips them.
RUN --mount=type=cache,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,target=/src/target,sharing=locked \
    cargo build --release --locked --bin mint \
    && install -D -m 0755 target/release/mint /out/mint \
    && strip --strip-debug /out/mint

# ---- runtime -----------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# ca-certificates: https:// backends are verified against the system roots (rustls-native-certs).
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 mint \
    && useradd --system --uid 10001 --gid 10001 --home-dir /opt/mint --no-create-home \
        --shell /usr/sbin/nologin mint

COPY --from=build /out/mint /usr/local/bin/mint

# The default home. conf/ and repository/ stay owned by root (mint only reads them); registry/ belongs
# to mint because property scope="registry" writes (and registry resources taken from CARs) land there.
COPY --chown=0:0 conf /opt/mint/conf
COPY --chown=0:0 repository /opt/mint/repository
COPY --chown=10001:10001 registry /opt/mint/registry
RUN mkdir -p /opt/mint/repository/deployment/server/carbonapps

ENV MINT_HOME=/opt/mint
WORKDIR /opt/mint

# Fail the build when the shipped artifacts do not validate (`check` needs no io_uring).
RUN ["/usr/local/bin/mint", "check"]

USER 10001:10001
# HTTP 8280+offset, HTTPS 8243+offset, internal API (/liveness, /healthz, /metric-service/metrics)
# 9191+offset, with the default offset 10 of conf/deployment.toml.
EXPOSE 8290 8253 9201
# SIGTERM: stop accepting, drain in-flight requests for up to [server] drain_timeout_ms, exit 0.
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/mint"]
CMD ["serve"]
