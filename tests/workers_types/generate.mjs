// JSON Schemas of each catalog model's input and output, generated from Cloudflare's own TypeScript types.
//
// The npm package @cloudflare/workers-types (pinned in package.json) declares `interface AiModels` with
// one entry per Workers AI model: `{inputs, postProcessedOutputs}` (index.ts). For every model of the
// bundled catalog (workersai/data/models.json) that AiModels names, this writes a TypeScript file that
// picks those two types, runs ts-json-schema-generator over it (draft-07 schemas, objects closed with
// `additionalProperties: false` as the generator does by default), and prints one JSON document:
//
//   {package, version, generator, models: {id: {input: {$ref}, output: {$ref}}}, not_in_types: [id],
//    definitions: {...}}
//
// Names the generator makes up for anonymous types (`XOR<(alias-731470504-...)>`, positions in the
// TypeScript library files, so they change with the TypeScript version) are replaced by names made from
// the first model that reaches them, so the output only changes when the types do.
//
// Usage: node generate.mjs [output.json]   (stdout without an argument)
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const { createGenerator } = require("ts-json-schema-generator");
const ts = require("typescript");

const HERE = dirname(fileURLToPath(import.meta.url));
const TYPES = join(HERE, "node_modules", "@cloudflare", "workers-types");
const CATALOG = join(HERE, "..", "..", "workersai", "data", "models.json");
const WORK = join(HERE, ".generated");

const pkgVersion = (dir) => JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).version;

/** The keys of `interface AiModels` in the package's module declarations (index.ts). */
function aiModelKeys() {
  const file = join(TYPES, "index.ts");
  const source = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest);
  const found = source.statements.find((s) => ts.isInterfaceDeclaration(s) && s.name.text === "AiModels");
  if (!found) throw new Error("@cloudflare/workers-types declares no AiModels interface");
  return found.members.map((m) => m.name.text);
}

const catalog = JSON.parse(readFileSync(CATALOG, "utf8")).models.map((m) => m.name);
const typed = new Set(aiModelKeys());
const covered = catalog.filter((id) => typed.has(id)).sort();
const notInTypes = catalog.filter((id) => !typed.has(id)).sort();

mkdirSync(WORK, { recursive: true });
const entry = join(WORK, "contract.ts");
const lines = covered.map((id) => {
  const m = `AiModels[${JSON.stringify(id)}]`;
  return `  ${JSON.stringify(id)}: { input: ${m}["inputs"]; output: ${m}["postProcessedOutputs"] };`;
});
writeFileSync(
  entry,
  `import type { AiModels } from "@cloudflare/workers-types/index";\n` +
    `export interface Contract {\n${lines.join("\n")}\n}\n`,
);
const tsconfig = join(WORK, "tsconfig.json");
writeFileSync(
  tsconfig,
  JSON.stringify({
    compilerOptions: { strict: true, target: "es2022", module: "es2022", moduleResolution: "bundler", types: [] },
    files: ["contract.ts"],
  }),
);

const raw = createGenerator({ path: entry, tsconfig, type: "Contract", skipTypeCheck: true }).createSchema(
  "Contract",
);
const defs = raw.definitions;
const REF = "#/definitions/";
const refName = (ref) => decodeURIComponent(ref.slice(REF.length));

// Stable names: every definition whose name is not a plain identifier is renamed after the first model
// (in id order, input before output) whose schema reaches it, depth first.
const stable = /^[A-Za-z_][A-Za-z0-9_]*$/;
const renamed = new Map();
const slug = (id) => id.replace(/^@(cf|hf)\//, "").replace(/[^A-Za-z0-9]+/g, "_");
function visit(node, owner, counter) {
  if (Array.isArray(node)) return node.forEach((n) => visit(n, owner, counter));
  if (node === null || typeof node !== "object") return;
  for (const key of Object.keys(node).sort()) {
    const value = node[key];
    if (key === "$ref" && typeof value === "string" && value.startsWith(REF)) {
      const name = refName(value);
      if (renamed.has(name)) continue;
      renamed.set(name, stable.test(name) ? name : `${owner}_${++counter.n}`);
      visit(defs[name], owner, counter);
    } else {
      visit(value, owner, counter);
    }
  }
}
const contract = defs.Contract.properties;
for (const id of covered) {
  for (const side of ["input", "output"]) {
    const top = contract[id].properties[side].$ref;
    const owner = `${slug(id)}_${side}`;
    const name = top === undefined ? undefined : refName(top);
    if (name !== undefined && !renamed.has(name) && !stable.test(name)) {
      renamed.set(name, owner); // the model's own input or output type, named after it
      visit(defs[name], owner, { n: 0 });
    } else {
      visit(contract[id].properties[side], owner, { n: 0 });
    }
  }
}

function rewrite(node) {
  if (Array.isArray(node)) return node.map(rewrite);
  if (node === null || typeof node !== "object") return node;
  const out = {};
  for (const key of Object.keys(node).sort()) {
    const value = node[key];
    out[key] = key === "$ref" && typeof value === "string" && value.startsWith(REF)
      ? REF + encodeURIComponent(renamed.get(refName(value)))
      : rewrite(value);
  }
  return out;
}

const models = {};
for (const id of covered) {
  models[id] = { input: rewrite(contract[id].properties.input), output: rewrite(contract[id].properties.output) };
}
const definitions = {};
for (const [name, newName] of [...renamed].sort((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0))) {
  definitions[newName] = rewrite(defs[name]);
}
const document = {
  package: "@cloudflare/workers-types",
  version: pkgVersion(TYPES),
  generator: `ts-json-schema-generator ${pkgVersion(join(HERE, "node_modules", "ts-json-schema-generator"))}`,
  $schema: raw.$schema,
  models,
  not_in_types: notInTypes,
  definitions,
};
const text = JSON.stringify(document, null, 1) + "\n";
if (process.argv[2]) writeFileSync(process.argv[2], text);
else process.stdout.write(text);
