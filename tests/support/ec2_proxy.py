"""A proxy in front of moto's EC2 that plays what moto cannot.

moto never runs user-data, never powers an instance off, answers a fixed console text, makes
every copy available at once, does not implement GetImageBlockPublicAccessState, and is kinder
than EC2 in the ways the AWS documentation warns about. This proxy forwards everything to moto
and, per the scenario JSON posted to /__control/scenario (each key optional):

- `builder`: plays the builder. Reads the run ID from the RunInstances user-data, stops the
  instance after `builder.stop_after_s` seconds (default 0.3; never when null), and serves a
  console (GetConsoleOutput) with the `builder.log` lines and the wrapper's result marker
  (`builder.exit`, default 0; no marker with `builder.marker: false`);
- `verifier`: plays the verify stage's test instance the same way (recognised by its
  user-data, which sets `MR_RUN_ID`): stops it after `verifier.stop_after_s` seconds (default
  0.3; never when null: an instance that never reports), and serves a console with one
  `MARKETPLACE-RELEASE-CHECK` line per check the user-data runs (the names its check script
  reports, without `service` or `script` when the user-data names no unit or script), each
  passed unless `verifier.fail` (`{check name: detail}`) fails it, then the result marker
  (none with `verifier.marker: false`);
- `copy_delay_s`: keeps copies `pending` for that many seconds after CopyImage;
- `fail_copy_regions`: reports copies made into these regions as `failed`;
- `throttle`: `{region: {Action: N}}` answers `RequestLimitExceeded` to the first N calls;
- `block_public_access`: regions where GetImageBlockPublicAccessState answers `block-new-sharing`;
- `enabled_regions`: the regions DescribeRegions lists (default: every region moto lists);
- `disabled_regions`: opt-in regions that are not enabled: left out of DescribeRegions unless
  AllRegions=true (then `not-opted-in`), and every call signed for one answers `AuthFailure`;
- `not_found_s` (default 0): eventual consistency. For that many seconds after the proxy sees an
  instance (RunInstances), an image (CreateImage, CopyImage) or the snapshots of such an image
  created, calls naming the ID answer `InvalidInstanceID.NotFound` / `InvalidAMIID.NotFound` /
  `InvalidSnapshot.NotFound`, and Describe calls without IDs leave the item out;
- `console_lag_s` (default 0): GetConsoleOutput of a builder answers an empty `<output>` until
  that many seconds after the builder was stopped;
- (always) GetConsoleOutput with Latest=true on an instance launched with a Xen (non-Nitro)
  instance type answers `UnsupportedOperation`;
- `expire`: `{after_s, after_action, after_count, code, access_key}`: once triggered, every call
  signed with the access key answers `code` (default `RequestExpired`; or `ExpiredToken`,
  `AuthFailure`); other access keys pass;
- `ebs_encryption_by_default`: regions where EBS encryption by default is on: answers
  GetEbsEncryptionByDefault, reports images made there (CreateImage, CopyImage into) and their
  snapshots as encrypted, and refuses to make such images or snapshots public;
- `public_ami_quota` (default 5.0) and `service_quotas` (`"denied"` answers AccessDenied): the
  Service Quotas GetServiceQuota answer for EC2's "Public AMIs" quota (L-0E3CBAB9);
- `public_images`: `{region: N}` reports N extra public images owned by the account in
  DescribeImages with Owner=self and is-public=true;
- `reset_stats`: when true, posting the scenario zeroes the counters below;
- `stack`: plays CloudFormation, which moto serves but never fails (it skips resources it does
  not know and reports CREATE_COMPLETE at once). Read when CreateStack is called, for that stack:
  `create_s` (default 0; null: never) keeps it CREATE_IN_PROGRESS that long; `fail`
  (`{resource, type, reason}`) then fails that resource (the others are cancelled) and the stack
  goes on as its OnFailure says (DO_NOTHING, ROLLBACK, DELETE); CreateStack's TimeoutInMinutes
  fails a stack still creating; `delete_s` (default 0.2) is how long a deletion takes;
  `delete_fail` (`{resource, type, reason, times}`) ends the first `times` deletions (default
  all) DELETE_FAILED; `not_found_s` (default 0) answers DescribeStacks and DescribeStackEvents
  naming the new stack with ValidationError "does not exist" that long. Events
  (DescribeStackEvents) are the play's, newest first; moto's stack is deleted when the play's is.
  The `throttle` knob answers CloudFormation actions with `Throttling`.

- (not a scenario key: the environment variable `EC2_PROXY_CALL_LOG`, a file) logs every call
  it receives, before any fault above is played, one JSON line each, for `tests/common/iam.rs` to evaluate `iam/policy.json`
  against: `service` (the SigV4 scope's: ec2, sts, iam, servicequotas), `action`, `region`,
  `params` (the request's parameters, all but UserData) and `tags` (resource ID -> {key: value}:
  the tags moto holds, before the call, for the instances, images and snapshots the call names).

It also applies CopyImage's tag specifications and CreateImage's snapshot tag specifications,
which moto ignores or fails on. GET /__control/stats answers the counters: `calls`, `throttled`,
`not_found`, `expired`, `unsupported`, `auth_failure` (each "Action region" -> count),
`in_flight_max` and `in_flight_max_by_service` (most requests in flight at once), and the
`builders` (instance ID -> run ID and region) and `imds` (image ID -> ImdsSupport) it saw, and
the `stacks` it played (stack ID -> name, region, status now, role ARN, tags, whether moto's
stack is deleted).

Usage: ec2_proxy.py LISTEN_PORT MOTO_URL
"""

import base64
import gzip
import json
import os
import re
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from xml.sax.saxutils import escape

EC2_NS = "http://ec2.amazonaws.com/doc/2016-11-15/"
ACCOUNT = "123456789012"  # moto's default account

LOCK = threading.Lock()
COUNTERS = ("calls", "throttled", "not_found", "expired", "unsupported", "auth_failure")
STATE = {
    "scenario": {},
    "builders": {},  # instance id -> {"run_id", "region", "role" (builder|verifier), "checks"}
    "copies": {},  # image id -> {"region", "created"}
    "calls": {},  # "Action region" -> count
    "throttled": {},  # "Action region" -> count answered with RequestLimitExceeded
    "not_found": {},  # "Action region" -> count answered with *.NotFound (eventual consistency)
    "expired": {},  # "Action region" -> count answered with the expired-credentials error
    "unsupported": {},  # "Action region" -> count answered with UnsupportedOperation
    "auth_failure": {},  # "Action region" -> count answered with AuthFailure (disabled region)
    "imds": {},  # image id -> ImdsSupport value set through ModifyImageAttribute
    "created": {},  # resource id -> {"kind": instance|image|snapshot, "at": monotonic}
    "instance_types": {},  # instance id -> instance type given to RunInstances
    "stopped_at": {},  # builder instance id -> monotonic time it was stopped
    "encrypted": set(),  # image and snapshot ids encrypted by EBS encryption by default
    "in_flight": {},  # service -> requests in flight now ("*": all)
    "in_flight_max": 0,
    "in_flight_max_by_service": {},
    "scenario_at": time.monotonic(),  # when the scenario was posted
    "scenario_actions": {},  # Action -> calls since the scenario was posted
    "first_access_key": None,  # access key of the first request since the scenario was posted
    "expired_triggered": False,
    "moto_regions": None,  # cached [(name, opt-in status)] from moto
    "stacks": {},  # stack id -> the play of a CloudFormation stack (see `play`)
}

# --- Documented behaviours -------------------------------------------------------------------
#
# Eventual consistency: "Eventual consistency in the Amazon EC2 API" (Amazon EC2 Developer
# Guide), https://docs.aws.amazon.com/ec2/latest/devguide/eventual-consistency.html : "if you
# run a command to modify or describe the resource that you just created, its ID might not have
# propagated throughout the system, and you will get an error responding that the resource does
# not exist", e.g. InvalidInstanceID.NotFound from DescribeInstances and TerminateInstances right
# after RunInstances. The error codes are in "Error codes for the Amazon EC2 API",
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html
# (InvalidInstanceID.NotFound, InvalidAMIID.NotFound, InvalidSnapshot.NotFound).
# Action -> parameters naming resource IDs ("Name" alone or "Name.N").
ID_PARAMS = {
    "DescribeInstances": "InstanceId",
    "TerminateInstances": "InstanceId",
    "GetConsoleOutput": "InstanceId",
    "ModifyInstanceAttribute": "InstanceId",
    "DescribeInstanceAttribute": "InstanceId",
    "DescribeImages": "ImageId",
    "ModifyImageAttribute": "ImageId",
    "DescribeImageAttribute": "ImageId",
    "DeregisterImage": "ImageId",
    "DescribeSnapshots": "SnapshotId",
    "ModifySnapshotAttribute": "SnapshotId",
    "DescribeSnapshotAttribute": "SnapshotId",
    "DeleteSnapshot": "SnapshotId",
    "CreateTags": "ResourceId",
    "DeleteTags": "ResourceId",
}
NOT_FOUND = {
    "instance": ("InvalidInstanceID.NotFound", "The instance ID '{}' does not exist"),
    "image": ("InvalidAMIID.NotFound", "The image id '[{}]' does not exist"),
    "snapshot": ("InvalidSnapshot.NotFound", "The snapshot '{}' does not exist."),
}

# `Latest` is Nitro-only: GetConsoleOutput API reference,
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetConsoleOutput.html : "By default,
# the console output returns buffered information that was posted shortly after an instance
# transition state (start, stop, reboot, or terminate) ... You can optionally retrieve the latest
# serial console output at any time during the instance lifecycle. This option is supported on
# instance types that use the Nitro hypervisor." The Nitro families are listed in "Instances built
# on the AWS Nitro System", https://docs.aws.amazon.com/ec2/latest/instancetypes/ec2-nitro-instances.html ;
# these families are not on it (Xen), except i3.metal and p3dn (a family of its own).
XEN_FAMILIES = {
    "t1", "t2", "m1", "m2", "m3", "m4", "c1", "c3", "c4", "r3", "r4", "x1", "x1e", "d2", "i2",
    "i3", "g2", "g3", "g3s", "p2", "p3", "cc1", "cc2", "cg1", "cr1", "hi1", "hs1",
}
LATEST_UNSUPPORTED = "The latest console output is only available on instance types built on the Nitro System."

# Expired credentials and disabled regions: "Error codes for the Amazon EC2 API",
# https://docs.aws.amazon.com/AWSEC2/latest/APIReference/errors-overview.html (common client
# errors AuthFailure, RequestExpired; ExpiredToken/ExpiredTokenException for an expired session
# token, see "Common Errors" https://docs.aws.amazon.com/AWSEC2/latest/APIReference/CommonErrors.html).
# EC2 answers AuthFailure with HTTP 401, the others with 400.
EXPIRED_MESSAGES = {
    "RequestExpired": "Request has expired.",
    "ExpiredToken": "The security token included in the request is expired",
    "AuthFailure": "AWS was not able to validate the provided access credentials",
}
# The same errors as a JSON-protocol service (Service Quotas) names them.
JSON_AUTH_ERRORS = {
    "RequestExpired": ("RequestExpired", 400, "Request has expired."),
    "ExpiredToken": ("ExpiredTokenException", 403, "The security token included in the request is expired"),
    "AuthFailure": ("UnrecognizedClientException", 403, "The security token included in the request is invalid."),
}

# The same errors as CloudFormation's Query protocol names them: "Common Errors" (AWS
# CloudFormation API Reference), https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html
# (ExpiredToken 403, InvalidClientTokenId 403, RequestExpired 400).
QUERY_AUTH_ERRORS = {
    "RequestExpired": ("RequestExpired", 400, "Request has expired."),
    "ExpiredToken": ("ExpiredToken", 403, "The security token included in the request is expired"),
    "AuthFailure": ("InvalidClientTokenId", 403, "The security token included in the request is invalid."),
}

# Service Quotas: GetServiceQuota API reference,
# https://docs.aws.amazon.com/servicequotas/2019-06-24/apireference/API_GetServiceQuota.html
# (errors AccessDeniedException, NoSuchResourceException); the EC2 "Public AMIs" quota, default 5
# per Region: "AMI quotas" (Amazon EC2 User Guide),
# https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ami-quotas.html ; its quota code is L-0E3CBAB9.
PUBLIC_AMI_QUOTA = "L-0E3CBAB9"


def credential_scope(headers):
    """(access key, region, service) from the SigV4 `Credential=AKID/date/region/service/` scope."""
    match = re.search(r"Credential=([^/,\s]+)/[0-9]+/([a-z0-9-]+)/([a-z0-9-]+)/", headers.get("Authorization", ""))
    return match.groups() if match else (None, "us-east-1", "ec2")


# Parameters naming the existing resources whose tags IAM conditions read (aws:ResourceTag/…):
# the Service Authorization Reference for Amazon EC2,
# https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html , lists
# aws:ResourceTag for the instance of CreateImage, GetConsoleOutput and TerminateInstances, the
# image of ModifyImageAttribute and DeregisterImage, and the snapshot of ModifySnapshotAttribute
# and DeleteSnapshot. Describe calls take no resource-level permissions.
TAGGED_TARGETS = {
    "CreateImage": "InstanceId",
    "GetConsoleOutput": "InstanceId",
    "TerminateInstances": "InstanceId",
    "ModifyImageAttribute": "ImageId",
    "DeregisterImage": "ImageId",
    "ModifySnapshotAttribute": "SnapshotId",
    "DeleteSnapshot": "SnapshotId",
    "CreateTags": "ResourceId",
}
CALL_LOG = os.environ.get("EC2_PROXY_CALL_LOG")


def log_call(service, action, region, params, tags):
    """Appends one line to the call log (see the module's docstring)."""
    if not CALL_LOG:
        return
    line = json.dumps(
        {
            "service": service,
            "action": action,
            "region": region,
            "params": {key: value for key, value in params.items() if key != "UserData"},
            "tags": tags,
        },
        sort_keys=True,
    )
    with LOCK:
        with open(CALL_LOG, "a", encoding="utf-8") as log:
            log.write(line + "\n")


def resource_tags(moto, region, resource_ids):
    """{resource ID: {key: value}} as moto holds them now (DescribeTags by resource-id)."""
    tags = {resource: {} for resource in resource_ids}
    if not resource_ids:
        return tags
    request = {"Action": "DescribeTags", "Filter.1.Name": "resource-id"}
    for n, resource in enumerate(resource_ids, 1):
        request[f"Filter.1.Value.{n}"] = resource
    body = moto_try(moto, region, request)
    if body:
        root, ns, _ = parse_xml(body)
        for item in root.iter(f"{ns}item"):
            resource = item.findtext(f"{ns}resourceId")
            if resource in tags:
                tags[resource][item.findtext(f"{ns}key") or ""] = item.findtext(f"{ns}value") or ""
    return tags


def region_of(headers):
    return credential_scope(headers)[1]


def moto_request(moto, region, params):
    body = urllib.parse.urlencode(params).encode()
    request = urllib.request.Request(moto + "/", data=body, method="POST")
    request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
    request.add_header(
        "Authorization",
        f"AWS4-HMAC-SHA256 Credential=testing/20260101/{region}/ec2/aws4_request, SignedHeaders=host, Signature=0",
    )
    with urllib.request.urlopen(request) as response:
        return response.read()


def moto_try(moto, region, params):
    """moto_request with the version filled in; None when moto answers an error."""
    try:
        return moto_request(moto, region, {**params, "Version": "2016-11-15"})
    except (urllib.error.URLError, OSError):
        return None


def run_id_from_user_data(encoded):
    try:
        data = base64.b64decode(encoded)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        match = re.search(rb"MARKETPLACE-RELEASE-RESULT run=([A-Za-z0-9_-]+) ", data)
        return match.group(1).decode() if match else None
    except Exception:  # noqa: BLE001 - any undecodable user-data simply has no run ID
        return None


def verifier_from_user_data(encoded):
    """(run ID, [check names]) of the verify stage's user-data, else None. The check names are
    those its check script reports (`mr_report NAME`), in order, less `service` and `script`
    when the user-data names no unit or script."""
    try:
        data = base64.b64decode(encoded)
        if data[:2] == b"\x1f\x8b":
            data = gzip.decompress(data)
        run = re.search(rb"MR_RUN_ID='([A-Za-z0-9_-]+)'", data)
        if not run:
            return None
        names = []
        for name in re.findall(rb"mr_report ([a-z-]+) ", data):
            if name.decode() not in names:
                names.append(name.decode())
        if b"MR_SERVICE=''" in data:
            names.remove("service")
        if b"MR_SCRIPT=''" in data:
            names.remove("script")
        return run.group(1).decode(), names
    except Exception:  # noqa: BLE001 - undecodable user-data is no test instance
        return None


def xml_error(code, message):
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>{code}</Code>'
        f"<Message>{escape(message)}</Message></Error></Errors><RequestID>proxy</RequestID></Response>"
    ).encode()


def indexed(params, name):
    """The values of `name` and `name.N`, in N order."""
    values = [params[name]] if name in params else []
    numbered = sorted(
        (int(key[len(name) + 1 :]), value)
        for key, value in params.items()
        if key.startswith(name + ".") and key[len(name) + 1 :].isdigit()
    )
    return values + [value for _, value in numbered]


def filters(params):
    """{filter name: [values]} from Filter.N.Name / Filter.N.Value.M."""
    out = {}
    for key, name in params.items():
        match = re.fullmatch(r"Filter\.(\d+)\.Name", key)
        if match:
            out.setdefault(name, []).extend(indexed(params, f"Filter.{match.group(1)}.Value"))
    return out


def tag_specifications(params):
    """[(resource type, [(key, value)])] from TagSpecification.N.*, in N order."""
    specs = []
    numbers = sorted({int(m.group(1)) for key in params if (m := re.match(r"TagSpecification\.(\d+)\.", key))})
    for n in numbers:
        prefix = f"TagSpecification.{n}."
        tags = []
        for m in sorted({int(t.group(1)) for key in params if (t := re.match(re.escape(prefix) + r"Tag\.(\d+)\.", key))}):
            tags.append((params.get(f"{prefix}Tag.{m}.Key", ""), params.get(f"{prefix}Tag.{m}.Value", "")))
        specs.append((params.get(prefix + "ResourceType", ""), tags))
    return specs


def without_tag_specifications(params, specs):
    """params with TagSpecification.* replaced by `specs`, numbered from 1."""
    out = {key: value for key, value in params.items() if not key.startswith("TagSpecification.")}
    for n, (kind, tags) in enumerate(specs, 1):
        out[f"TagSpecification.{n}.ResourceType"] = kind
        for m, (key, value) in enumerate(tags, 1):
            out[f"TagSpecification.{n}.Tag.{m}.Key"] = key
            out[f"TagSpecification.{n}.Tag.{m}.Value"] = value
    return out


def parse_xml(body):
    """(root, namespace prefix, namespace URI) of a moto response."""
    root = ET.fromstring(body)
    # Use the response's own namespace (moto's has no trailing slash).
    uri = root.tag[1 : root.tag.index("}")] if root.tag.startswith("{") else ""
    return root, (f"{{{uri}}}" if uri else ""), uri


def dump_xml(root, uri):
    ET.register_namespace("", uri)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def bump(counter, key):
    """Adds one to STATE[counter][key]; call with LOCK held."""
    STATE[counter][key] = STATE[counter].get(key, 0) + 1


def invisible(resource_id, scenario, now):
    """The kind of a resource this proxy saw created less than `not_found_s` ago, else None."""
    window = float(scenario.get("not_found_s", 0) or 0)
    created = STATE["created"].get(resource_id)
    if window <= 0 or created is None or now - created["at"] >= window:
        return None
    return created["kind"]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    moto = ""

    def log_message(self, *args):  # keep test output quiet
        pass

    def reply(self, status, body, content_type="text/xml", headers=()):
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def ec2_error(self, code, message):
        self.reply(401 if code == "AuthFailure" else 400, xml_error(code, message))

    def json_error(self, code, message, status=400):
        body = json.dumps({"__type": code, "message": message}).encode()
        self.reply(status, body, "application/x-amz-json-1.1", [("x-amzn-ErrorType", code)])

    def do_GET(self):
        if self.path == "/__control/stats":
            with LOCK:
                keys = ("calls", "throttled", "builders", "imds") + COUNTERS[2:]
                stats = {key: STATE[key] for key in keys}
                stats["in_flight_max"] = STATE["in_flight_max"]
                stats["in_flight_max_by_service"] = STATE["in_flight_max_by_service"]
                stacks = {stack_id: dict(stack) for stack_id, stack in STATE["stacks"].items()}
            now = time.monotonic()
            stats["stacks"] = {}
            for stack_id, stack in stacks.items():
                status, _, _ = self.play_and_apply(stack_id, now)
                stats["stacks"][stack_id] = {
                    "name": stack["name"], "region": stack["region"], "status": status,
                    "role_arn": stack["role_arn"], "tags": stack["tags"],
                    "on_failure": stack["on_failure"], "timeout_s": stack["timeout_s"],
                    "delete_calls": len(stack["delete_calls"]),
                    "moto_deleted": STATE["stacks"][stack_id]["moto_deleted"],
                }
            with LOCK:
                body = json.dumps(stats).encode()
            return self.reply(200, body, "application/json")
        return self.reply(404, b"")

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path == "/__control/scenario":
            scenario = json.loads(raw or b"{}")
            with LOCK:
                STATE["scenario"] = scenario
                STATE["scenario_at"] = time.monotonic()
                STATE["scenario_actions"] = {}
                STATE["first_access_key"] = None
                STATE["expired_triggered"] = False
                if scenario.get("reset_stats"):
                    for counter in COUNTERS:
                        STATE[counter] = {}
                    STATE["in_flight_max"] = 0
                    STATE["in_flight_max_by_service"] = {}
            return self.reply(200, b"{}", "application/json")
        # Requests in flight through the proxy (the tool's concurrency, as EC2 would see it).
        service = credential_scope(self.headers)[2]
        with LOCK:
            for name in ("*", service):
                STATE["in_flight"][name] = STATE["in_flight"].get(name, 0) + 1
            STATE["in_flight_max"] = max(STATE["in_flight_max"], STATE["in_flight"]["*"])
            by_service = STATE["in_flight_max_by_service"]
            by_service[service] = max(by_service.get(service, 0), STATE["in_flight"][service])
        self.in_flight_service = service
        try:
            self.handle_request(raw)
        finally:
            self.leave_flight()

    def leave_flight(self):
        """Ends this request's time in flight: when its answer starts (the client may send its
        next request as soon as it has it), or when the handler ends without one."""
        service = getattr(self, "in_flight_service", None)
        if service is None:
            return
        self.in_flight_service = None
        with LOCK:
            for name in ("*", service):
                STATE["in_flight"][name] -= 1

    def send_response(self, code, message=None):
        self.leave_flight()
        super().send_response(code, message)

    def admit(self, action, region, access_key, scenario, now):
        """Counts the call and answers what EC2 answers before looking at it: expired
        credentials and disabled regions. Returns (code, message) to refuse it, else None."""
        key = f"{action} {region}"
        with LOCK:
            STATE["calls"][key] = STATE["calls"].get(key, 0) + 1
            STATE["scenario_actions"][action] = STATE["scenario_actions"].get(action, 0) + 1
            if STATE["first_access_key"] is None and access_key:
                STATE["first_access_key"] = access_key
            expire = scenario.get("expire")
            if isinstance(expire, dict):
                if not STATE["expired_triggered"]:
                    timed = "after_s" in expire
                    counted = "after_action" in expire
                    if not timed and not counted:
                        STATE["expired_triggered"] = True
                    elif timed and now - STATE["scenario_at"] >= float(expire["after_s"]):
                        STATE["expired_triggered"] = True
                    elif counted and action == expire["after_action"] and STATE["scenario_actions"][action] >= int(expire.get("after_count", 1)):
                        STATE["expired_triggered"] = True
                expired_key = expire.get("access_key") or STATE["first_access_key"]
                if STATE["expired_triggered"] and access_key == expired_key:
                    bump("expired", key)
                    code = expire.get("code", "RequestExpired")
                    return code, EXPIRED_MESSAGES.get(code, "Request has expired.")
            # "Specify which AWS Regions your account can use" (AWS Account Management Reference
            # Guide), https://docs.aws.amazon.com/accounts/latest/reference/manage-acct-regions.html :
            # a Region that is not enabled cannot be used; EC2 answers calls there with AuthFailure.
            if region in scenario.get("disabled_regions", []):
                bump("auth_failure", key)
                return "AuthFailure", EXPIRED_MESSAGES["AuthFailure"]
        return None

    def handle_request(self, raw):
        access_key, region, _ = credential_scope(self.headers)
        now = time.monotonic()
        with LOCK:
            scenario = STATE["scenario"]
        target = self.headers.get("X-Amz-Target", "")
        if target.startswith("ServiceQuotasV20190624."):
            action = target.split(".", 1)[1]
            log_call("servicequotas", action, region, json.loads(raw or b"{}"), {})
            refused = self.admit(action, region, access_key, scenario, now)
            if refused:
                code, status, message = JSON_AUTH_ERRORS.get(refused[0], (refused[0], 400, refused[1]))
                return self.json_error(code, message, status)
            if action in ("GetServiceQuota", "GetAWSDefaultServiceQuota"):
                return self.service_quota(action, json.loads(raw or b"{}"), region, scenario)
            status, headers, body = self.forward(raw)
            return self.send_forwarded(status, headers, body)

        params = dict(urllib.parse.parse_qsl(raw.decode()))
        action = params.get("Action", "")
        key = f"{action} {region}"
        service = credential_scope(self.headers)[2]
        if CALL_LOG:
            targets = indexed(params, TAGGED_TARGETS[action]) if service == "ec2" and action in TAGGED_TARGETS else []
            log_call(service, action, region, params, resource_tags(self.moto, region, targets))
        refused = self.admit(action, region, access_key, scenario, now)
        if refused:
            if service == "cloudformation":
                code, status, message = QUERY_AUTH_ERRORS.get(refused[0], (refused[0], 400, refused[1]))
                return self.cfn_error(code, message, status)
            return self.ec2_error(*refused)
        throttled = missing = None
        with LOCK:
            throttle = scenario.get("throttle", {}).get(region, {}).get(action, 0)
            if STATE["throttled"].get(key, 0) < throttle:
                STATE["throttled"][key] = STATE["throttled"].get(key, 0) + 1
                throttled = True
            else:
                # Eventual consistency: a call naming a resource that has not propagated yet.
                for resource_id in indexed(params, ID_PARAMS[action]) if action in ID_PARAMS else []:
                    kind = invisible(resource_id, scenario, now)
                    if kind:
                        bump("not_found", key)
                        missing = (NOT_FOUND[kind][0], NOT_FOUND[kind][1].format(resource_id))
                        break
        if throttled and service == "cloudformation":
            # CloudFormation's throttling answer: "Common Errors" (AWS CloudFormation API
            # Reference), https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html :
            # ThrottlingException, HTTP 400; the service names it `Throttling`, "Rate exceeded".
            return self.cfn_error("Throttling", "Rate exceeded", 400)
        if throttled:
            return self.reply(503, xml_error("RequestLimitExceeded", "Request limit exceeded."))
        if service == "cloudformation":
            return self.cloudformation(action, params, raw, region, scenario, now)
        if missing:
            return self.ec2_error(*missing)
        if action == "ModifyImageAttribute" and "ImdsSupport.Value" in params:
            # moto accepts ImdsSupport but cannot report it back: remember it for the tests.
            with LOCK:
                STATE["imds"][params.get("ImageId", "")] = params["ImdsSupport.Value"]
        if action == "DescribeRegions":
            return self.describe_regions(params, scenario)
        if action == "GetImageBlockPublicAccessState":
            blocked = region in scenario.get("block_public_access", [])
            state = "block-new-sharing" if blocked else "unblocked"
            body = (
                f'<GetImageBlockPublicAccessStateResponse xmlns="{EC2_NS}"><requestId>proxy</requestId>'
                f"<imageBlockPublicAccessState>{state}</imageBlockPublicAccessState></GetImageBlockPublicAccessStateResponse>"
            ).encode()
            return self.reply(200, body)
        if action == "GetEbsEncryptionByDefault":
            # "Amazon EBS encryption" (Amazon EBS User Guide; encryption by default is a per-Region
            # account setting), https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html
            # and https://docs.aws.amazon.com/ebs/latest/userguide/encryption-by-default.html , and the
            # GetEbsEncryptionByDefault API reference,
            # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_GetEbsEncryptionByDefault.html
            # (ebsEncryptionByDefault; sseType sse-ebs | sse-kms | none).
            on = region in scenario.get("ebs_encryption_by_default", [])
            body = (
                f'<GetEbsEncryptionByDefaultResponse xmlns="{EC2_NS}"><requestId>proxy</requestId>'
                f"<ebsEncryptionByDefault>{'true' if on else 'false'}</ebsEncryptionByDefault>"
                f"<sseType>{'sse-ebs' if on else 'none'}</sseType></GetEbsEncryptionByDefaultResponse>"
            ).encode()
            return self.reply(200, body)
        if action in ("ModifyImageAttribute", "ModifySnapshotAttribute") and self.shares_encrypted_publicly(action, params):
            # "Share an Amazon EBS snapshot" (Amazon EBS User Guide),
            # https://docs.aws.amazon.com/ebs/latest/userguide/ebs-modifying-snapshot-permissions.html :
            # "You can't make your encrypted snapshots available publicly." EC2 answers
            # UnsupportedOperation "Encrypted snapshots can't be shared publicly. Specify another snapshot."
            with LOCK:
                bump("unsupported", key)
            return self.ec2_error("UnsupportedOperation", "Encrypted snapshots can't be shared publicly. Specify another snapshot.")
        if action == "GetConsoleOutput":
            instance = params.get("InstanceId", "")
            with LOCK:
                instance_type = STATE["instance_types"].get(instance, "")
                builder = instance in STATE["builders"]
            if params.get("Latest", "").lower() == "true" and instance_type.split(".")[0] in XEN_FAMILIES and instance_type != "i3.metal":
                with LOCK:
                    bump("unsupported", key)
                return self.ec2_error("UnsupportedOperation", LATEST_UNSUPPORTED)
            if builder:
                return self.console(instance, scenario, now)

        forwarded = raw
        snapshot_tags = []
        if action == "CreateImage":
            # moto answers 500 to a `snapshot` tag specification: strip it, apply it afterwards.
            specs = tag_specifications(params)
            snapshot_tags = [tag for kind, tags in specs if kind == "snapshot" for tag in tags]
            if snapshot_tags:
                kept = [(kind, tags) for kind, tags in specs if kind != "snapshot"]
                forwarded = urllib.parse.urlencode(without_tag_specifications(params, kept)).encode()
        status, headers, body = self.forward(forwarded)
        if status == 200 and action == "RunInstances":
            self.after_run_instances(params, region, body, scenario.get("builder", {}))
        elif status == 200 and action in ("CreateImage", "CopyImage"):
            self.after_new_image(action, params, region, body, scenario, snapshot_tags)
        elif status == 200 and action in ("StopInstances", "TerminateInstances"):
            # Console output is posted after a state transition: the client's own stop counts too.
            with LOCK:
                for instance in indexed(params, "InstanceId"):
                    if instance in STATE["builders"]:
                        STATE["stopped_at"].setdefault(instance, time.monotonic())
        elif status == 200 and action == "DescribeImages":
            body = self.rewrite_images(body, params, region, scenario)
            body = ingestion_attributes(body, scenario)
        elif status == 200 and action == "DescribeInstances":
            body = self.rewrite_instances(body, params, scenario)
        elif status == 200 and action == "DescribeSnapshots":
            body = self.rewrite_snapshots(body, params, scenario)
        self.send_forwarded(status, headers, body)

    # --- CloudFormation -----------------------------------------------------------------------

    def cfn_error(self, code, message, status=400):
        """An error as the Query protocol of CloudFormation answers it ("Common Errors",
        https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/CommonErrors.html)."""
        body = (
            f'<ErrorResponse xmlns="{CFN_NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{escape(message)}</Message></Error><RequestId>proxy</RequestId></ErrorResponse>"
        ).encode()
        self.reply(status, body)

    def cloudformation(self, action, params, raw, region, scenario, now):
        stack_ref = params.get("StackName", "")
        with LOCK:
            known = {sid: dict(st) for sid, st in STATE["stacks"].items()}
        # A deleted stack is found by its unique ID only (DescribeStacks API reference,
        # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStacks.html ,
        # StackName: "Deleted stacks: You must specify the unique stack ID"); by name, the live one.
        stack_id = stack_ref if stack_ref in known else next(
            (sid for sid, st in known.items() if st["name"] == stack_ref and st["region"] == region and not st["moto_deleted"]), None)
        # Bring moto up to the play (a stack the play deleted is deleted in moto) before it answers.
        for sid in known:
            self.play_and_apply(sid, now)
        if action == "CreateStack":
            return self.create_stack(params, raw, region, scenario, now)
        if stack_id is None:
            status, headers, body = self.forward(raw)
            return self.send_forwarded(status, headers, body)
        stack = known[stack_id]
        window = float(stack["play"].get("not_found_s", 0) or 0)
        if action in ("DescribeStacks", "DescribeStackEvents") and now - stack["created_at"] < window:
            with LOCK:
                bump("not_found", f"{action} {region}")
            return self.cfn_error("ValidationError", f"Stack with id {stack_ref} does not exist")
        if action == "DeleteStack":
            return self.delete_stack(stack_id, raw, now)
        if action == "DescribeStackEvents":
            return self.describe_stack_events(stack_id, now)
        status, headers, body = self.forward(raw)
        if status == 200 and action == "DescribeStacks":
            body = self.rewrite_stacks(body, stack_id, now)
        return self.send_forwarded(status, headers, body)

    def create_stack(self, params, raw, region, scenario, now):
        body_text = params.get("TemplateBody", "")
        if len(body_text.encode()) > 51200:
            # CreateStack API reference, TemplateBody: "a minimum length of 1 byte and a maximum
            # length of 51,200 bytes", https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
            return self.cfn_error("ValidationError", "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: Member must have length less than or equal to 51200")
        status, headers, body = self.forward(raw)
        match = re.search(rb"<StackId>([^<]+)</StackId>", body)
        if status == 200 and match:
            # OnFailure: DO_NOTHING | ROLLBACK | DELETE, default ROLLBACK; DisableRollback=true is
            # DO_NOTHING (CreateStack API reference, OnFailure and DisableRollback).
            on_failure = params.get("OnFailure") or ("DO_NOTHING" if params.get("DisableRollback", "").lower() == "true" else "ROLLBACK")
            minutes = params.get("TimeoutInMinutes")
            tags = {}
            for key, value in params.items():
                m = re.fullmatch(r"Tags\.member\.(\d+)\.Key", key)
                if m:
                    tags[value] = params.get(f"Tags.member.{m.group(1)}.Value", "")
            with LOCK:
                STATE["stacks"][match.group(1).decode()] = {
                    # The play starts when moto has answered (moto may take a while to make resources).
                    "name": params.get("StackName", ""), "region": region, "created_at": time.monotonic(),
                    "on_failure": on_failure, "timeout_s": float(minutes) * 60 if minutes else None,
                    "role_arn": params.get("RoleARN"), "tags": tags,
                    "resources": template_resources(body_text), "play": dict(scenario.get("stack", {})),
                    "delete_calls": [], "moto_deleted": False,
                }
        self.send_forwarded(status, headers, body)

    def delete_stack(self, stack_id, raw, now):
        # DeleteStack API reference, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DeleteStack.html :
        # "Once the call completes successfully, stack deletion starts." The play decides when it
        # ends (and whether it fails); moto's stack is deleted then.
        with LOCK:
            STATE["stacks"][stack_id]["delete_calls"].append(now)
        body = f'<DeleteStackResponse xmlns="{CFN_NS}"><ResponseMetadata><RequestId>proxy</RequestId></ResponseMetadata></DeleteStackResponse>'.encode()
        self.reply(200, body)

    def play_and_apply(self, stack_id, now):
        """The play's (status, reason, events) now; deletes moto's stack once the play's is."""
        with LOCK:
            stack = dict(STATE["stacks"][stack_id])
        status, reason, events = play(stack, now)
        if status == "DELETE_COMPLETE" and not stack["moto_deleted"]:
            request = urllib.request.Request(self.moto + "/", data=urllib.parse.urlencode(
                {"Action": "DeleteStack", "StackName": stack_id, "Version": "2010-05-15"}).encode(), method="POST")
            request.add_header("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
            request.add_header("Authorization", f"AWS4-HMAC-SHA256 Credential=testing/20260101/{stack['region']}/cloudformation/aws4_request, SignedHeaders=host, Signature=0")
            with urllib.request.urlopen(request) as response:
                response.read()
            with LOCK:
                STATE["stacks"][stack_id]["moto_deleted"] = True
        return status, reason, events

    def rewrite_stacks(self, body, stack_id, now):
        status, reason, _ = self.play_and_apply(stack_id, now)
        root, ns, uri = parse_xml(body)
        for member in root.iter(f"{ns}member"):
            if member.findtext(f"{ns}StackId") != stack_id:
                continue
            element = member.find(f"{ns}StackStatus")
            if element is None:
                element = ET.SubElement(member, f"{ns}StackStatus")
            element.text = status
            why = member.find(f"{ns}StackStatusReason")
            if why is not None:
                member.remove(why)
            if reason:
                ET.SubElement(member, f"{ns}StackStatusReason").text = reason
            # Outputs are there once the stack is created.
            outputs = member.find(f"{ns}Outputs")
            if outputs is not None and status != "CREATE_COMPLETE":
                member.remove(outputs)
        return dump_xml(root, uri)

    def describe_stack_events(self, stack_id, now):
        _, _, events = self.play_and_apply(stack_id, now)
        with LOCK:
            stack = dict(STATE["stacks"][stack_id])
        members = ""
        for n, (at, logical, kind, status, reason) in enumerate(events):
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(time.time() - (now - at)))
            members += (
                f"<member><EventId>{logical}-{status}-{n}</EventId><StackId>{escape(stack_id)}</StackId>"
                f"<StackName>{stack['name']}</StackName><LogicalResourceId>{logical}</LogicalResourceId>"
                f"<PhysicalResourceId>{escape(stack_id) if kind == STACK_TYPE else ''}</PhysicalResourceId>"
                f"<ResourceType>{kind}</ResourceType><Timestamp>{stamp}Z</Timestamp>"
                f"<ResourceStatus>{status}</ResourceStatus>"
                + (f"<ResourceStatusReason>{escape(reason)}</ResourceStatusReason>" if reason else "")
                + "</member>"
            )
        body = (
            f'<DescribeStackEventsResponse xmlns="{CFN_NS}"><DescribeStackEventsResult><StackEvents>{members}'
            "</StackEvents></DescribeStackEventsResult><ResponseMetadata><RequestId>proxy</RequestId>"
            "</ResponseMetadata></DescribeStackEventsResponse>"
        ).encode()
        self.reply(200, body)

    def send_forwarded(self, status, headers, body):
        self.send_response(status)
        for name, value in headers:
            if name.lower() not in ("content-length", "transfer-encoding", "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def forward(self, raw):
        request = urllib.request.Request(self.moto + self.path, data=raw, method="POST")
        for name, value in self.headers.items():
            if name.lower() not in ("host", "content-length", "connection"):
                request.add_header(name, value)
        try:
            with urllib.request.urlopen(request) as response:
                return response.status, response.getheaders(), response.read()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.items(), error.read()

    def service_quota(self, action, request, region, scenario):
        if scenario.get("service_quotas") == "denied":
            return self.json_error(
                "AccessDeniedException",
                f"User: arn:aws:sts::{ACCOUNT}:assumed-role/release/session is not authorized to perform: servicequotas:{action}",
            )
        if request.get("ServiceCode") != "ec2" or request.get("QuotaCode") != PUBLIC_AMI_QUOTA:
            return self.json_error("NoSuchResourceException", "The request failed because the specified service quota does not exist.")
        value = 5.0 if action == "GetAWSDefaultServiceQuota" else float(scenario.get("public_ami_quota", 5.0))
        quota = {
            "ServiceCode": "ec2",
            "ServiceName": "Amazon Elastic Compute Cloud (Amazon EC2)",
            "QuotaArn": f"arn:aws:servicequotas:{region}:{ACCOUNT}:ec2/{PUBLIC_AMI_QUOTA}",
            "QuotaCode": PUBLIC_AMI_QUOTA,
            "QuotaName": "Public AMIs",
            "Value": value,
            "Unit": "None",
            "Adjustable": True,
            "GlobalQuota": False,
        }
        self.reply(200, json.dumps({"Quota": quota}).encode(), "application/x-amz-json-1.1")

    def describe_regions(self, params, scenario):
        # DescribeRegions API reference,
        # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_DescribeRegions.html : lists the
        # Regions enabled for the account, or all Regions with AllRegions, each with its
        # optInStatus (opt-in-not-required | opted-in | not-opted-in). moto lists every Region
        # whatever AllRegions says, some as not-opted-in although it serves them: here every Region
        # moto serves is enabled, and only `disabled_regions` are not.
        disabled = list(scenario.get("disabled_regions", []))
        if "enabled_regions" in scenario:
            regions = [(r, "opt-in-not-required") for r in scenario["enabled_regions"]]
        else:
            regions = [(r, "opt-in-not-required" if status == "opt-in-not-required" else "opted-in") for r, status in self.moto_regions()]
        regions = [(r, status) for r, status in regions if r not in disabled]
        if params.get("AllRegions", "").lower() == "true":
            regions += [(r, "not-opted-in") for r in disabled]
        names = indexed(params, "RegionName")
        wanted = filters(params)
        items = ""
        for name, status in regions:
            endpoint = f"ec2.{name}.amazonaws.com"
            if names and name not in names:
                continue
            fields = {"region-name": name, "opt-in-status": status, "endpoint": endpoint}
            if any(field in fields and fields[field] not in values for field, values in wanted.items()):
                continue
            items += f"<item><regionName>{name}</regionName><regionEndpoint>{endpoint}</regionEndpoint><optInStatus>{status}</optInStatus></item>"
        body = f'<DescribeRegionsResponse xmlns="{EC2_NS}"><requestId>proxy</requestId><regionInfo>{items}</regionInfo></DescribeRegionsResponse>'.encode()
        self.reply(200, body)

    def moto_regions(self):
        with LOCK:
            cached = STATE["moto_regions"]
        if cached is not None:
            return cached
        body = moto_try(self.moto, "us-east-1", {"Action": "DescribeRegions", "AllRegions": "true"})
        regions = []
        if body:
            root, ns, _ = parse_xml(body)
            for item in root.iter(f"{ns}item"):
                name = item.findtext(f"{ns}regionName")
                if name:
                    regions.append((name, item.findtext(f"{ns}optInStatus") or "opt-in-not-required"))
        with LOCK:
            STATE["moto_regions"] = regions
        return regions

    def shares_encrypted_publicly(self, action, params):
        if action == "ModifyImageAttribute":
            resource, permission = params.get("ImageId", ""), "LaunchPermission"
        else:
            resource, permission = params.get("SnapshotId", ""), "CreateVolumePermission"
        public = any(
            value == "all"
            for key, value in params.items()
            if re.fullmatch(permission + r"\.Add\.\d+\.Group", key)
        ) or (params.get("OperationType") == "add" and "all" in indexed(params, "UserGroup"))
        with LOCK:
            return public and resource in STATE["encrypted"]

    def after_run_instances(self, params, region, body, builder):
        now = time.monotonic()
        with LOCK:
            for instance in re.findall(rb"<instanceId>(i-[0-9a-f]+)</instanceId>", body):
                STATE["created"][instance.decode()] = {"kind": "instance", "at": now}
                STATE["instance_types"][instance.decode()] = params.get("InstanceType", "m1.small")
        run_id = run_id_from_user_data(params.get("UserData", ""))
        verifier = verifier_from_user_data(params.get("UserData", ""))
        match = re.search(rb"<instanceId>(i-[0-9a-f]+)</instanceId>", body)
        if not ((run_id or verifier) and match):
            return
        instance = match.group(1).decode()
        if verifier:
            run_id, checks = verifier
            builder = self.scenario_now().get("verifier", {})
        with LOCK:
            STATE["builders"][instance] = {
                "run_id": run_id,
                "region": region,
                "role": "verifier" if verifier else "builder",
                "checks": checks if verifier else [],
            }
        stop_after = builder.get("stop_after_s", 0.3)
        if stop_after is not None:
            timer = threading.Timer(stop_after, self.stop_builder, (self.moto, region, instance))
            timer.daemon = True
            timer.start()

    @staticmethod
    def scenario_now():
        with LOCK:
            return STATE["scenario"]

    @staticmethod
    def stop_builder(moto, region, instance):
        moto_request(moto, region, {"Action": "StopInstances", "InstanceId.1": instance, "Version": "2016-11-15"})
        with LOCK:
            STATE["stopped_at"].setdefault(instance, time.monotonic())

    def after_new_image(self, action, params, region, body, scenario, snapshot_tags):
        match = re.search(rb"<imageId>(ami-[0-9a-f]+)</imageId>", body)
        if not match:
            return
        image = match.group(1).decode()
        snapshots = []
        described = moto_try(self.moto, region, {"Action": "DescribeImages", "ImageId.1": image})
        if described:
            snapshots = [s.decode() for s in re.findall(rb"<snapshotId>(snap-[0-9a-f]+)</snapshotId>", described)]
        now = time.monotonic()
        with LOCK:
            if action == "CopyImage":
                STATE["copies"][image] = {"region": region, "created": time.time()}
            STATE["created"][image] = {"kind": "image", "at": now}
            for snapshot in snapshots:
                STATE["created"][snapshot] = {"kind": "snapshot", "at": now}
            # EBS encryption by default encrypts the volumes of instances launched in the region,
            # hence the snapshots CreateImage takes there, and the copies CopyImage makes into it;
            # a copy of an encrypted image stays encrypted. "Amazon EBS encryption"
            # https://docs.aws.amazon.com/ebs/latest/userguide/ebs-encryption.html and
            # "Copy an Amazon EC2 AMI" https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/CopyingAMIs.html
            encrypted = (
                region in scenario.get("ebs_encryption_by_default", [])
                or params.get("Encrypted", "").lower() == "true"
                or params.get("SourceImageId") in STATE["encrypted"]
            )
            if encrypted:
                STATE["encrypted"].update([image, *snapshots])
        # Tag specifications. CopyImage API reference,
        # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CopyImage.html , TagSpecification.N:
        # "The tags to apply to the new AMI and new snapshots" (ResourceType image; ResourceType
        # snapshot, "The same tag is applied to all the new snapshots"). CreateImage API reference,
        # https://docs.aws.amazon.com/AWSEC2/latest/APIReference/API_CreateImage.html ,
        # TagSpecification.N: "The tags to apply to the AMI and snapshots on creation". moto ignores
        # CopyImage's and answers 500 to CreateImage's snapshot tags: apply them here, on moto.
        specs = tag_specifications(params)
        image_tags = [tag for kind, tags in specs if kind == "image" for tag in tags] if action == "CopyImage" else []
        if action == "CopyImage":
            snapshot_tags = [tag for kind, tags in specs if kind == "snapshot" for tag in tags]
        for resources, tags in (([image], image_tags), (snapshots, snapshot_tags)):
            if resources and tags:
                request = {"Action": "CreateTags"}
                for n, resource in enumerate(resources, 1):
                    request[f"ResourceId.{n}"] = resource
                for n, (key, value) in enumerate(tags, 1):
                    request[f"Tag.{n}.Key"] = key
                    request[f"Tag.{n}.Value"] = value
                moto_try(self.moto, region, request)

    def console(self, instance, scenario, now):
        builder = scenario.get("builder", {})
        lag = float(scenario.get("console_lag_s", 0) or 0)
        with LOCK:
            run_id = STATE["builders"][instance]["run_id"]
            role = STATE["builders"][instance]["role"]
            checks = list(STATE["builders"][instance]["checks"])
            stopped_at = STATE["stopped_at"].get(instance)
        if lag > 0 and (stopped_at is None or now - stopped_at < lag):
            # Nothing posted yet: GetConsoleOutput API reference (see XEN_FAMILIES above): the
            # buffered output is posted some time after a state transition.
            output = ""
        elif role == "verifier":
            # The test instance boots the new AMI, whose cloud-init runs the user-data at first
            # boot ("Run commands when you launch an EC2 instance with user data input",
            # https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/user-data.html); moto runs
            # none, so the proxy prints what the user-data's checks print. Its console is
            # posted like the builder's (the lag above, and `Latest` only on Nitro types).
            verifier = scenario.get("verifier", {})
            failing = verifier.get("fail", {})
            lines = ["[    0.000000] Linux version 6.1 (test instance)", "cloud-init: running user-data", "marketplace-release: verifying the image"]
            if verifier.get("marker", True):
                for name in checks:
                    status = "failed" if name in failing else "passed"
                    detail = failing.get(name, f"{name} ok")
                    lines.append(f"MARKETPLACE-RELEASE-CHECK run={run_id} name={name} status={status} seconds=1 detail={detail}")
                failed = sum(1 for name in checks if name in failing)
                status = "failed" if failed else "success"
                lines.append(f"MARKETPLACE-RELEASE-RESULT run={run_id} status={status} exit={failed}")
            output = base64.b64encode(("\n".join(lines) + "\n").encode()).decode()
        else:
            lines = ["[    0.000000] Linux version 6.1 (builder)", "cloud-init: running user-data"]
            lines += builder.get("log", ["marketplace-release: running the build script", "installing the product"])
            if builder.get("marker", True):
                code = builder.get("exit", 0)
                status = "success" if code == 0 else "failed"
                lines.append(f"MARKETPLACE-RELEASE-RESULT run={run_id} status={status} exit={code}")
            output = base64.b64encode(("\n".join(lines) + "\n").encode()).decode()
        body = (
            f'<GetConsoleOutputResponse xmlns="{EC2_NS}"><requestId>proxy</requestId><instanceId>{instance}</instanceId>'
            f"<timestamp>2026-01-01T00:00:00.000Z</timestamp><output>{output}</output></GetConsoleOutputResponse>"
        ).encode()
        self.reply(200, body)

    def drop_invisible(self, root, ns, set_tag, id_tag, scenario):
        """Removes the items of `set_tag` whose `id_tag` is not visible yet; whether any was."""
        now = time.monotonic()
        changed = False
        with LOCK:
            for parent in list(root.iter(f"{ns}{set_tag}")):
                for item in list(parent.findall(f"{ns}item")):
                    if invisible(item.findtext(f"{ns}{id_tag}"), scenario, now):
                        parent.remove(item)
                        changed = True
        return changed

    def rewrite_images(self, body, params, region, scenario):
        delay = scenario.get("copy_delay_s", 0)
        failing = scenario.get("fail_copy_regions", [])
        with LOCK:
            copies = dict(STATE["copies"])
            encrypted = set(STATE["encrypted"])
        root, ns, uri = parse_xml(body)
        changed = False
        if not indexed(params, "ImageId"):
            changed |= self.drop_invisible(root, ns, "imagesSet", "imageId", scenario)
        for item in root.iter(f"{ns}item"):
            image_id = item.find(f"{ns}imageId")
            state = item.find(f"{ns}imageState")
            if image_id is None or state is None:
                continue
            # EC2 always reports `encrypted` for an EBS block device (DescribeImages API
            # reference, EbsBlockDevice); moto leaves it out.
            for ebs in item.iter(f"{ns}ebs"):
                flag = ebs.find(f"{ns}encrypted")
                if flag is None:
                    flag = ET.SubElement(ebs, f"{ns}encrypted")
                    flag.text = "false"
                if image_id.text in encrypted:
                    flag.text = "true"
                changed = True
            if image_id.text not in copies:
                continue
            if region in failing:
                state.text = "failed"
                reason = ET.SubElement(item, f"{ns}stateReason")
                ET.SubElement(reason, f"{ns}code").text = "Client.InternalError"
                ET.SubElement(reason, f"{ns}message").text = "Copy failed: snapshot could not be copied"
                changed = True
            elif state.text == "available" and time.time() - copies[image_id.text]["created"] < delay:
                state.text = "pending"
                changed = True
        extra = int(scenario.get("public_images", {}).get(region, 0))
        wanted = filters(params)
        owners = indexed(params, "Owner")
        if extra > 0 and not indexed(params, "ImageId") and "true" in wanted.get("is-public", []) and ({"self", ACCOUNT} & set(owners)):
            # Stand-ins for public images this account already has (the "Public AMIs" quota).
            images = root.find(f"{ns}imagesSet")
            if images is None:
                images = ET.SubElement(root, f"{ns}imagesSet")
            for n in range(1, extra + 1):
                item = ET.SubElement(images, f"{ns}item")
                for tag, text in (
                    ("imageId", f"ami-0public{n:010d}"),
                    ("imageLocation", f"{ACCOUNT}/older-release-{n}"),
                    ("imageState", "available"),
                    ("imageOwnerId", ACCOUNT),
                    ("creationDate", "2025-01-01T00:00:00.000Z"),
                    ("isPublic", "true"),
                    ("architecture", "x86_64"),
                    ("imageType", "machine"),
                    ("name", f"older-release-{n}"),
                    ("rootDeviceType", "ebs"),
                    ("rootDeviceName", "/dev/xvda"),
                    ("virtualizationType", "hvm"),
                ):
                    ET.SubElement(item, f"{ns}{tag}").text = text
            changed = True
        return dump_xml(root, uri) if changed else body

    def rewrite_instances(self, body, params, scenario):
        if indexed(params, "InstanceId") or not scenario.get("not_found_s"):
            return body
        root, ns, uri = parse_xml(body)
        if not self.drop_invisible(root, ns, "instancesSet", "instanceId", scenario):
            return body
        for reservations in root.iter(f"{ns}reservationSet"):
            for reservation in list(reservations.findall(f"{ns}item")):
                instances = reservation.find(f"{ns}instancesSet")
                if instances is not None and not instances.findall(f"{ns}item"):
                    reservations.remove(reservation)
        return dump_xml(root, uri)

    def rewrite_snapshots(self, body, params, scenario):
        with LOCK:
            encrypted = set(STATE["encrypted"])
        if not encrypted and not scenario.get("not_found_s"):
            return body
        root, ns, uri = parse_xml(body)
        changed = False
        if not indexed(params, "SnapshotId"):
            changed |= self.drop_invisible(root, ns, "snapshotSet", "snapshotId", scenario)
        for item in root.iter(f"{ns}item"):
            if item.findtext(f"{ns}snapshotId") in encrypted:
                flag = item.find(f"{ns}encrypted")
                if flag is None:
                    flag = ET.SubElement(item, f"{ns}encrypted")
                flag.text = "true"
                changed = True
        return dump_xml(root, uri) if changed else body


CFN_NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
STACK_TYPE = "AWS::CloudFormation::Stack"


def template_resources(text):
    """[(logical ID, type)] of a template's Resources, in order (YAML or JSON; tags ignored)."""
    import yaml

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_multi_constructor("!", lambda loader, suffix, node: None)
    try:
        template = yaml.load(text, Loader=Loader) or {}
    except yaml.YAMLError:
        return []
    resources = template.get("Resources") or {}
    return [(name, (body or {}).get("Type", "")) for name, body in resources.items()]


def play(stack, now):
    """What CloudFormation reports of `stack` at `now`: (status, reason, events newest first,
    each (time, logical ID, type, status, reason)). Documented behaviours:

    - Creation takes time: a stack is CREATE_IN_PROGRESS, then CREATE_COMPLETE or CREATE_FAILED
      ("Stack status codes", https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/view-stack-events.html).
    - A resource that fails makes CloudFormation cancel the others ("Resource creation
      cancelled") and fail the stack ("The following resource(s) failed to create: [...]"), and
      then, per OnFailure (CreateStack API reference), keep it (DO_NOTHING), roll it back
      (ROLLBACK: ROLLBACK_IN_PROGRESS, ROLLBACK_COMPLETE) or delete it (DELETE:
      DELETE_IN_PROGRESS, DELETE_COMPLETE) ("Understand CloudFormation stack creation events",
      https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/stack-resource-configuration-complete.html).
    - TimeoutInMinutes: "The amount of time that can pass before the stack status becomes
      CREATE_FAILED" (CreateStack API reference).
    - DeleteStack starts a deletion (DELETE_IN_PROGRESS) that ends DELETE_COMPLETE or, when a
      resource cannot be deleted, DELETE_FAILED ("Delete the stack again or view the stack
      events", Stack status codes); a DeleteStack while a deletion runs, or after the stack is
      deleted, changes nothing.
    - DescribeStackEvents answers "in reverse chronological order" (DescribeStackEvents API
      reference, https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_DescribeStackEvents.html).
    """
    p, name, resources, t0 = stack["play"], stack["name"], stack["resources"], stack["created_at"]
    timeline = []

    def add(at, logical, kind, status, reason=None):
        timeline.append((at, len(timeline), logical, kind, status, reason))

    add(t0, name, STACK_TYPE, "CREATE_IN_PROGRESS", "User Initiated")
    for logical, kind in resources:
        add(t0, logical, kind, "CREATE_IN_PROGRESS")
    create_s = p.get("create_s", 0)
    ends = [(t0 + float(create_s), "done")] if create_s is not None else []
    if stack["timeout_s"]:
        ends.append((t0 + stack["timeout_s"], "timeout"))
    calls = list(stack["delete_calls"])
    if calls:
        ends.append((calls[0], "delete"))
    end_at, how = min(ends) if ends else (None, None)
    deletions = []  # start times of deletions
    if end_at is not None and how == "done" and not p.get("fail"):
        for logical, kind in resources:
            add(end_at, logical, kind, "CREATE_COMPLETE")
        add(end_at, name, STACK_TYPE, "CREATE_COMPLETE")
    elif end_at is not None and how in ("done", "timeout"):
        fail = p.get("fail") if how == "done" else None
        failed = [fail["resource"]] if fail else []
        if fail:
            add(end_at, fail["resource"], fail.get("type", ""), "CREATE_FAILED", fail.get("reason", "failed"))
        for logical, kind in resources:
            if logical not in failed:
                add(end_at, logical, kind, "CREATE_FAILED", "Resource creation cancelled")
        reason = f"The following resource(s) failed to create: [{', '.join(failed)}]. " if failed else "Stack creation time exceeded the specified timeout."
        add(end_at, name, STACK_TYPE, "CREATE_FAILED", reason)
        if stack["on_failure"] == "DELETE":
            deletions.append((end_at + 0.1, None))
        elif stack["on_failure"] == "ROLLBACK":
            add(end_at + 0.1, name, STACK_TYPE, "ROLLBACK_IN_PROGRESS", reason)
            for logical, kind in resources:
                add(end_at + 0.3, logical, kind, "DELETE_COMPLETE")
            add(end_at + 0.3, name, STACK_TYPE, "ROLLBACK_COMPLETE")
    # Deletions: CloudFormation's own (OnFailure=DELETE), then each DeleteStack that comes
    # when no deletion runs and the stack is not deleted.
    delete_s = float(p.get("delete_s", 0.2) or 0)
    fail_delete = p.get("delete_fail")
    attempts, busy_until, deleted = 0, None, False
    pending = sorted(deletions + [(at, "User Initiated") for at in calls])
    for start, why in pending:
        if deleted or (busy_until is not None and start < busy_until):
            continue
        add(start, name, STACK_TYPE, "DELETE_IN_PROGRESS", why)
        attempts += 1
        busy_until = start + delete_s
        times = (fail_delete or {}).get("times")
        if fail_delete and (times is None or attempts <= int(times)):
            add(busy_until, fail_delete["resource"], fail_delete.get("type", ""), "DELETE_FAILED", fail_delete.get("reason", "failed"))
            add(busy_until, name, STACK_TYPE, "DELETE_FAILED", f"The following resource(s) failed to delete: [{fail_delete['resource']}]. ")
        else:
            for logical, kind in resources:
                add(busy_until, logical, kind, "DELETE_COMPLETE")
            add(busy_until, name, STACK_TYPE, "DELETE_COMPLETE")
            deleted = True
    seen = sorted((e for e in timeline if e[0] <= now), key=lambda e: (e[0], e[1]), reverse=True)
    own = next((e for e in seen if e[2] == name and e[3] == STACK_TYPE), None)
    status, reason = (own[4], own[5]) if own else ("CREATE_IN_PROGRESS", None)
    return status, reason, [(e[0], e[2], e[3], e[4], e[5]) for e in seen]


def ingestion_attributes(body, scenario):
    """Fills in what moto leaves out of DescribeImages for images the account made (issue 15's
    ingestion preflight reads them), as EC2 reports them (EC2 API reference, DescribeImages,
    "Image"): CreateImage makes an EBS-backed image ("Creates an Amazon EBS-backed AMI", EC2
    API reference, CreateImage), so `rootDeviceType` is `ebs` (moto says `standard`); the
    builder is a t3 instance, whose images have `enaSupport` true; `imdsSupport` is what
    ModifyImageAttribute set (moto drops it); each EBS mapping says whether it is `encrypted`.
    The scenario's `image` can break them: {"encrypted": true, "product_codes": [..],
    "ena": false}."""
    if b"<imagesSet>" not in body:
        return body
    image = scenario.get("image", {})
    root = ET.fromstring(body)
    uri = root.tag[1 : root.tag.index("}")] if root.tag.startswith("{") else ""
    ET.register_namespace("", uri)
    ns = f"{{{uri}}}" if uri else ""
    with LOCK:
        imds = dict(STATE["imds"])
    for item in root.iter(f"{ns}item"):
        image_id, owner = item.find(f"{ns}imageId"), item.find(f"{ns}imageOwnerId")
        if image_id is None or owner is None or owner.text != "123456789012":
            continue
        def put(name, text):
            element = item.find(f"{ns}{name}")
            if element is None:
                element = ET.SubElement(item, f"{ns}{name}")
            element.text = text
        put("rootDeviceType", "ebs")
        put("enaSupport", "false" if image.get("ena") is False else "true")
        if image_id.text in imds:
            put("imdsSupport", imds[image_id.text])
        for ebs in item.iter(f"{ns}ebs"):
            # EBS encryption by default (above) may already have marked it encrypted.
            encrypted = ebs.find(f"{ns}encrypted")
            if encrypted is None:
                encrypted = ET.SubElement(ebs, f"{ns}encrypted")
                encrypted.text = "false"
            if image.get("encrypted"):
                encrypted.text = "true"
        codes = image.get("product_codes", [])
        if codes:
            product_codes = item.find(f"{ns}productCodes")
            if product_codes is None:
                product_codes = ET.SubElement(item, f"{ns}productCodes")
            for code in codes:
                entry = ET.SubElement(product_codes, f"{ns}item")
                ET.SubElement(entry, f"{ns}productCode").text = code
                ET.SubElement(entry, f"{ns}type").text = "marketplace"
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def main():
    port, moto = int(sys.argv[1]), sys.argv[2].rstrip("/")
    Handler.moto = moto
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    print(f"ec2 proxy on 127.0.0.1:{port} -> {moto}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
