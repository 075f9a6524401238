# The marketplace-release action image. .github/workflows/release.yml builds it for linux/amd64
# and linux/arm64 when a release is dispatched, pushes it to ghcr.io, and commits action.yml
# with the pushed digest on the release tag (main's action.yml keeps the :vX.Y.Z reference).
# No `# syntax=` line: it would pull the docker/dockerfile frontend by a movable tag at build
# time; BuildKit's built-in frontend has RUN --mount.
#
# The build stage compiles a static release binary: glibc linked in (crt-static), so the final
# stage needs no libc. scripts/container-binary.sh builds the same way for the tests, which run
# the binary in an empty root holding only what the final stage copies.
#
# The base image is pinned by the digest of its multi-platform index, as published in
# docker-library/repo-info (source: https://github.com/docker-library/repo-info/blob/ebcb438d63982e858c28eb209e0cf5e1b6de0999/repos/rust/remote/1.98.1-bookworm.md);
# scripts/verify-pins.sh, run by the release workflow, fails when the tag no longer points there.
FROM rust:1.98.1-bookworm@sha256:9a73a5088750b4c95158ab26629c854c3d6fc4b173cb7bc8079ad252d8ed7bfa AS build
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
