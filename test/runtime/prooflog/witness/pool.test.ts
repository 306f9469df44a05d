// Witness policy on the log side, end to end over HTTP: a hung witness costs only its own signature and never
// holds up a shutdown; with a k-of-n quorum a checkpoint too few witnesses cosigned is not published; an idle log
// re-signs on an interval, so witnesses keep attesting that it is alive.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createServer, type Server, type Socket } from "node:net";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { ALG_COSIGNATURE_V1, generateKey, openNote } from "../../../../runtime/prooflog/note.js";
import { newCosignatureVerifier } from "../../../../runtime/prooflog/witness/cosignature.js";
import { witnessService } from "../../../../runtime/prooflog/witness/service.js";
import { startService } from "../../../../runtime/kit/index.js";
import { startLogServer, type ServeOptions } from "../../../../runtime/prooflog/serve.js";
import { LogClient } from "../../../../runtime/prooflog/client.js";

const clock = new ManualClock(1_700_000_000_000);
const wkey = generateKey("good.example/witness", ALG_COSIGNATURE_V1);
const hungKey = generateKey("hung.example/witness", ALG_COSIGNATURE_V1);
let good: { url: string; close(): Promise<void> };
let goodUrl = "";
let hung: Server;
let hungUrl = "";
const sockets: Socket[] = [];
/** One log key per test; the good witness follows them all. */
const logKeys = new Map(["hung", "gate", "drain", "idle"].map((n) => [n, generateKey(`meridian.test/pool-${n}`)]));

beforeAll(async () => {
  good = await startService(witnessService, { key: wkey.signerKey, logs: [...logKeys.values()].map((k) => k.verifierKey), data: ":memory:", server: { port: 0 } }, { clock, processMetrics: false });
  goodUrl = good.url;
  // A witness that accepts connections and never answers.
  hung = createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => hung.listen(0, "127.0.0.1", r));
  hungUrl = `http://127.0.0.1:${(hung.address() as { port: number }).port}`;
});
afterAll(async () => {
  await good.close();
  for (const s of sockets) s.destroy();
  hung.close();
});

function logOptions(name: string, o: Partial<ServeOptions>): ServeOptions {
  const origin = `meridian.test/pool-${name}`;
  const keys = logKeys.get(name)!;
  return {
    origin,
    signerKey: keys.signerKey,
    dataDir: mkdtempSync(join(tmpdir(), "pool-")),
    port: 0,
    checkpointIntervalMs: 20,
    witnesses: [
      { url: goodUrl, verifier: newCosignatureVerifier(wkey.verifierKey) },
      { url: hungUrl, verifier: newCosignatureVerifier(hungKey.verifierKey) },
    ],
    notice: () => undefined,
    ...o,
  };
}

async function until<T>(probe: () => Promise<T | undefined>): Promise<T> {
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe("witness pool", () => {
  it("a hung witness costs only its own signature: checkpoints keep coming, cosigned by the live one", async () => {
    const { app, url } = await startLogServer(logOptions("hung", { witnessTimeoutMs: 200, witnessQuorum: 1 }));
    const client = new LogClient(url);
    for (let i = 0; i < 20; i++) await client.add(Buffer.from(`e${i}`));
    const note = await until(async () => {
      const n = await client.checkpoint();
      return n.split("\n")[1] === "20" ? n : undefined;
    });
    expect(openNote(note, [newCosignatureVerifier(wkey.verifierKey)]).sigs.map((s) => s.name)).toEqual(["good.example/witness"]);
    expect(note).not.toMatch(/hung\.example/);
    await app.close();
  });

  it("k-of-n gating: with a quorum of 2 and one witness hung, the log keeps acknowledging but publishes nothing new", async () => {
    const { app, url, log } = await startLogServer(logOptions("gate", { witnessTimeoutMs: 100, witnessQuorum: 2 }));
    const client = new LogClient(url);
    const before = await client.checkpoint(); // the empty tree's checkpoint needs no witness
    expect((await client.add(Buffer.from("acknowledged"))).index).toBe(0);
    // Several publication rounds, each failing its quorum.
    for (let i = 0; i < 3; i++) await log.publishCheckpoint();
    expect(await client.checkpoint()).toBe(before);
    expect(before.split("\n")[1]).toBe("0");
    await app.close();
  });

  it("shutdown does not wait for a hung witness", async () => {
    const { app, url } = await startLogServer(logOptions("drain", { witnessTimeoutMs: 600_000, checkpointIntervalMs: 10 }));
    await new LogClient(url).add(Buffer.from("x"));
    await new Promise((r) => setTimeout(r, 50)); // a publication is now waiting on the hung witness
    await app.close(); // resolves well inside the test's default timeout, not after 10 minutes
  });

  it("an idle log re-signs on an interval: the same size, fresh witness cosignatures", async () => {
    const { app, url } = await startLogServer(
      logOptions("idle", { witnessTimeoutMs: 200, republishIntervalMs: 50, witnesses: [{ url: goodUrl, verifier: newCosignatureVerifier(wkey.verifierKey) }] }),
    );
    const client = new LogClient(url);
    await client.add(Buffer.from("only entry"));
    const first = await until(async () => {
      const n = await client.checkpoint();
      return n.split("\n")[1] === "1" && n.includes("good.example") ? n : undefined;
    });
    clock.advance(60_000);
    const later = await until(async () => {
      const n = await client.checkpoint();
      return n !== first ? n : undefined;
    });
    expect(later.split("\n").slice(0, 3)).toEqual(first.split("\n").slice(0, 3)); // same origin, size, root
    expect(openNote(later, [newCosignatureVerifier(wkey.verifierKey)]).sigs).toHaveLength(1);
    await app.close();
  });
});
