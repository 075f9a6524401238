"""Re-reads edited templates with a loader that shares no code with ours.

tests/fuzz.rs streams one JSON object per line on stdin:

    {"label": "...", "original": "...", "edited": "...",
     "ops": [{"op": "set" | "remove" | "prepend", "path": [...], "value": "..."}]}

Each edited text is loaded with ruamel.yaml's pure-Python safe loader (CloudFormation reads
JSON templates with a YAML parser, so JSON goes through it too). ruamel.yaml is YAML 1.2 and
stricter than libyaml in places (a tab inside a plain scalar, say); when it refuses the input
itself, the case goes to PyYAML's pure-Python SafeLoader instead (YAML 1.1, like libyaml, but
Python code, not libyaml's C or its Rust translation). The values at the "set" paths
must be the strings the editor wrote, "remove" paths must be gone and "prepend" values first.
The original with the ops applied must equal the edited document as a whole: nothing else
changed, as that loader sees it.

With MARKETPLACE_RELEASE_FUZZ_DUMP=DIR, every failing or unreadable case is written there as
JSON, to replay. An input that neither loader reads is listed as unreadable with their reasons (both refuse a
tab inside a plain scalar, which YAML allows and libyaml reads); the test bounds their share.
Prints one JSON summary line on stdout; exits 1 when any check failed.
"""

import json
import os
import sys

import yaml as pyyaml
from ruamel.yaml import YAML
from ruamel.yaml.nodes import MappingNode, ScalarNode, SequenceNode

ruamel = YAML(typ="safe", pure=True)
# Templates in the wild repeat keys off the edited paths; the editor refuses them on its paths.
ruamel.allow_duplicate_keys = True


class Tagged:
    """A CloudFormation short form (!Ref, !Sub, ...): hashable, so it may even be a key."""

    __slots__ = ("tag", "value")

    def __init__(self, tag, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tagged) and (self.tag, self.value) == (other.tag, other.value)

    def __hash__(self):
        return hash((self.tag, repr(self.value)))

    def __repr__(self):
        return "%s %r" % (self.tag, self.value)


def tagged(loader, suffix, node):
    if isinstance(node, ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:
        value = None
    return Tagged("!" + suffix, value)


ruamel.constructor.add_multi_constructor("!", tagged)


class PurePyYaml(pyyaml.SafeLoader):
    """PyYAML's pure-Python loader (never the libyaml-based CSafeLoader)."""


PurePyYaml.add_multi_constructor("!", tagged)


def load_pyyaml(text):
    return pyyaml.load(text, Loader=PurePyYaml)  # noqa: S506 - a SafeLoader subclass


LOADERS = (("ruamel.yaml", ruamel.load), ("PyYAML (pure Python)", load_pyyaml))


def key_text(key):
    if isinstance(key, bool):
        return "true" if key else "false"
    return str(key)


def find_key(mapping, name):
    """The key of `mapping` that CloudFormation reads as `name`."""
    if not isinstance(mapping, dict):
        return None
    for key in mapping:
        if key_text(key) == name:
            return (key,)
    return None


def lookup(doc, path):
    node = doc
    for name in path:
        found = find_key(node, name)
        if found is None:
            return (False, None)
        node = node[found[0]]
    return (True, node)


def apply(doc, op):
    """Applies one op to a loaded original; returns an error text or None."""
    path = op["path"]
    parent = doc
    for name in path[:-1]:
        found = find_key(parent, name)
        if found is None:
            if op["op"] != "set":
                return "missing parent %r" % name
            parent[name] = {}
            found = (name,)
        parent = parent[found[0]]
        if not isinstance(parent, dict) and op["op"] != "prepend":
            return "parent %r is not a mapping" % name
    last = path[-1]
    found = find_key(parent, last)
    if op["op"] == "set":
        parent[found[0] if found else last] = op["value"]
    elif op["op"] == "remove":
        if found:
            del parent[found[0]]
    elif op["op"] == "prepend":
        if not found or not isinstance(parent[found[0]], list):
            return "no list at %r" % last
        parent[found[0]].insert(0, op["value"])
    return None


def first_difference(expected, actual, path):
    """The path and the two values where `expected` and `actual` first differ."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in expected:
            if key not in actual:
                return "%s: %r is missing" % (".".join(path), key)
            if expected[key] != actual[key]:
                return first_difference(expected[key], actual[key], path + [key_text(key)])
        extra = [k for k in actual if k not in expected]
        return "%s: unexpected %r" % (".".join(path), extra[:3])
    if isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (e, a) in enumerate(zip(expected, actual)):
            if e != a:
                return first_difference(e, a, path + [str(i)])
    return "%s: expected %.120r, found %.120r" % (".".join(path), expected, actual)


def check(case):
    """Returns (problem, how): how is the loader that checked the case, or why none could."""
    refusals = []
    for name, load in LOADERS:
        try:
            original = load(case["original"])
        except Exception as error:  # noqa: BLE001 - this loader refuses the input: try the next
            refusals.append("%s: %s" % (name, " ".join(str(error).split())[:160]))
            continue
        try:
            edited = load(case["edited"])
        except Exception as error:  # noqa: BLE001 - any loader error is a finding
            return "%s reads the input but not the edited text: %s: %s" % (
                name, type(error).__name__, error), name
        for op in case["ops"]:
            present, value = lookup(edited, op["path"])
            path = ".".join(op["path"])
            if op["op"] == "set" and not (
                present and isinstance(value, str) and value == op["value"]
            ):
                return "%s sees %s = %r, expected %r" % (name, path, value, op["value"]), name
            if op["op"] == "remove" and present:
                return "%s still sees %s" % (name, path), name
            if op["op"] == "prepend" and not (
                present and isinstance(value, list) and value and value[0] == op["value"]
            ):
                return "%s: %s should start with %r" % (name, path, op["value"]), name
            problem = apply(original, op)
            if problem:
                return "%s: cannot apply %s to the original: %s" % (name, op, problem), name
        if original != edited:
            where = first_difference(original, edited, [])
            return "%s: the edited document differs beyond the intended paths, at %s" % (
                name, where), name
        return None, name
    return None, "; ".join(refusals)


def main():
    checked = 0
    by_loader = {name: 0 for name, _ in LOADERS}
    unreadable = []
    failures = []
    for line in sys.stdin:
        if not line.strip():
            continue
        case = json.loads(line)
        checked += 1
        problem, how = check(case)
        if (problem or how not in by_loader) and os.environ.get("MARKETPLACE_RELEASE_FUZZ_DUMP"):
            name = case["label"].split(":")[0].replace(" ", "-") + ".json"
            with open(os.path.join(os.environ["MARKETPLACE_RELEASE_FUZZ_DUMP"], name), "w") as out:
                json.dump(dict(case, problem=problem), out, indent=1)
        if problem:
            failures.append({"label": case["label"], "problem": problem})
        elif how in by_loader:
            by_loader[how] += 1
        else:
            unreadable.append("%s: %s" % (case["label"], how))
    print(
        json.dumps(
            {
                "checked": checked,
                "by_loader": by_loader,
                "unreadable": unreadable[:20],
                "unreadable_count": len(unreadable),
                "failures": failures[:20],
                "failure_count": len(failures),
            }
        )
    )
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
