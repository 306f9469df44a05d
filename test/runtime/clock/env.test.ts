import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PROTO_DIR } from "../../../runtime/ratelimit/service/proto.js";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { hlcNodeFromEnv } from "../../../runtime/clock/env.js";
import { generateKey } from "../../../runtime/prooflog/note.js";
import { startLogServer } from "../../../runtime/prooflog/serve.js";
import { startServer } from "../../../runtime/ratelimit/service/server.js";

const AHEAD = () => `${(Date.now() + 60_000) * 1000}.0`;

describe("HLC propagation in the deployed services (MERIDIAN_HLC_MAX_OFFSET_MS)", () => {
  const dir = mkdtempSync(join(tmpdir(), "meridian-hlc-"));
  let log: Awaited<ReturnType<typeof startLogServer>>;
  let rl: Awaited<ReturnType<typeof startServer>>;

  beforeAll(async () => {
    const env = { MERIDIAN_HLC_MAX_OFFSET_MS: "250" };
    log = await startLogServer({ origin: "example.com/hlc-test", signerKey: generateKey("example.com/hlc-test").signerKey, dataDir: join(dir, "log"), port: 0, hlc: hlcNodeFromEnv(env) });
    const config = join(dir, "rl.yaml");
    writeFileSync(config, "domain: d\ndescriptors:\n  - key: k\n    rate_limit: { unit: second, requests_per_unit: 10 }\n");
    rl = await startServer({ configPath: config, port: 0, grpcPort: 0, host: "127.0.0.1", hlc: hlcNodeFromEnv(env) });
  });
  afterAll(async () => {
    await log?.app.close();
    await rl?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("reads the max offset from the environment, and refuses a bad value by name", () => {
    expect(hlcNodeFromEnv({})).toBeUndefined();
    expect(hlcNodeFromEnv({ MERIDIAN_HLC_MAX_OFFSET_MS: "250" })?.hlc).toBeDefined();
    expect(() => hlcNodeFromEnv({ MERIDIAN_HLC_MAX_OFFSET_MS: "soon" })).toThrow(/MERIDIAN_HLC_MAX_OFFSET_MS=soon/);
  });

  it("the proof log answers with its HLC and refuses an entry stamped beyond max offset (nothing appended)", async () => {
    const ok = await fetch(`${log.url}/add`, { method: "POST", body: "first" });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-meridian-hlc")).toMatch(/^\d+\.\d+$/);
    const ahead = await fetch(`${log.url}/add`, { method: "POST", body: "from the future", headers: { "x-meridian-hlc": AHEAD() } });
    expect(ahead.status).toBe(409);
    expect(log.log.size).toBe(1);
  });

  it("the rate-limit HTTP API does the same", async () => {
    const url = `http://127.0.0.1:${rl.httpPort}/v1/ratelimit`;
    const body = JSON.stringify({ domain: "d", descriptors: [{ entries: [{ key: "k", value: "v" }] }] });
    const ok = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body });
    expect(ok.status).toBe(200);
    expect(ok.headers.get("x-meridian-hlc")).toMatch(/^\d+\.\d+$/);
    const ahead = await fetch(url, { method: "POST", headers: { "content-type": "application/json", "x-meridian-hlc": AHEAD() }, body });
    expect(ahead.status).toBe(409);
  });

  it("the RLS gRPC API carries the HLC in `meridian-hlc` metadata and refuses one beyond max offset", async () => {
    const def = protoLoader.loadSync("envoy/service/ratelimit/v3/rls.proto", { includeDirs: [PROTO_DIR], keepCase: true, enums: String, longs: Number, defaults: true });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { envoy: { service: { ratelimit: { v3: { RateLimitService: grpc.ServiceClientConstructor } } } } };
    const client = new pkg.envoy.service.ratelimit.v3.RateLimitService(`127.0.0.1:${rl.grpcPort}`, grpc.credentials.createInsecure()) as unknown as {
      ShouldRateLimit(req: unknown, md: grpc.Metadata, cb: (e: grpc.ServiceError | null, v: { overall_code: string }) => void): grpc.ClientUnaryCall;
      close(): void;
    };
    const request = { domain: "d", descriptors: [{ entries: [{ key: "k", value: "g" }] }] };
    const call = (md: grpc.Metadata) =>
      new Promise<{ err: grpc.ServiceError | null; code?: string; hlc?: string }>((resolve) => {
        let hlc: string | undefined;
        const c = client.ShouldRateLimit(request, md, (err, v) => resolve({ err, code: v?.overall_code, hlc }));
        c.on("metadata", (m: grpc.Metadata) => (hlc = m.get("meridian-hlc")[0]?.toString()));
      });
    const ok = await call(new grpc.Metadata());
    expect(ok.err).toBeNull();
    expect(ok.code).toBe("OK");
    expect(ok.hlc).toMatch(/^\d+\.\d+$/);
    const md = new grpc.Metadata();
    md.set("meridian-hlc", AHEAD());
    const refused = await call(md);
    expect(refused.err?.code).toBe(grpc.status.FAILED_PRECONDITION);
    client.close();
  });
});
