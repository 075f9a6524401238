"""Lints an IAM policy with parliament (PyPI), which checks actions, condition keys and resource
ARN formats against its copy of AWS's Service Authorization Reference.

Usage: lint_policy.py POLICY.json

Prints one finding a line and exits 1 when there is any. One kind of finding is judged across
statements instead of within one: RESOURCE_MISMATCH says a statement does not name every
resource type an action authorizes (RunInstances: image, instance, network-interface,
security-group, subnet, volume). AWS's own examples split such actions into statements by
resource type, each with the conditions that type supports ("Example: Launch instances",
https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/ExamplePolicies_EC2.html#iam-example-runinstances),
so the finding counts only when no statement of the policy grants the action on a resource of
that type.
"""

import json
import sys

from parliament import analyze_policy_string


def resource_type(arn):
    """(service, resource type) of an ARN or ARN pattern: ("ec2", "image")."""
    parts = arn.split(":", 5)
    if len(parts) < 6:
        return None
    return parts[2], parts[5].split("/", 1)[0]


def listed(value):
    return value if isinstance(value, list) else [value]


def granted_types(policy):
    """{action: {(service, resource type)}} over every Allow statement."""
    out = {}
    for statement in listed(policy["Statement"]):
        if statement.get("Effect") != "Allow":
            continue
        types = {resource_type(r) for r in listed(statement.get("Resource", []))}
        for action in listed(statement.get("Action", [])):
            out.setdefault(action.lower(), set()).update(types)
    return out


def main():
    text = open(sys.argv[1], encoding="utf-8").read()
    policy = json.loads(text)
    granted = granted_types(policy)
    findings = []
    for finding in analyze_policy_string(text, include_community_auditors=False).findings:
        if finding.issue == "RESOURCE_MISMATCH":
            missing = [
                d
                for d in finding.detail
                if resource_type(d["required_format"]) not in granted.get(d["action"].lower(), set())
            ]
            if not missing:
                continue
            findings.append(f"RESOURCE_MISMATCH {missing} at {finding.location}")
        else:
            findings.append(f"{finding.issue} {finding.detail} at {finding.location}")
    for line in findings:
        print(line)
    sys.exit(1 if findings else 0)


if __name__ == "__main__":
    main()
