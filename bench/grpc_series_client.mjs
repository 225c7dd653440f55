// Node-side client of bench/grpc_series.ts: grpc-js without message decoding (bytes only), so
// the timing is dominated by the server. Usage: node grpc_series_client.mjs PORT HEXREQ...
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const grpc = require("../node_modules/@grpc/grpc-js");

const [port, ...reqs] = process.argv.slice(2);
const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure(), {
  "grpc.max_receive_message_length": -1,
});
const ident = (b) => b;
function call(req) {
  return new Promise((resolve, reject) => {
    let bytes = 0;
    let msgs = 0;
    const s = client.makeServerStreamRequest("/thanos.Store/Series", ident, ident, req);
    s.on("data", (b) => {
      bytes += b.length;
      msgs++;
    });
    s.on("error", reject);
    s.on("end", () => resolve({ bytes, msgs }));
  });
}
const out = [];
for (const hex of reqs) {
  const req = Buffer.from(hex, "hex");
  await call(req); // warm-up
  const runs = [];
  let last;
  for (let i = 0; i < 5; i++) {
    const t0 = performance.now();
    last = await call(req);
    runs.push(performance.now() - t0);
  }
  runs.sort((a, b) => a - b);
  out.push({ medianMs: runs[2], ...last });
}
client.close();
console.log(JSON.stringify(out));
