// The Worker whose env.AI / env.VECTORIZE are workerd's own wrapped bindings (config.capnp): one binding
// call per request, POST {target, method, args} -> {value} or {thrown: {name, message}}; a stream's value
// is {stream: <its text>}. The same protocol as ../contract.mjs, which runs the emulated bindings.
export default {
  async fetch(request, env) {
    const { target, method, args } = await request.json();
    try {
      let value = await env[target][method](...args);
      if (value instanceof ReadableStream) value = { stream: await new Response(value).text() };
      return Response.json({ value });
    } catch (e) {
      return Response.json({ thrown: { name: e.name, message: e.message } });
    }
  },
};
