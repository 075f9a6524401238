# syntax=docker/dockerfile:1
# The marketplace-release action image. .github/workflows/release.yml builds it for linux/amd64
# and linux/arm64 on each version tag and pushes it to ghcr.io; action.yml runs that image.
#
# The build stage compiles a static release binary: glibc linked in (crt-static), so the final
# stage needs no libc. scripts/container-binary.sh builds the same way for the tests, which run
# the binary in an empty root holding only what the final stage copies.
FROM rust:1.95-bookworm AS build
ARG TARGETARCH
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY templates ./templates
COPY benches ./benches
# The target is named so that RUSTFLAGS reach only the binary, not build scripts or proc macros.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target,sharing=locked \
    case "${TARGETARCH:-amd64}" in \
      amd64) arch=x86_64 ;; \
      arm64) arch=aarch64 ;; \
      *) echo "unsupported architecture ${TARGETARCH}" >&2; exit 1 ;; \
    esac \
 && RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --release --locked --target "${arch}-unknown-linux-gnu" \
 && cp "target/${arch}-unknown-linux-gnu/release/marketplace-release" /marketplace-release

# GitHub runs container actions as root, with the workspace mounted at /github/workspace.
FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /marketplace-release /usr/local/bin/marketplace-release
COPY templates /templates
ENTRYPOINT ["/usr/local/bin/marketplace-release"]
