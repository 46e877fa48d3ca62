// The emulated bindings of bindings.mjs (outside Pyodide) behind the same one-call-per-request protocol
// as workerd/main.js, for test_workerd_contract.py: POST {target, method, args} -> {value} or
// {thrown: {name, message}}; a stream's value is {stream: <its text>}. Prints "PORT <n>" once listening.
//   node contract.mjs   (CLOUDFLARE_API_BASE_URL, CLOUDFLARE_ACCOUNT_ID, CLOUDFLARE_API_TOKEN,
//                        WORKERSAI_CONTRACT_INDEX in the environment)
import http from "node:http";
import { Ai, VectorizeIndex } from "./bindings.mjs";

const config = {
  baseUrl: process.env.CLOUDFLARE_API_BASE_URL,
  accountId: process.env.CLOUDFLARE_ACCOUNT_ID,
  token: process.env.CLOUDFLARE_API_TOKEN,
};
const notPyodide = { ffi: { PyProxy: class PyProxy {} } }; // no Python here: nothing is a PyProxy
const env = {
  AI: new Ai(notPyodide, config),
  VECTORIZE: new VectorizeIndex(notPyodide, config, process.env.WORKERSAI_CONTRACT_INDEX),
};

const server = http.createServer(async (req, res) => {
  let body = "";
  for await (const chunk of req) body += chunk;
  const { target, method, args } = JSON.parse(body);
  let out;
  try {
    let value = await env[target][method](...args);
    if (value instanceof ReadableStream) value = { stream: await new Response(value).text() };
    out = { value };
  } catch (e) {
    out = { thrown: { name: e.name, message: e.message } };
  }
  res.writeHead(200, { "content-type": "application/json" });
  res.end(JSON.stringify(out));
});
server.listen(0, "127.0.0.1", () => console.log(`PORT ${server.address().port}`));
