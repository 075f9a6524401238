# Multi-stage build of the marketplace-release action image.
# The build stage compiles a static release binary; the final stage holds only the binary,
# CA certificates and the bundled templates. (The action issue adds the prebuilt-image
# release pipeline; until then `runs.image: Dockerfile` builds this on the runner.)
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY templates ./templates
COPY benches ./benches
RUN RUSTFLAGS='-C target-feature=+crt-static' \
    cargo build --release --locked --target x86_64-unknown-linux-gnu \
 && cp target/x86_64-unknown-linux-gnu/release/marketplace-release /marketplace-release

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /marketplace-release /usr/local/bin/marketplace-release
COPY templates /templates
ENTRYPOINT ["/usr/local/bin/marketplace-release"]
