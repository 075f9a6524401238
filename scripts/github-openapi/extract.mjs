// Copies the GitHub REST operations the client calls (operations.txt) out of GitHub's OpenAPI
// description (@octokit/openapi, pinned in package.json) into tests/support/github-openapi.json,
// which the GitHub fake of the tests validates every request and answer against.
//
//   node scripts/github-openapi/extract.mjs          rewrite the file
//   node scripts/github-openapi/extract.mjs --check  fail when the file is not what it would write
//
// What it writes, per operation: the method, the path template, the path and query parameters,
// the JSON request body's schema and each response's schema. Schemas become JSON Schema 2020-12:
// - OpenAPI 3.0's `nullable: true` becomes `type: [..., "null"]` (and `null` joins an `enum`), or
//   `anyOf: [{type: null}, ...]` where there is no `type`: plain JSON Schema validators ignore
//   `nullable`, and a fake checked without it would let null-unsafe clients through;
// - `#/components/schemas/X` references become `#/$defs/X`, and only the schemas reached are kept;
//   parameter and response references are inlined;
// - annotations (descriptions, examples, titles, `x-` extensions) are dropped; any keyword this
//   script does not know stops it, so nothing is lost silently.
// patches.json is applied first: the one place where we correct the description.
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const repo = join(here, "..", "..");
const output = join(repo, "tests", "support", "github-openapi.json");
const check = process.argv.includes("--check");

function fail(message) {
  console.error(`github-openapi: ${message}`);
  process.exit(1);
}

const pinned = JSON.parse(readFileSync(join(here, "package.json"), "utf8")).dependencies["@octokit/openapi"];
// scripts/test.sh may install the package elsewhere (a cache) and say where.
const packageDir = process.env.MARKETPLACE_RELEASE_GITHUB_OPENAPI ?? join(here, "node_modules", "@octokit", "openapi");
let installed;
try {
  installed = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")).version;
} catch {
  fail(`@octokit/openapi is not installed at ${packageDir}; run: (cd scripts/github-openapi && npm ci)`);
}
if (installed !== pinned) {
  fail(`@octokit/openapi ${installed} is installed but package.json pins ${pinned}; run: (cd scripts/github-openapi && npm ci)`);
}
const file = "generated/api.github.com.json";
const description = JSON.parse(readFileSync(join(packageDir, file), "utf8"));

// ---- patches --------------------------------------------------------------------------------
const { patches } = JSON.parse(readFileSync(join(here, "patches.json"), "utf8"));

function pointer(document, path) {
  let node = document;
  for (const raw of path.split("/").slice(1)) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (node === null || typeof node !== "object" || !(key in node)) return undefined;
    node = node[key];
  }
  return node;
}

for (const patch of patches) {
  const parentPath = patch.at.split("/").slice(0, -1).join("/");
  const key = patch.at.split("/").pop().replaceAll("~1", "/").replaceAll("~0", "~");
  const parent = pointer(description, parentPath);
  const target = parent?.[key];
  if (target === undefined) {
    fail(`patches.json: ${patch.at} is not in ${file} ${installed}; the description changed: fix or delete the patch (${patch.source})`);
  }
  const before = JSON.stringify(target);
  if (patch.replace !== undefined) {
    parent[key] = structuredClone(patch.replace);
  } else if (patch.set !== undefined) {
    Object.assign(target, structuredClone(patch.set));
  } else {
    fail(`patches.json: ${patch.at} has neither \`set\` nor \`replace\``);
  }
  if (JSON.stringify(parent[key]) === before) {
    fail(`patches.json: ${patch.at} changes nothing in ${file} ${installed}: upstream fixed it (${patch.source}); delete the patch`);
  }
}

// ---- schema conversion ----------------------------------------------------------------------
const ANNOTATIONS = new Set([
  "description", "title", "example", "examples", "externalDocs", "xml", "readOnly", "writeOnly",
  "deprecated", "discriminator", "default",
]);
const KEPT = new Set([
  "type", "enum", "format", "required", "pattern", "minimum", "maximum", "multipleOf",
  "minLength", "maxLength", "minItems", "maxItems", "uniqueItems", "minProperties", "maxProperties",
]);
const defs = new Map(); // name -> converted schema (null while being converted)

function convertRef(ref, where) {
  const prefix = "#/components/schemas/";
  if (!ref.startsWith(prefix)) fail(`${where}: unexpected $ref ${ref}`);
  const name = ref.slice(prefix.length);
  if (!defs.has(name)) {
    defs.set(name, null);
    const source = description.components.schemas[name];
    if (source === undefined) fail(`${where}: ${ref} does not resolve`);
    defs.set(name, convert(source, `${ref}`));
  }
  return { $ref: `#/$defs/${name}` };
}

function convert(schema, where) {
  if (typeof schema === "boolean") return schema;
  if (schema === null || typeof schema !== "object") fail(`${where}: not a schema`);
  if (schema.$ref !== undefined) {
    const extra = Object.keys(schema).filter((k) => k !== "$ref" && !ANNOTATIONS.has(k));
    if (extra.length) fail(`${where}: $ref with ${extra.join(", ")} beside it (ignored by OpenAPI 3.0)`);
    return convertRef(schema.$ref, where);
  }
  const out = {};
  for (const [key, value] of Object.entries(schema)) {
    if (ANNOTATIONS.has(key) || key.startsWith("x-") || key === "nullable") continue;
    if (KEPT.has(key)) {
      out[key] = structuredClone(value);
    } else if (key === "properties") {
      out.properties = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [name, convert(sub, `${where}/properties/${name}`)]),
      );
    } else if (key === "additionalProperties" || key === "items" || key === "not") {
      out[key] = convert(value, `${where}/${key}`);
    } else if (key === "allOf" || key === "anyOf" || key === "oneOf") {
      out[key] = value.map((sub, i) => convert(sub, `${where}/${key}/${i}`));
    } else if (key === "exclusiveMinimum" || key === "exclusiveMaximum") {
      fail(`${where}: ${key} (OpenAPI 3.0's boolean form) is not converted yet`);
    } else {
      fail(`${where}: unknown schema keyword ${key}`);
    }
  }
  if (schema.nullable === true) {
    if (out.type !== undefined) {
      out.type = [...new Set([...[out.type].flat(), "null"])];
      if (out.enum && !out.enum.includes(null)) out.enum = [...out.enum, null];
      return out;
    }
    return { anyOf: [{ type: "null" }, out] };
  }
  return out;
}

function resolveComponent(object, kind, where) {
  if (object.$ref === undefined) return object;
  const prefix = `#/components/${kind}/`;
  if (!object.$ref.startsWith(prefix)) fail(`${where}: unexpected $ref ${object.$ref}`);
  const resolved = description.components[kind][object.$ref.slice(prefix.length)];
  if (resolved === undefined) fail(`${where}: ${object.$ref} does not resolve`);
  return resolved;
}

// ---- operations -----------------------------------------------------------------------------
const wanted = readFileSync(join(here, "operations.txt"), "utf8")
  .split("\n")
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith("#"));
const found = new Map();
for (const [path, item] of Object.entries(description.paths)) {
  for (const [method, operation] of Object.entries(item)) {
    if (operation && typeof operation === "object" && wanted.includes(operation.operationId)) {
      found.set(operation.operationId, { path, method, operation, shared: item.parameters ?? [] });
    }
  }
}
const missing = wanted.filter((id) => !found.has(id));
if (missing.length) fail(`operations.txt names operations ${file} ${installed} does not have: ${missing.join(", ")}`);

const operations = wanted.map((id) => {
  const { path, method, operation, shared } = found.get(id);
  const where = `${method.toUpperCase()} ${path} (${id})`;
  const parameters = [...shared, ...(operation.parameters ?? [])].map((raw) => {
    const p = resolveComponent(raw, "parameters", where);
    if (p.in !== "path" && p.in !== "query") fail(`${where}: parameter ${p.name} in ${p.in} is not supported`);
    const parameter = { name: p.name, in: p.in, required: p.required === true };
    if (p["x-multi-segment"] === true) parameter.multi_segment = true;
    parameter.schema = convert(p.schema ?? {}, `${where} parameter ${p.name}`);
    return parameter;
  });
  let request_body = null;
  if (operation.requestBody !== undefined) {
    const body = resolveComponent(operation.requestBody, "requestBodies", where);
    const media = body.content?.["application/json"];
    if (media === undefined) fail(`${where}: the request body is not application/json`);
    request_body = { required: body.required === true, schema: convert(media.schema, `${where} request body`) };
  }
  const responses = {};
  for (const [status, raw] of Object.entries(operation.responses)) {
    const response = resolveComponent(raw, "responses", `${where} ${status}`);
    const media = response.content?.["application/json"];
    responses[status] = media?.schema ? convert(media.schema, `${where} ${status}`) : null;
  }
  const result = {
    id,
    method: method.toUpperCase(),
    path,
    docs: operation.externalDocs?.url ?? null,
    parameters,
    request_body,
    responses,
  };
  if (operation["x-github-breaking-changes"]) result.breaking_changes = operation["x-github-breaking-changes"];
  return result;
});

// basic-error is GitHub's answer to any failed call, documented for the operation or not (401s).
convertRef("#/components/schemas/basic-error", "basic-error");

const extract = {
  about: "Generated by scripts/github-openapi/extract.mjs from GitHub's REST API description; do not edit: change operations.txt or patches.json there and re-run it.",
  source: { package: "@octokit/openapi", version: installed, file, openapi: description.openapi },
  patches,
  operations,
  $defs: Object.fromEntries([...defs.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))),
};
const text = `${JSON.stringify(extract, null, 1)}\n`;

if (check) {
  let current = "";
  try {
    current = readFileSync(output, "utf8");
  } catch {
    // reported below
  }
  if (current !== text) {
    fail(`${output} is not what @octokit/openapi ${installed} with operations.txt and patches.json gives; run: node scripts/github-openapi/extract.mjs, and commit the result`);
  }
  console.log(`github-openapi: tests/support/github-openapi.json matches @octokit/openapi ${installed} (${operations.length} operations, ${defs.size} schemas, ${patches.length} patches)`);
} else {
  writeFileSync(output, text);
  console.log(`github-openapi: wrote tests/support/github-openapi.json from @octokit/openapi ${installed} (${operations.length} operations, ${defs.size} schemas, ${patches.length} patches, ${text.length} bytes)`);
}
