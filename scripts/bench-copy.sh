#!/usr/bin/env bash
# Benchmark of the copy stage: copy one image to 30 regions against moto, with the test proxy
# keeping every copy `pending` for T seconds (default 60), using the default poll schedule.
# Prints the wall time against T and the DescribeImages calls per region.
#
#   bash scripts/bench-copy.sh [T_SECONDS]
#
# Needs the venv from scripts/test.sh (moto[server]).
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
delay="${1:-60}"
venv="${MARKETPLACE_RELEASE_VENV:-$repo/.venv}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/marketplace-release/target}"
cargo build --quiet --manifest-path "$repo/Cargo.toml"
bin="$CARGO_TARGET_DIR/debug/marketplace-release"

work="$(mktemp -d)"
port() { "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
moto_port="$(port)"; proxy_port="$(port)"
MOTO_IAM_LOAD_MANAGED_POLICIES=true "$venv/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 & moto_pid=$!
"$venv/bin/python" "$repo/tests/support/ec2_proxy.py" "$proxy_port" "http://127.0.0.1:$moto_port" >/dev/null & proxy_pid=$!
trap 'kill $moto_pid $proxy_pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do curl -s "http://127.0.0.1:$proxy_port/__control/stats" >/dev/null 2>&1 && break; sleep 0.1; done
curl -s -X POST -d "{\"copy_delay_s\": $delay}" "http://127.0.0.1:$proxy_port/__control/scenario" >/dev/null

regions="us-east-1 us-east-2 us-west-1 us-west-2 af-south-1 ap-east-1 ap-east-2 ap-northeast-1 ap-northeast-2 ap-northeast-3 ap-south-1 ap-south-2 ap-southeast-1 ap-southeast-2 ap-southeast-3 ap-southeast-4 ap-southeast-5 ap-southeast-7 ca-central-1 ca-west-1 eu-central-1 eu-central-2 eu-north-1 eu-south-1 eu-south-2 eu-west-1 eu-west-2 eu-west-3 il-central-1 sa-east-1"
mkdir -p "$work/build"
echo 'echo build' > "$work/build/install.sh"
{
  printf 'product: {name: Bench}\ntemplates: [{path: t.yaml}]\nregions:\n'
  for r in $regions; do printf '  - %s\n' "$r"; done
  printf 'build: {base-ami: {owner: amazon, name: x}, script: build/install.sh}\n'
  printf 'load-form: {release-notes: x, access-role-arn: "arn:aws:iam::123456789012:role/R", os-user-name: u, os-name: n, os-version: "1", recommended-instance-type: t3.large, security-groups: [{protocol: tcp, from-port: 22, to-port: 22, cidr: 0.0.0.0/0}], usage-instructions: x}\n'
} > "$work/config.yml"

export AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
source_image="$("$venv/bin/python" - "$moto_port" <<'PY'
import sys, boto3
ec2 = boto3.client("ec2", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", aws_access_key_id="t", aws_secret_access_key="t")
# The load form's ingestion role, which the seller checks read before anything is made.
iam = boto3.client("iam", region_name="us-east-1", endpoint_url=f"http://127.0.0.1:{sys.argv[1]}", aws_access_key_id="t", aws_secret_access_key="t")
trust = '{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "assets.marketplace.amazonaws.com"}, "Action": "sts:AssumeRole"}]}'
iam.create_role(RoleName="R", AssumeRolePolicyDocument=trust)
iam.attach_role_policy(RoleName="R", PolicyArn="arn:aws:iam::aws:policy/AWSMarketplaceAmiIngestion")
print(ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"])
PY
)"
start=$(date +%s.%N)
(cd "$work" && "$bin" copy --config config.yml --version 1.0.0 --image "$source_image" --manifest manifest.json 2>"$work/log") || { cat "$work/log"; exit 1; }
end=$(date +%s.%N)
curl -s "http://127.0.0.1:$proxy_port/__control/stats" > "$work/stats.json"
"$venv/bin/python" - "$work/stats.json" "$start" "$end" "$delay" <<'PY'
import json, sys
stats, start, end, delay = json.load(open(sys.argv[1])), float(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
calls = stats["calls"]
describe = [v for k, v in calls.items() if k.startswith("DescribeImages ") and not k.endswith("us-east-1")]
copies = sum(v for k, v in calls.items() if k.startswith("CopyImage "))
total = end - start
print(f"copy to 30 regions ({copies} copies), each pending {delay:.0f} s: {total:.1f} s = {total / delay:.2f} x T")
print(f"DescribeImages per copied region: min {min(describe)}, mean {sum(describe) / len(describe):.1f}, max {max(describe)}")
PY
