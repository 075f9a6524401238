"""Writes iam/policy.json into iam/marketplace-release-role.yaml's PolicyDocument, which
tests/onboarding.rs keeps equal to it. Run after changing the policy:

    python3 scripts/sync-role-policy.py
"""
import json
import pathlib

repo = pathlib.Path(__file__).resolve().parent.parent
role = repo / "iam/marketplace-release-role.yaml"
policy = json.loads((repo / "iam/policy.json").read_text())
text = role.read_text()
start = text.index("          PolicyDocument:\n")
lines = text[start:].split("\n")
end = 1
while end < len(lines) and (lines[end].startswith("            ") or not lines[end].strip()):
    end += 1
q = json.dumps
out = ["          PolicyDocument:", f'            Version: {q(policy["Version"])}', "            Statement:"]


def mapping(value, indent):
    for key, item in value.items():
        if isinstance(item, dict):
            out.append(" " * indent + f"{q(key)}:")
            mapping(item, indent + 2)
        elif isinstance(item, list):
            out.append(" " * indent + f"{q(key)}:")
            out.extend(" " * (indent + 2) + f"- {q(v)}" for v in item)
        else:
            out.append(" " * indent + f"{q(key)}: {q(item)}")


for statement in policy["Statement"]:
    for n, (key, value) in enumerate(statement.items()):
        lead = "              - " if n == 0 else "                "
        if isinstance(value, list):
            out.append(f"{lead}{key}:")
            out.extend(f"                  - {q(v)}" for v in value)
        elif isinstance(value, dict):
            out.append(f"{lead}{key}:")
            mapping(value, 18)
        else:
            out.append(f"{lead}{key}: {q(value)}")
role.write_text(text[:start] + "\n".join(out + lines[end:]))
