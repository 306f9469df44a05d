/**
 * Load generator for bench/ratelimit.ts's RLS rows, in its own process so the servers measured own the
 * bench process: `rls-load <host:port> <ms> <concurrency>` calls ShouldRateLimit (grpc-js, the request
 * bytes from Envoy's published proto) with `concurrency` calls in flight for `ms`, over 1,000 api keys,
 * and prints {"rate","ok","errors"} on one line.
 */
import * as grpc from "@grpc/grpc-js";
import { loadRlsService } from "../../runtime/ratelimit/service/proto.js";

const [target, msArg, concArg] = process.argv.slice(2) as [string, string, string];
// Requests are encoded once with the service's own serializer and responses are not decoded (only
// overall_code, field 1, is read from the bytes), so a client call costs little next to a server call
// and the servers, not the clients, are what the rounds measure.
const method = loadRlsService().service.ShouldRateLimit!;
const client = new grpc.Client(target, grpc.credentials.createInsecure());
const requests = Array.from({ length: 1000 }, (_, i) => method.requestSerialize({ domain: "bench", descriptors: [{ entries: [{ key: "api_key", value: `key-${i}` }] }], hits_addend: 1 }));
const identity = (b: Buffer) => b;
// overall_code is field 1 (varint): 0x08 then the code; OK is 1.
const call = (i: number) =>
  new Promise<string>((resolve, reject) =>
    client.makeUnaryRequest(method.path, identity, identity, requests[i % requests.length]!, (err, res) => (err ? reject(err) : resolve(res && res[0] === 0x08 && res[1] === 1 ? "OK" : "OVER_LIMIT"))),
  );
for (let i = 0; i < 200; i++) await call(i); // warm the connection
let n = 0;
let ok = 0;
let errors = 0;
const ms = Number(msArg);
const start = performance.now();
const worker = async () => {
  while (performance.now() - start < ms) {
    try {
      if ((await call(n++)) === "OK") ok++;
    } catch {
      errors++;
    }
  }
};
await Promise.all(Array.from({ length: Number(concArg) }, worker));
console.log(JSON.stringify({ rate: (n * 1000) / (performance.now() - start), ok, errors }));
client.close();
