#!/usr/bin/env bash
# The layout rules of ARCHITECTURE.md, checked on the tree (run by .ci/run):
# - the floors: every import points down, no import circle between files, no stage names
#   another stage's file, one AWS config load site, the environment read on top, and the
#   size limits (functions and files): scripts/layout.py;
# - only src/aws/ names the AWS SDK crates, and only src/github/ names octocrab;
# - nothing below the front ends prints: print!/println!/eprint!/eprintln! appear only in the
#   front ends (src/cli/, src/action/, src/main.rs) and src/output/ (clippy's
#   print_stdout/print_stderr lints enforce the same);
# - serde_yaml is used only by the config and the action's input overrides (and the template
#   proof, which needs a YAML loader that is not ours).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
status=0
offenders() { # pattern, allowed path regex
  grep -rnE "$1" src --include='*.rs' | grep -vE ':[0-9]+:\s*//' | grep -vE "^($2)" || true
}
check() { # what, pattern, allowed path regex
  local found
  found="$(offenders "$2" "$3")"
  if [ -n "$found" ]; then
    echo "layout: $1 outside the modules that own it:" >&2
    echo "$found" >&2
    status=1
  fi
}
check "the AWS SDK crates" '\baws_(sdk_[a-z0-9_]+|config|smithy_[a-z_]+|types|credential_types)\b' 'src/aws/|src/main\.rs:[0-9]+:.*SDK_DEBUG_LOG'
check "octocrab" '\boctocrab\b' 'src/github(\.rs|/)'
check "printing" '\b(e?print(ln)?)!\(' 'src/cli/|src/action/|src/main\.rs|src/output/'
check "serde_yaml" '\bserde_yaml\b' 'src/config/|src/action/inputs\.rs|src/template/'
python3 scripts/layout.py || status=1
if [ "$status" -eq 0 ]; then
  echo "layout: adapters own their SDKs; only the front ends and output/ print"
fi
exit "$status"
