#!/usr/bin/env bash
# Pins the action's image by digest: rewrites the one `runs.image` line of action.yml from the
# version tag main keeps (docker://ghcr.io/OWNER/marketplace-release:vX.Y.Z) to the digest the
# release workflow just pushed (docker://ghcr.io/OWNER/marketplace-release@sha256:…), and
# changes nothing else. .github/workflows/release.yml runs it with the build step's digest
# output, commits the result and tags that commit, so a user who pins the action by the tag's
# commit SHA also runs exactly the image that was built for it.
#
#   scripts/pin-action-image.sh sha256:<64 hex> [path/to/action.yml]
#
# A malformed digest, or an action.yml without exactly one tag-pinned image line, is refused and
# the file is left as it was; the new file replaces the old one in one rename, keeping its mode.
set -euo pipefail

usage="usage: $0 sha256:<64 lowercase hex digits> [action.yml]"
digest="${1:-}"
file="${2:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/action.yml}"

if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "$usage" >&2
  exit 2
fi
if ! [[ "$digest" =~ ^sha256:[0-9a-f]{64}$ ]]; then
  echo "pin-action-image: '$digest' is not an image digest; pass the build step's digest output, sha256: and 64 lowercase hex digits ($usage)" >&2
  exit 1
fi
if [ ! -f "$file" ]; then
  echo "pin-action-image: $file does not exist; pass the path of action.yml" >&2
  exit 1
fi

# The line main keeps: two spaces (under `runs:`), the image by its version tag.
tagged='^  image: docker://(ghcr\.io/[a-z0-9._-]+/marketplace-release):v[0-9]+\.[0-9]+\.[0-9]+$'
count="$(grep -cE "$tagged" "$file" || true)"
images="$(grep -cE '^[[:space:]]*image:[[:space:]]*["'"'"']?docker://' "$file" || true)"
if [ "$count" != 1 ] || [ "$images" != 1 ]; then
  echo "pin-action-image: $file must have exactly one docker:// image line, '  image: docker://ghcr.io/OWNER/marketplace-release:vX.Y.Z' under runs:, and has $images image line(s), $count of them in that form; restore the tag-pinned line main keeps" >&2
  exit 1
fi

tmp="$(mktemp "$file.pin.XXXXXX")"
trap 'rm -f "$tmp"' EXIT
# sed -E with the same pattern: only the matching line changes, every other byte stays.
sed -E "s#${tagged}#  image: docker://\\1@${digest}#" "$file" >"$tmp"
chmod --reference="$file" "$tmp"
mv "$tmp" "$file"
trap - EXIT
echo "pin-action-image: $file runs $(sed -nE 's/^  image: docker:\/\///p' "$file")"
