import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
});
