// Loads Pyodide once in Node, mounts the site folder (build_site.py) and the repository, defines the
// emulated `env.AI` / `env.VECTORIZE` bindings (bindings.mjs) pointed at the local emulator, runs every
// scenario of scenarios.py, and prints one line: RESULTS <json>. Driven by test_pyodide.py.
//
//   node harness.mjs   (settings in the environment: WORKERSAI_PYODIDE_SITE, WORKERSAI_REPO,
//                       CLOUDFLARE_API_BASE_URL, CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN,
//                       WORKERSAI_PYODIDE_INDEX, WORKERSAI_PYODIDE_D1, WORKERSAI_PYODIDE_BROWSER=1
//                       to bind env.BROWSER: only where the emulator can drive a Chromium)
import { loadPyodide } from "pyodide";
import { Ai, Browser, D1Database, VectorizeIndex } from "./bindings.mjs";

const need = (name) => {
  const value = process.env[name];
  if (!value) throw new Error(`harness.mjs: ${name} is not set`);
  return value;
};

const config = {
  baseUrl: need("CLOUDFLARE_API_BASE_URL"),
  accountId: need("CLOUDFLARE_ACCOUNT_ID"),
  token: need("CLOUDFLARE_API_TOKEN"),
};
const started = Date.now();
const pyodide = await loadPyodide({ stdout: (s) => console.error(s), stderr: (s) => console.error(s) });
const loadedMs = Date.now() - started;
for (const [where, dir] of [["/site", need("WORKERSAI_PYODIDE_SITE")], ["/repo", need("WORKERSAI_REPO")]]) {
  pyodide.FS.mkdirTree(where);
  pyodide.FS.mount(pyodide.FS.filesystems.NODEFS, { root: dir }, where);
}
const env = {
  AI: new Ai(pyodide, config),
  VECTORIZE: new VectorizeIndex(pyodide, config, need("WORKERSAI_PYODIDE_INDEX")),
  DB: new D1Database(pyodide, config, need("WORKERSAI_PYODIDE_D1")),
};
if (process.env.WORKERSAI_PYODIDE_BROWSER === "1") env.BROWSER = new Browser(pyodide, config);
pyodide.globals.set("env", env);
const results = await pyodide.runPythonAsync(`
import sys
sys.dont_write_bytecode = False  # keep the wasm-compiled bytecode in __pycache__ for the next run
sys.path[:0] = ["/site", "/repo", "/repo/tests/pyodide"]
import scenarios
await scenarios.run_all(env, "${need("WORKERSAI_PYODIDE_INDEX")}")
`);
const out = JSON.parse(results);
out.timings = { load_ms: loadedMs, total_ms: Date.now() - started };
console.log(`RESULTS ${JSON.stringify(out)}`);
