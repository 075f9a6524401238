#!/usr/bin/env bash
# Re-resolves every pin against its public record and fails on a mismatch. The release workflow
# runs it before it builds anything (our own machines cannot reach GitHub or Docker Hub):
# - each `uses: OWNER/REPO@<40 hex> # vX.Y.Z (source: …)` in .github/workflows/*.yml: the tag
#   vX.Y.Z of github.com/OWNER/REPO, as `git ls-remote` reads it (the commit an annotated tag
#   points to), must be that commit;
# - the Dockerfile's `FROM IMAGE:TAG@sha256:…`: the digest `docker buildx imagetools inspect
#   IMAGE:TAG` reads from the registry must be that digest.
# A tag that moved is a mismatch: read the new commit or digest at its source, see what changed,
# then update the pin and its comment. `uses:` lines without a SHA are the tag-pinned ones that
# tests/release_workflow.rs allows (with a reason); they are listed, not resolved.
#
#   scripts/verify-pins.sh          re-resolve every pin (needs the network)
#   scripts/verify-pins.sh --list   print the pins found, one per line, and resolve nothing
#
# MARKETPLACE_RELEASE_PIN_GIT_BASE replaces https://github.com (a directory of repositories
# OWNER/REPO, for the tests); DOCKER replaces the docker command.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
list=false
case "${1:-}" in
  --list) list=true ;;
  "") ;;
  *) echo "usage: $0 [--list]" >&2; exit 2 ;;
esac
git_base="${MARKETPLACE_RELEASE_PIN_GIT_BASE:-https://github.com}"
docker="${DOCKER:-docker}"
status=0

fail() { # file, line, message
  echo "::error file=$1,line=$2::$3"
  status=1
}

uses_re='^[[:space:]]*(-[[:space:]]+)?uses:[[:space:]]*([^[:space:]]+)'
pinned_re='^([A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+)(/[^@]*)?@([0-9a-f]{40})$'
comment_re='#[[:space:]]+(v[0-9]+(\.[0-9]+)*)[[:space:]]+\(source:[[:space:]]+[^)]+\)[[:space:]]*$'
for file in .github/workflows/*.yml; do
  n=0
  while IFS= read -r line || [ -n "$line" ]; do
    n=$((n + 1))
    [[ "$line" =~ $uses_re ]] || continue
    ref="${BASH_REMATCH[2]}"
    if ! [[ "$ref" =~ $pinned_re ]]; then
      echo "tag-pinned $file:$n $ref"
      continue
    fi
    action="${BASH_REMATCH[1]}" sha="${BASH_REMATCH[3]}"
    if ! [[ "$line" =~ $comment_re ]]; then
      fail "$file" "$n" "$action@$sha has no '# vX.Y.Z (source: …)' comment naming the tag it was read from; add it"
      continue
    fi
    tag="${BASH_REMATCH[1]}"
    echo "action $file:$n $action $tag $sha"
    "$list" && continue
    # Both the tag and, for an annotated tag, the commit it points to (the ^{} line).
    refs="$(git ls-remote "$git_base/$action" "refs/tags/$tag" "refs/tags/$tag^{}")" || {
      fail "$file" "$n" "git ls-remote $git_base/$action failed; check that the repository exists and is reachable"
      continue
    }
    resolved="$(awk -v t="refs/tags/$tag^{}" '$2 == t { print $1 }' <<<"$refs")"
    [ -n "$resolved" ] || resolved="$(awk -v t="refs/tags/$tag" '$2 == t { print $1 }' <<<"$refs")"
    if [ -z "$resolved" ]; then
      fail "$file" "$n" "$action has no tag $tag; pin a tag that exists, with the commit it points to"
    elif [ "$resolved" != "$sha" ]; then
      fail "$file" "$n" "$action tag $tag is commit $resolved, the pin says $sha; read what changed at $git_base/$action, then update the pin and its comment"
    fi
  done <"$file"
done

n=0
while IFS= read -r line || [ -n "$line" ]; do
  n=$((n + 1))
  [[ "$line" =~ ^FROM[[:space:]]+([^[:space:]]+) ]] || continue
  image="${BASH_REMATCH[1]}"
  [ "$image" = scratch ] && continue
  if ! [[ "$image" =~ ^([^@]+:[^@:]+)@(sha256:[0-9a-f]{64})$ ]]; then
    fail Dockerfile "$n" "the base image $image is not pinned as IMAGE:TAG@sha256:…; pin it by the digest its published repo-info lists"
    continue
  fi
  tagged="${BASH_REMATCH[1]}" digest="${BASH_REMATCH[2]}"
  echo "image Dockerfile:$n $tagged $digest"
  "$list" && continue
  # The default output starts with Name:, MediaType: and Digest: (the index's digest).
  resolved="$("$docker" buildx imagetools inspect "$tagged" | awk '$1 == "Digest:" { print $2; exit }')" || true
  if [ -z "$resolved" ]; then
    fail Dockerfile "$n" "docker buildx imagetools inspect $tagged read no digest; check that the tag exists"
  elif [ "$resolved" != "$digest" ]; then
    fail Dockerfile "$n" "$tagged is now $resolved, the pin says $digest; read the new digest in docker-library/repo-info, check what changed, then update the pin and its comment"
  fi
done <Dockerfile

if [ "$status" -eq 0 ] && ! "$list"; then
  echo "verify-pins: every pin matches its source"
fi
exit "$status"
