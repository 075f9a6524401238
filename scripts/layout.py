#!/usr/bin/env python3
"""The import rules of ARCHITECTURE.md, checked on the tree (run by scripts/check-layout.sh).

1. Floors: every top-level module of src/ has a floor (FLOORS below, lowest first). A module
   may name only modules on lower floors (or itself); two modules on one floor (the two front
   ends, the two adapters) never name each other.
2. No import circle between files: the graph of `crate::…`, `super::…` and child-module paths
   between the files of src/ has no cycle.
3. Stages are independent: a file of src/stages/ names only the stages' shared files
   (STAGE_SHARED) and the files of its own stage folder, never another stage.
4. One `aws_config` load site: only AWS_CONFIG_SITE calls `aws_config::defaults` or `load_*`.
5. The environment is read by the front ends and the engine's runner environment only
   (ENV_READERS): nothing below them calls `std::env::var*`.
6. Sizes: no function over MAX_FN physical lines (its `fn` line to its closing brace), no
   file over MAX_FILE lines before its `#[cfg(test)]` module.

Unit-test modules (`#[cfg(test)]` to the end of the file, or a `mod tests` file) are left out:
tests may reach anything they test. Comments and string literals are not code.
Exit status 1 with one line per breach, each naming the file and the line.
"""

import os
import re
import sys

# Lowest first. A name is a top-level module of src/ (`main` is src/main.rs, the binary).
FLOORS = [
    ["diagnostic"],
    ["output"],
    ["files"],
    ["domain"],
    ["template"],
    ["config"],
    ["plan"],
    ["aws", "github"],
    ["stages"],
    ["release"],
    ["cli", "action"],
    ["main"],
]

# The files of src/stages/ that every stage may use: what the stages share.
STAGE_SHARED = {
    "src/stages/mod.rs",
    "src/stages/cancel.rs",
    "src/stages/error.rs",
    "src/stages/wait.rs",
    "src/stages/instance.rs",
    "src/stages/image.rs",
    "src/stages/tag.rs",
}

AWS_CONFIG_SITE = "src/aws/config.rs"
ENV_READERS = ("src/cli/", "src/action/", "src/main.rs", "src/release/env.rs")
MAX_FN = 80
MAX_FILE = 800

SRC = "src"


def strip_code(text):
    """The text with comments and string/char literals blanked (line structure kept)."""
    out = []
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            out.append(" " * (j - i))
            i = j
        elif text.startswith("/*", i):
            depth, j = 1, i + 2
            while j < n and depth:
                if text.startswith("/*", j):
                    depth, j = depth + 1, j + 2
                elif text.startswith("*/", j):
                    depth, j = depth - 1, j + 2
                else:
                    j += 1
            out.append(re.sub(r"[^\n]", " ", text[i:j]))
            i = j
        elif c == "r" and re.match(r'r#*"', text[i:i + 10]) and not re.match(r"\w", text[i - 1:i] or " "):
            m = re.match(r'r(#*)"', text[i:])
            end = text.find('"' + m.group(1), i + len(m.group(0)))
            end = n if end < 0 else end + 1 + len(m.group(1))
            out.append(re.sub(r"[^\n]", " ", text[i:end]))
            i = end
        elif c == '"':
            j = i + 1
            while j < n and text[j] != '"':
                j += 2 if text[j] == "\\" else 1
            out.append(re.sub(r"[^\n]", " ", text[i:j + 1]))
            i = j + 1
        elif c == "'" and re.match(r"'(\\.|[^\\'])'", text[i:i + 4] or ""):
            m = re.match(r"'(\\.|[^\\'])'", text[i:])
            out.append(" " * len(m.group(0)))
            i += len(m.group(0))
        else:
            out.append(c)
            i += 1
    return "".join(out)


def without_tests(code):
    # An inline test module (`#[cfg(test)] mod tests { … }`) runs to the end of the file; a
    # declared one (`#[cfg(test)] mod tests;`) is a file of its own, left out by name.
    m = re.search(r"^#\[cfg\(test\)\]\s*\n\s*(pub(\([\w:]+\))?\s+)?mod \w+\s*\{", code, re.M)
    return code[: m.start()] if m else code


def files():
    found = []
    for d, _, names in os.walk(SRC):
        for name in names:
            if name.endswith(".rs"):
                found.append(os.path.join(d, name))
    return sorted(found)


def module_path(path):
    """src/a/b.rs and src/a/b/mod.rs → ['a', 'b']; src/lib.rs → []."""
    rel = os.path.relpath(path, SRC)[:-3].split(os.sep)
    if rel[-1] == "mod" or rel == ["lib"]:
        rel = rel[:-1]
    return rel


def is_test_file(path, code):
    return os.path.basename(path) == "tests.rs" or re.match(r"\s*#!\[cfg\(test\)\]", code)


def top(path):
    rel = os.path.relpath(path, SRC).split(os.sep)
    return rel[0][:-3] if rel[0].endswith(".rs") else rel[0]


USE = re.compile(r"\buse\s+([^;]+);")
PATH = re.compile(r"(?<![\w:])((?:crate|super|self)(?:::\w+)+)")


def expand_use(tree):
    """`crate::{a::b, c::{d, e}}` → ['crate::a::b', 'crate::c::d', 'crate::c::e']."""
    tree = re.sub(r"\s+", "", tree)
    m = re.match(r"^(.*?)::\{(.*)\}$", tree)
    if not m:
        return [re.sub(r"\bas\w+$", "", tree.split(" as ")[0])]
    head, body = m.group(1), m.group(2)
    parts, depth, cur = [], 0, ""
    for ch in body:
        if ch == "," and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    if cur:
        parts.append(cur)
    out = []
    for p in parts:
        p = re.sub(r"as\w+$", "", p) if "as" in p and not p.endswith("::*") else p
        out.extend(expand_use(head + "::" + p) if p != "self" else [head])
    return out


def resolve(path_text, here, modules, exports):
    """The file a path names, from the module `here` (a list), or None outside the crate. A
    name that a module re-exports (`pub use inner::Thing`) resolves to the file defining it."""
    segs = path_text.split("::")
    if segs[0] == "crate":
        mod, segs = [], segs[1:]
    elif segs[0] in ("super", "self"):
        mod = list(here)
        while segs and segs[0] in ("super", "self"):
            if segs[0] == "super":
                mod = mod[:-1]
            segs = segs[1:]
    else:
        mod = list(here)
    for s in segs:
        if tuple(mod + [s]) in modules:
            mod.append(s)
            continue
        file = modules.get(tuple(mod))
        target = exports.get(file, {}).get(s)
        return target or file
    return modules.get(tuple(mod))


def reexports(codes, modules):
    """For each file, the names it re-exports (`pub use …`) and the file each comes from."""
    exports = {}
    for _ in range(4):  # re-exports of re-exports
        for path, code in codes.items():
            here = module_path(path)
            for m in re.finditer(r"\bpub(?:\([\w:]+\))?\s+use\s+([^;]+);", code):
                for p in expand_use(m.group(1)):
                    name = p.split("::")[-1]
                    if name == "*":
                        continue
                    target = resolve(p, here, modules, exports)
                    if target and target != path:
                        exports.setdefault(path, {})[name] = target
    return exports


def function_sizes(code):
    lines = code.split("\n")
    out = []
    for i, line in enumerate(lines):
        if not re.match(r"^\s*(pub(\([\w:]+\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?(extern\s+\"C\"\s+)?fn\s+\w+", line):
            continue
        depth, started = 0, False
        for j in range(i, len(lines)):
            s = lines[j]
            depth += s.count("{") - s.count("}")
            started = started or "{" in s
            if started and depth <= 0:
                break
            if not started and s.rstrip().endswith(";"):
                break
        if started:
            out.append((i + 1, j - i + 1, line.strip()))
    return out


def main():
    floor = {m: i for i, ms in enumerate(FLOORS) for m in ms}
    breaches = []
    modules, codes = {}, {}
    for path in files():
        modules[tuple(module_path(path))] = path
        if path == os.path.join(SRC, "main.rs"):
            modules.pop((), None)
            modules[()] = os.path.join(SRC, "lib.rs")
    for path in files():
        raw = open(path, encoding="utf-8").read()
        code = strip_code(raw)
        if is_test_file(path, code):
            continue
        codes[path] = without_tests(code)

    exports = reexports(codes, modules)
    edges = {}
    for path, code in codes.items():
        here = module_path(path) if path != "src/main.rs" else []
        me = top(path)
        if me not in floor and me != "lib":
            breaches.append(f"{path}: the module `{me}` has no floor in scripts/layout.py (FLOORS): add it where it belongs")
        children = set(re.findall(r"^\s*(?:pub(?:\([\w:]+\))?\s+)?mod\s+(\w+)\s*;", code, re.M))
        named = []
        for m in USE.finditer(code):
            line = code.count("\n", 0, m.start()) + 1
            for p in expand_use(m.group(1)):
                named.append((line, p))
        for m in PATH.finditer(code):
            named.append((code.count("\n", 0, m.start()) + 1, m.group(1)))
        for child in children:
            for m in re.finditer(r"(?<![\w:])" + child + r"::\w+", code):
                named.append((code.count("\n", 0, m.start()) + 1, "self::" + m.group(0)))
        if path == "src/main.rs":
            named = [(l, p.replace("marketplace_release::", "crate::")) for l, p in named]
            for m in re.finditer(r"marketplace_release((?:::\w+)+)", code):
                named.append((code.count("\n", 0, m.start()) + 1, "crate" + m.group(1)))
        for line, p in named:
            target = resolve(p, here, modules, exports)
            if not target or target == path:
                continue
            if target == os.path.join(SRC, "lib.rs"):
                continue
            edges.setdefault(path, {}).setdefault(target, line)
            a, b = me, top(target)
            if a != b and a in floor and b in floor:
                if floor[b] > floor[a]:
                    breaches.append(f"{path}:{line}: `{a}` names `{b}`, a floor above it ({p}); move the shared piece down, or pass it in")
                elif floor[b] == floor[a]:
                    breaches.append(f"{path}:{line}: `{a}` names `{b}`, its sibling on the same floor ({p}); siblings never name each other")
            if a == "stages" and b == "stages" and target not in STAGE_SHARED:
                folder = os.path.dirname(path)
                if folder == os.path.join(SRC, "stages") or os.path.dirname(target) != folder:
                    breaches.append(f"{path}:{line}: a stage names another stage's file {target} ({p}); move what both need into a shared file of src/stages/ ({', '.join(sorted(os.path.basename(s) for s in STAGE_SHARED))})")

    # Circles between files (Tarjan).
    index, low, stack, on, sccs = {}, {}, [], set(), []
    counter = [0]

    def strong(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges.get(v, {}):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                sccs.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(edges):
        if v not in index:
            strong(v)
    for comp in sccs:
        steps = []
        for a in comp:
            for b, line in edges.get(a, {}).items():
                if b in comp:
                    steps.append(f"{a}:{line} → {b}")
        breaches.append("an import circle between files: " + "; ".join(sorted(steps)))

    for path, code in codes.items():
        for m in re.finditer(r"\baws_config::(defaults|load_defaults|load_from_env|from_env|ConfigLoader)\b", code):
            if path != AWS_CONFIG_SITE:
                line = code.count("\n", 0, m.start()) + 1
                breaches.append(f"{path}:{line}: the AWS config is loaded here; load it only in {AWS_CONFIG_SITE} (once a run) and pass the SdkConfig down")
        for m in re.finditer(r"\bstd::env::(var|var_os|vars|vars_os)\b", code):
            if not path.startswith(ENV_READERS):
                line = code.count("\n", 0, m.start()) + 1
                breaches.append(f"{path}:{line}: reads the environment; only the front ends and release/env.rs do (RunnerEnv): pass the value in")
        lines = code.count("\n") + 1
        if lines > MAX_FILE:
            breaches.append(f"{path}: {lines} lines before its test module (at most {MAX_FILE}): split it by what its parts do")
        for line, size, head in function_sizes(code):
            if size > MAX_FN:
                breaches.append(f"{path}:{line}: `{head[:60]}` is {size} lines (at most {MAX_FN}): split it into named steps")

    breaches = list(dict.fromkeys(breaches))
    for b in breaches:
        print("layout: " + b, file=sys.stderr)
    if breaches:
        print(f"layout: {len(breaches)} breach(es) of ARCHITECTURE.md's rules", file=sys.stderr)
        return 1
    print(f"layout: {len(codes)} files on {len(FLOORS)} floors; every import points down, no circle, no stage names another, one AWS config load site")
    return 0


if __name__ == "__main__":
    sys.exit(main())
