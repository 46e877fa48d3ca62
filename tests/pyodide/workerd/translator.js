// The services workerd's wrapped bindings call, answered from the emulator's REST API (a stand-in for
// Cloudflare's internal services, whose wire is not public beyond what the binding code sends):
// - ai-api.ts: POST https://workers-binding.ai/run?version=3 with {inputs, options}, the model in the
//   cf-consn-model-id header (options.queueRequest, the Batch API, becomes ?queueRequest=true on the
//   REST call); answered with the raw result (application/json), the SSE body, or the
//   error body with its status (ai-api.ts reads `errors[0].code` / `.message` from it).
// - vectorize-api.ts (v2): http://vector-search/<info|query|insert|upsert|getByIds|deleteByIds>; answered
//   with the raw result, or {code, error} with the status (vectorize-api.ts reads both).
const VECTORIZE = {
  info: ["GET", "info"],
  query: ["POST", "query"],
  insert: ["POST", "insert"],
  upsert: ["POST", "upsert"],
  getByIds: ["POST", "get_by_ids"],
  deleteByIds: ["POST", "delete_by_ids"],
};

export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    const api = `${env.BASE_URL}/accounts/${env.ACCOUNT_ID}`;
    const auth = { authorization: `Bearer ${env.TOKEN}` };
    if (url.hostname === "workers-binding.ai") {
      const { inputs, options } = await request.json();
      const model = request.headers.get("cf-consn-model-id");
      const query = options && options.queueRequest ? "?queueRequest=true" : "";
      const res = await env.emulator.fetch(`${api}/ai/run/${model}${query}`, {
        method: "POST",
        headers: { ...auth, "content-type": "application/json" },
        body: JSON.stringify(inputs),
      });
      if (!res.ok) {
        return new Response(await res.text(), { status: res.status, headers: { "content-type": "application/json" } });
      }
      if ((res.headers.get("content-type") || "").startsWith("application/json")) {
        return Response.json((await res.json()).result);
      }
      return new Response(res.body, { headers: { "content-type": "text/event-stream" } });
    }
    const [method, path] = VECTORIZE[url.pathname.slice(1)];
    const res = await env.emulator.fetch(`${api}/vectorize/v2/indexes/${env.INDEX}/${path}`, {
      method,
      headers: { ...auth, "content-type": request.headers.get("content-type") || "application/json" },
      body: method === "GET" ? undefined : await request.text(),
    });
    const body = await res.json();
    if (!res.ok) {
      const err = (body.errors || [])[0] || {};
      return Response.json({ code: err.code, error: err.message }, { status: res.status });
    }
    return Response.json(body.result);
  },
};
