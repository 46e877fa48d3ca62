// Emulated Workers bindings for Pyodide in Node: `env.AI`, a Vectorize v2 index binding, D1 and Browser
// Run (Browser, below), that behave as workerd's do (src/cloudflare/internal/ai-api.ts, vectorize-api.ts;
// developers.cloudflare.com/workers-ai/configuration/bindings/,
// developers.cloudflare.com/vectorize/reference/client-api/) and forward to the local emulator's REST API
// over fetch (127.0.0.1):
// - AI.run(model, inputs, options) answers the raw result (the REST envelope's `result`), or the body as a
//   ReadableStream when the answer is not JSON (`stream: true`: SSE); a failure throws
//   InferenceUpstreamError("<code>: <message>"), as ai-api.ts builds it from the service's errors.
// - query / insert / upsert / getByIds / deleteByIds / describe answer what vectorize-api.ts answers;
//   a failure throws Error("<OPERATION>_ERROR (code = <code>): <message>").
// - An argument that holds a PyProxy is refused with a TypeError: a real binding serializes its
//   arguments (JSON.stringify, or structured clone over RPC), which a borrowed Python object does not
//   survive, so the Python side must hand over plain JS values.

export class InferenceUpstreamError extends Error {
  constructor(message, name = "InferenceUpstreamError") {
    super(message);
    this.name = name;
  }
}

function refuseProxies(pyodide, value, where, seen = new Set()) {
  if (value instanceof pyodide.ffi.PyProxy) {
    throw new TypeError(`${where}: a PyProxy cannot be passed to a binding; convert it to a JS value`);
  }
  if (value && typeof value === "object" && !seen.has(value) && !ArrayBuffer.isView(value)) {
    seen.add(value);
    for (const item of Object.values(value)) refuseProxies(pyodide, item, where, seen);
  }
}

async function firstError(res) {
  const text = await res.text();
  try {
    const body = JSON.parse(text);
    const err = (body.errors || [])[0];
    if (err) return { code: err.code, message: err.message };
  } catch {
    // not JSON: fall through
  }
  return { code: undefined, message: text };
}

class Api {
  constructor(config) {
    this.config = config;
  }
  url(path) {
    return `${this.config.baseUrl}/accounts/${this.config.accountId}/${path}`;
  }
  fetch(path, init = {}) {
    const headers = { authorization: `Bearer ${this.config.token}`, ...(init.headers || {}) };
    return fetch(this.url(path), { ...init, headers });
  }
}

export class Ai {
  constructor(pyodide, config) {
    this.pyodide = pyodide;
    this.api = new Api(config);
    this.lastRequestHttpStatusCode = null;
    this.lastRun = null; // {model, options} of the last run, as the binding received them (JSON)
  }

  async run(model, inputs, options = {}) {
    refuseProxies(this.pyodide, [model, inputs, options], "AI.run");
    if (typeof model !== "string") throw new TypeError("AI.run: model must be a string");
    this.lastRun = JSON.stringify({ model, options });
    // workerd's ai-api.ts sends the options beside the inputs; the Batch API's is queueRequest.
    const query = options && options.queueRequest ? "?queueRequest=true" : "";
    const res = await this.api.fetch(`ai/run/${model}${query}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(inputs),
    });
    this.lastRequestHttpStatusCode = res.status;
    if (!res.ok || !res.body) {
      const { code, message } = await firstError(res);
      throw new InferenceUpstreamError(code === undefined ? message : `${code}: ${message}`);
    }
    if ((res.headers.get("content-type") || "").startsWith("application/json")) {
      return (await res.json()).result;
    }
    return res.body;
  }
}

// env.AI.toMarkdown(files, {conversionOptions}) posts the documents' blobs as multipart `files` parts and
// answers the REST `result` (one object for one document); env.AI.toMarkdown() is the service, with
// supported() (@cloudflare/workers-types ToMarkdownService; markdown-conversion/usage/binding/).
Ai.prototype.toMarkdown = function toMarkdown(files, options = {}) {
  const ai = this;
  const send = async (path, init) => {
    const res = await ai.api.fetch(path, init);
    ai.lastRequestHttpStatusCode = res.status;
    if (!res.ok) {
      const { code, message } = await firstError(res);
      throw new InferenceUpstreamError(code === undefined ? message : `${code}: ${message}`);
    }
    return (await res.json()).result;
  };
  if (files === undefined) return { supported: () => send("ai/tomarkdown/supported", { method: "GET" }) };
  refuseProxies(this.pyodide, [files, options], "AI.toMarkdown");
  const list = Array.isArray(files) ? files : [files];
  const form = new FormData();
  for (const doc of list) {
    if (!(doc.blob instanceof Blob)) throw new TypeError("AI.toMarkdown: each document needs a Blob");
    form.append("files", doc.blob, doc.name);
  }
  if (options && options.conversionOptions) form.append("conversionOptions", JSON.stringify(options.conversionOptions));
  return send("ai/tomarkdown", { method: "POST", body: form }).then((r) => (Array.isArray(files) ? r : r[0]));
};

export class VectorizeIndex {
  constructor(pyodide, config, indexName) {
    this.pyodide = pyodide;
    this.api = new Api(config);
    this.indexName = indexName;
  }

  async _send(operation, endpoint, init, args) {
    refuseProxies(this.pyodide, args, operation);
    const res = await this.api.fetch(`vectorize/v2/indexes/${this.indexName}/${endpoint}`, init);
    if (res.status !== 200) {
      const { code, message } = await firstError(res);
      throw new Error(
        code === undefined
          ? `${operation}_ERROR: Status + ${res.status}`
          : `${operation}_ERROR (code = ${code}): ${message}`,
      );
    }
    return (await res.json()).result;
  }

  _json(body) {
    return { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  }

  _ndjson(vectors) {
    const rows = vectors.map((v) => ({ ...v, values: Array.isArray(v.values) ? v.values : Array.from(v.values) }));
    return {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body: rows.map((r) => JSON.stringify(r)).join("\n"),
    };
  }

  describe() {
    return this._send("INDEX_GET", "info", { method: "GET" }, []);
  }

  query(vector, options = {}) {
    const opts = { ...options };
    if (typeof opts.returnMetadata === "boolean") opts.returnMetadata = opts.returnMetadata ? "all" : "none";
    const values = Array.isArray(vector) ? vector : Array.from(vector);
    return this._send("VECTOR_QUERY", "query", this._json({ ...opts, vector: values }), [vector, options]);
  }

  insert(vectors) {
    return this._send("VECTOR_INSERT", "insert", this._ndjson(vectors), [vectors]);
  }

  upsert(vectors) {
    return this._send("VECTOR_UPSERT", "upsert", this._ndjson(vectors), [vectors]);
  }

  getByIds(ids) {
    return this._send("VECTOR_GET", "get_by_ids", this._json({ ids }), [ids]);
  }

  deleteByIds(ids) {
    return this._send("VECTOR_DELETE", "delete_by_ids", this._json({ ids }), [ids]);
  }
}

// A Browser Run binding (developers.cloudflare.com/browser-run/quick-actions/: `quickAction(action,
// params)`, compatibility date 2026-03-24 or later): posts the params to the REST endpoint of the action
// and answers the service's Response as it is (a JS `Response`: status, headers, body), as a Worker gets
// it. No crawl: it has no Quick Action ("available via the REST API only").
export class Browser {
  constructor(pyodide, config) {
    this.pyodide = pyodide;
    this.api = new Api(config);
    this.actions = [];
  }
  async quickAction(action, params) {
    refuseProxies(this.pyodide, [action, params], "BROWSER.quickAction");
    if (typeof action !== "string" || action === "crawl") {
      throw new TypeError(`BROWSER.quickAction: no Quick Action ${JSON.stringify(action)}`);
    }
    this.actions.push(action);
    return this.api.fetch(`browser-rendering/${action}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(params),
    });
  }
}

// A D1 binding (D1Database; developers.cloudflare.com/d1/worker-api/d1-database/ and
// prepared-statements/): prepare(sql) -> a statement; bind(...values) -> a new statement (undefined is
// refused with D1_TYPE_ERROR, as D1 does); all() -> a D1Result {results, success, meta}; raw({columnNames})
// -> the column names, then the rows; batch(statements) -> a D1Result each, in one transaction. A refused
// statement throws Error("D1_ERROR: <message>"). Forwards to the emulator's D1 REST API.
class D1PreparedStatement {
  constructor(db, sql, params = []) {
    this.db = db;
    this.sql = sql;
    this.params = params;
  }
  bind(...values) {
    refuseProxies(this.db.pyodide, values, "D1PreparedStatement.bind");
    values.forEach((value, i) => {
      if (value === undefined) throw new Error(`D1_TYPE_ERROR: Type 'undefined' not supported for value ${i + 1}`);
    });
    return new D1PreparedStatement(this.db, this.sql, values);
  }
  body() {
    return { sql: this.sql, params: this.params };
  }
  async all() {
    return (await this.db._send("query", this.body()))[0];
  }
  async raw(options = {}) {
    const { columns, rows } = (await this.db._send("raw", this.body()))[0].results;
    return options && options.columnNames ? [columns, ...rows] : rows;
  }
}

export class D1Database {
  constructor(pyodide, config, databaseId) {
    this.pyodide = pyodide;
    this.api = new Api(config);
    this.databaseId = databaseId;
    this.calls = 0;
  }
  prepare(sql) {
    if (typeof sql !== "string") throw new TypeError("D1Database.prepare: sql must be a string");
    return new D1PreparedStatement(this, sql);
  }
  async batch(statements) {
    if (!Array.isArray(statements) || !statements.every((s) => s instanceof D1PreparedStatement)) {
      throw new TypeError("D1Database.batch: expected an array of D1PreparedStatement");
    }
    return this._send("query", { batch: statements.map((s) => s.body()) });
  }
  async _send(op, body) {
    this.calls += 1;
    const res = await this.api.fetch(`d1/database/${this.databaseId}/${op}`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`D1_ERROR: ${(await firstError(res)).message}`);
    return (await res.json()).result;
  }
}
