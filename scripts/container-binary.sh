#!/usr/bin/env bash
# Builds the release binary exactly as the Dockerfile's build stage does (static glibc, --locked,
# release profile) for this machine's architecture, and prints its path. The container tests run
# it in an empty root holding only the files the Dockerfile's final stage copies.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/marketplace-release/target}"
arch="$(uname -m)"
RUSTFLAGS='-C target-feature=+crt-static' \
  cargo build --quiet --release --locked --target "${arch}-unknown-linux-gnu" >&2
echo "$CARGO_TARGET_DIR/${arch}-unknown-linux-gnu/release/marketplace-release"
