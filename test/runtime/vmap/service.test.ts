// The map service over HTTP with a real proof log: writes need the writer identity and are recorded in the log
// before they are acknowledged, reads verify in the client, a restart rebuilds every map from the log, and a
// log that is down turns a write away without applying it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { generateKey, LogClient, verifyInclusion, leafHash, openCheckpoint, newVerifier } from "../../../runtime/prooflog/index.js";
import { startLogServer, type TransparencyLog } from "../../../runtime/prooflog/services.js";
import { decodeMapEntry, MapClient } from "../../../runtime/vmap/index.js";
import { mapService } from "../../../runtime/vmap/services.js";

const ORIGIN = "meridian.test/vmap";
const keys = generateKey(ORIGIN);
let logServer: { app: { close(): Promise<void> }; url: string; log: TransparencyLog };
let auth: Awaited<ReturnType<typeof localOperatorAuth>>;
let token = "";

const start = () =>
  startService(
    mapService,
    { maps: ["balances", "quota"], log: logServer.url, writers: { balances: { scope: "meridian.vmap.write" }, quota: { scope: "meridian.vmap.write" } }, server: { port: 0, auth: auth.auth } },
    { clock: systemClock, processMetrics: false },
  );

beforeAll(async () => {
  logServer = await startLogServer({ origin: ORIGIN, signerKey: keys.signerKey, dataDir: mkdtempSync(join(tmpdir(), "vmap-log-")), port: 0, checkpointIntervalMs: 20 });
  auth = await localOperatorAuth(systemClock);
  token = await auth.token({ scope: "meridian.vmap.write" });
});
afterAll(() => logServer.app.close());

describe("map service", () => {
  it("records writes in the proof log, serves verified reads, and rebuilds from the log after a restart", async () => {
    const svc = await start();
    const writer = new MapClient(svc.url, { headers: { authorization: `Bearer ${token}` } });
    const reader = new MapClient(svc.url);
    await expect(reader.write("balances", [["acct:1", Buffer.from("100")]])).rejects.toThrow(/HTTP 401/);
    const w1 = await writer.write("balances", [
      ["acct:1", Buffer.from("100")],
      ["acct:2", Buffer.from("250")],
    ]);
    const w2 = await writer.write("balances", [
      ["acct:1", Buffer.from("90")],
      ["acct:3", Buffer.from("10")],
    ]);
    expect([w1.revision, w2.revision]).toEqual([1, 2]);
    expect((await reader.read("balances", "acct:1")).value!.toString()).toBe("90");
    expect((await reader.read("balances", "acct:9")).value).toBeNull();
    expect((await reader.readMany("balances", ["acct:2", "acct:3"])).values.map((v) => v!.toString())).toEqual(["250", "10"]);
    expect((await reader.readPrefix("balances", "acct:")).entries.map(([k, v]) => `${k}=${v}`)).toEqual(["acct:1=90", "acct:2=250", "acct:3=10"]);
    await expect(reader.read("balances", "acct:1", w1.root)).rejects.toThrow(/not the trusted/);
    expect((await fetch(`${svc.url}/v1/maps/nope/root`)).status).toBe(404);
    const bad = await fetch(`${svc.url}/v1/maps/balances/writes`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ writes: [{ key: "x".repeat(40), value: null }] }),
    });
    expect(bad.status).toBe(400);

    // The root of revision 2 is in the log: the entry is provably included in a signed checkpoint.
    const log = new LogClient(logServer.url);
    let cp = openCheckpoint(await log.checkpoint(), [newVerifier(keys.verifierKey)], ORIGIN).checkpoint;
    while (cp.size <= w2.logIndex!) {
      await new Promise((r) => setTimeout(r, 20));
      cp = openCheckpoint(await log.checkpoint(), [newVerifier(keys.verifierKey)], ORIGIN).checkpoint;
    }
    const entry = await log.entry(w2.logIndex!, cp.size);
    expect(Buffer.from(decodeMapEntry(entry)!.root).toString("base64")).toBe(w2.root);
    verifyInclusion(w2.logIndex!, cp.size, leafHash(entry), await log.inclusionProof(w2.logIndex!, cp.size), cp.root);
    await svc.close();

    const again = await start();
    const after = new MapClient(again.url);
    expect((await after.root("balances")).root).toBe(w2.root);
    expect((await after.read("balances", "acct:3")).value!.toString()).toBe("10");
    await again.close();
  });

  it("turns a write away, unapplied, when the proof log cannot record it", async () => {
    const svc = await start();
    const writer = new MapClient(svc.url, { headers: { authorization: `Bearer ${token}` } });
    const before = await writer.root("quota");
    await logServer.app.close();
    await expect(writer.write("quota", [["tenant:a", Buffer.from("5")]])).rejects.toThrow(/HTTP 503.*not recorded, so it was not applied/);
    expect(await writer.root("quota")).toEqual(before);
    await svc.close();
  });
});
