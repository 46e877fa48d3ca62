# workerd running workerd/main.js with Cloudflare's own binding code: env.AI is the wrapped binding of
# cloudflare-internal:ai-api and env.VECTORIZE of cloudflare-internal:vectorize-api (v2, NDJSON), as
# workerd's src/cloudflare/internal/ai-api.ts and vectorize-api.ts define them; their fetcher is
# translator.js, in front of the emulator. @NAME@ is filled in by test_workerd_contract.py.
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .main),
    (name = "translator", worker = .translator),
    (name = "emulator", external = (address = "127.0.0.1:@EMULATOR_PORT@", http = ())),
  ],
  sockets = [(name = "http", address = "127.0.0.1:@PORT@", http = (), service = "main")],
);

const main :Workerd.Worker = (
  modules = [(name = "main.js", esModule = embed "main.js")],
  compatibilityDate = "2025-09-01",
  bindings = [
    (name = "AI", wrapped = (moduleName = "cloudflare-internal:ai-api", innerBindings = [
      (name = "fetcher", service = "translator")])),
    (name = "VECTORIZE", wrapped = (moduleName = "cloudflare-internal:vectorize-api", innerBindings = [
      (name = "fetcher", service = "translator"), (name = "indexId", text = "@INDEX@"),
      (name = "indexVersion", text = "v2"), (name = "useNdJson", json = "true")])),
  ],
);

const translator :Workerd.Worker = (
  modules = [(name = "translator.js", esModule = embed "translator.js")],
  compatibilityDate = "2025-09-01",
  bindings = [
    (name = "emulator", service = "emulator"),
    (name = "BASE_URL", text = "@BASE_URL@"),
    (name = "ACCOUNT_ID", text = "@ACCOUNT_ID@"),
    (name = "TOKEN", text = "@TOKEN@"),
    (name = "INDEX", text = "@INDEX@"),
  ],
);
