#!/bin/bash
# Checks that the product works on the test instance the verify stage boots from the new AMI
# (after the built-in checks: neo4j.service is active, SSH hardened, no keys, cloud-init done).
# Exit 0 means it works; the output goes to the instance's console, which the release shows
# when the check fails.
set -euo pipefail
# The right version is installed.
installed=$(rpm -q --queryformat '%{VERSION}' neo4j-enterprise)
if [ "$installed" != "$MARKETPLACE_RELEASE_VERSION" ]; then
  echo "neo4j-enterprise $installed is installed, not $MARKETPLACE_RELEASE_VERSION"
  exit 1
fi
# The HTTP endpoint answers (Neo4j takes a while to open it after the service starts).
for _ in $(seq 1 30); do
  if curl -fsS http://localhost:7474/ >/dev/null; then
    echo "neo4j answers on :7474"
    exit 0
  fi
  sleep 4
done
echo "neo4j did not answer on http://localhost:7474/ within two minutes"
exit 1
