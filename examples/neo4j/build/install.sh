#!/bin/bash
# Installs the product on the builder instance. marketplace-release wraps this script with its
# user-data wrapper, which then applies the Marketplace hardening and powers the builder off.
set -euo pipefail
rpm --import https://debian.neo4j.com/neotechnology.gpg.key
cat > /etc/yum.repos.d/neo4j.repo <<'REPO'
[neo4j]
name=Neo4j RPM Repository
baseurl=https://yum.neo4j.com/stable/5
enabled=1
gpgcheck=1
REPO
NEO4J_ACCEPT_LICENSE_AGREEMENT=yes dnf install -y "neo4j-enterprise-${MARKETPLACE_RELEASE_VERSION}"
systemctl enable neo4j
