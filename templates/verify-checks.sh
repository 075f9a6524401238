# marketplace-release: the verification checks, run on an instance booted from the new AMI once
# cloud-init has finished. Each check prints one line on the serial console:
#   MARKETPLACE-RELEASE-CHECK run=<run id> name=<check> status=passed|failed|skipped seconds=<n> detail=<text>
# and the last line is the result marker:
#   MARKETPLACE-RELEASE-RESULT run=<run id> status=success|failed exit=<failed checks>
# Set before it runs: MR_RUN_ID, MR_SERVICE (a systemd unit, or empty), MR_SCRIPT (the verify
# script's path, or empty), MR_VERSION, and MR_ROOT (the file system's root: empty on the
# instance; the tests point it at a planted tree).

mr_failed=0

# report NAME STATUS STARTED DETAIL: one check line; the detail is kept to one line.
mr_report() {
  local detail
  detail=$(printf '%s' "$4" | tr '\r\n\t' '   ' | cut -c1-400)
  echo "MARKETPLACE-RELEASE-CHECK run=$MR_RUN_ID name=$1 status=$2 seconds=$(( $(date +%s) - $3 )) detail=$detail"
  if [ "$2" = failed ]; then mr_failed=$((mr_failed + 1)); fi
}

# cloud-init finished without errors. `cloud-init status --wait` exits 0 when it is done, 1 on
# an error and 2 on a recoverable error (cloud-init >= 23.4: deprecated keys, warnings), which
# does not stop the instance from working: that passes, and says so.
mr_check_cloud_init() {
  local started out rc
  started=$(date +%s)
  if ! command -v cloud-init >/dev/null 2>&1; then
    mr_report cloud-init skipped "$started" "cloud-init is not installed"
    return
  fi
  out=$(cloud-init status --wait --long 2>&1)
  rc=$?
  case $rc in
    0) mr_report cloud-init passed "$started" "$(printf '%s\n' "$out" | grep -m1 -i '^status:')" ;;
    2) mr_report cloud-init passed "$started" "done with recoverable errors: $(printf '%s\n' "$out" | grep -i -A3 'recoverable' | head -4)" ;;
    *) mr_report cloud-init failed "$started" "cloud-init status exit $rc: $(printf '%s\n' "$out" | tail -5)" ;;
  esac
}

# The product's systemd unit is active, within two minutes of cloud-init finishing.
mr_check_service() {
  local started state i
  started=$(date +%s)
  if [ -z "${MR_SERVICE:-}" ]; then
    mr_report service skipped "$started" "no verify.service named"
    return
  fi
  state=unknown
  for i in $(seq 1 60); do
    state=$(systemctl is-active "$MR_SERVICE" 2>&1)
    case $state in
      active) mr_report service passed "$started" "$MR_SERVICE is active"; return ;;
      failed) break ;;
    esac
    sleep 2
  done
  mr_report service failed "$started" "$MR_SERVICE is $state: $(systemctl status --no-pager --lines=5 "$MR_SERVICE" 2>&1 | tail -5)"
}

# SSH as sshd will run it: no password login, no root login with a password (AWS Marketplace
# AMI policy; `prohibit-password`, its alias `without-password` and `forced-commands-only`
# allow root only with a key, and no key ships in the image).
mr_check_sshd() {
  local started out rc password root
  started=$(date +%s)
  out=$(sshd -T 2>&1)
  rc=$?
  if [ $rc -ne 0 ]; then
    mr_report sshd failed "$started" "sshd -T failed (exit $rc): $(printf '%s\n' "$out" | tail -3)"
    return
  fi
  password=$(printf '%s\n' "$out" | awk 'tolower($1) == "passwordauthentication" { print tolower($2); exit }')
  root=$(printf '%s\n' "$out" | awk 'tolower($1) == "permitrootlogin" { print tolower($2); exit }')
  if [ "$password" != no ]; then
    mr_report sshd failed "$started" "password login is on (passwordauthentication ${password:-not reported})"
  elif [ "$root" != no ] && [ "$root" != prohibit-password ] && [ "$root" != without-password ] && [ "$root" != forced-commands-only ]; then
    mr_report sshd failed "$started" "root may log in with a password (permitrootlogin ${root:-not reported})"
  else
    mr_report sshd passed "$started" "passwordauthentication no, permitrootlogin $root"
  fi
}

# No authorized key anywhere on the root file system (a file holding only blank lines or
# comments is no key; the instance was launched without a key pair).
mr_check_authorized_keys() {
  local started found f
  started=$(date +%s)
  found=""
  while IFS= read -r f; do
    if grep -qvE '^[[:space:]]*(#|$)' "$f" 2>/dev/null; then found="$found ${f#"$MR_ROOT"}"; fi
  done < <(find "$MR_ROOT/" -xdev \( -name authorized_keys -o -name authorized_keys2 \) -type f 2>/dev/null)
  if [ -n "$found" ]; then
    mr_report authorized-keys failed "$started" "keys found in:$found"
  else
    mr_report authorized-keys passed "$started" "no authorized_keys with a key"
  fi
}

# No shell history of any user.
mr_check_shell_history() {
  local started found
  started=$(date +%s)
  found=$(find "$MR_ROOT/root" "$MR_ROOT/home" -maxdepth 2 -type f -size +0 \( -name '.*_history' -o -name '.history' \) 2>/dev/null | sed "s|^$MR_ROOT||" | tr '\n' ' ')
  if [ -n "$found" ]; then
    mr_report shell-history failed "$started" "history files: $found"
  else
    mr_report shell-history passed "$started" "no shell history"
  fi
}

# The vendor's verify script: exit 0 means the product works.
mr_check_script() {
  local started rc
  started=$(date +%s)
  if [ -z "${MR_SCRIPT:-}" ]; then
    mr_report script skipped "$started" "no verify.script given"
    return
  fi
  echo "marketplace-release: running the verify script"
  MARKETPLACE_RELEASE_VERSION="$MR_VERSION" MARKETPLACE_RELEASE_RUN_ID="$MR_RUN_ID" bash "$MR_SCRIPT"
  rc=$?
  if [ $rc -eq 0 ]; then
    mr_report script passed "$started" "exit code 0"
  else
    mr_report script failed "$started" "exit code $rc"
  fi
}

# Every check, the built-in ones first, then the result marker.
mr_verify() {
  mr_check_cloud_init
  mr_check_service
  mr_check_sshd
  mr_check_authorized_keys
  mr_check_shell_history
  mr_check_script
  if [ "$mr_failed" -eq 0 ]; then
    echo "MARKETPLACE-RELEASE-RESULT run=$MR_RUN_ID status=success exit=0"
  else
    echo "MARKETPLACE-RELEASE-RESULT run=$MR_RUN_ID status=failed exit=$mr_failed"
  fi
}
