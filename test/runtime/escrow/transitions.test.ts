/**
 * The escrow service's state-transition log over HTTP, challenged by `meridian fraud challenge` (a separate process).
 * After real sales, a cancel and a refund, the running escrow's log replays with no fraud and a challenge of any one
 * of its transitions is refused. An escrow serving a tampered log — a commit of someone else's reservation slipped
 * into the real history — is caught: the challenger's proof is accepted by the fraud court over HTTP (machine
 * escrow: the claim is rejected) and, independently, by `meridian fraud check --machine escrow` from the proof file,
 * which refuses the proof once its read of the reservation is rewritten.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { defineEscrowService } from "../../../runtime/escrow/serve.js";
import type { EscrowService } from "../../../runtime/escrow/service.js";
import { buyerOf, decodeEntry, EscrowSequencer, type EscrowTx } from "../../../runtime/fraud/index.js";
import { courtService } from "../../../runtime/fraud/service.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { generateKey, newSigner } from "../../../runtime/prooflog/index.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";
import { testConfig } from "./fixture.js";

const dir = mkdtempSync(join(tmpdir(), "escrow-transitions-"));
const running: RunningService[] = [];
let escrow: RunningService;
let fake: Server;

/** The CLI as a child process, awaited (the escrow it talks to runs in this process, so no spawnSync). */
function cli(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MERIDIAN_BIN, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("exit", (status) => resolve({ status, stdout, stderr }));
  });
}

const buyer = (user: string) => ({ user, tier: "standard", weight: 1, admin: false });

beforeAll(async () => {
  const config = await testConfig(["eu", "us"], {
    skus: [{ sku: "tix", total: 100, globalReserve: 0, allocation: { eu: 60, us: 40 }, refill: { batchSize: 10, reorderPoints: { eu: 5, us: 5 } } }],
  });
  escrow = await startService(defineEscrowService(), JSON.parse(JSON.stringify({ ...config, server: { port: 0 } })) as Record<string, unknown>, { clock: systemClock, processMetrics: false });
  running.push(escrow);
  const service = (escrow.parts as { service: EscrowService }).service;
  const reserve = async (region: string, user: string, qty: number) => (await service.sale("tix", region))!.escrow.tryReserve(user, qty)!;
  const a = await reserve("eu", "alice", 3);
  expect(await service.commit(a.id, buyer("alice"))).toMatchObject({ status: "sold" });
  const b = await reserve("us", "bob", 2);
  expect(await service.commit(b.id, buyer("bob"))).toMatchObject({ status: "sold" });
  const c = await reserve("eu", "carol", 1);
  expect(await service.cancel(c.id, buyer("carol"))).toBe("cancelled");
  await reserve("eu", "dave", 4); // left open
  expect(await service.refund("tix", b.id)).toBe("refunded");
}, 60_000);
afterAll(async () => {
  for (const s of running) await s.close().catch(() => undefined);
  await new Promise((r) => (fake ? fake.close(r) : r(undefined)));
});

describe("the escrow's state-transition log", () => {
  it("publishes its ledger operations, and an honest log withstands every challenge", { timeout: 120_000 }, async () => {
    const cp = (await (await fetch(`${escrow.url}/v1/transitions/checkpoint`)).json()) as { origin: string; size: number; checkpoint: string };
    expect(cp.origin).toMatch(/^meridian-escrow\/eu\.us\/[0-9a-f]{16}$/);
    const page = (await (await fetch(`${escrow.url}/v1/transitions?start=0&limit=1000`)).json()) as { entries: string[] };
    const ops = page.entries.map((e) => (decodeEntry(Buffer.from(e)).tx as EscrowTx).op);
    expect(page.entries.length).toBeGreaterThanOrEqual(cp.size);
    for (const op of ["refill", "reserve", "commit", "cancel", "refund"]) expect(ops).toContain(op);
    // Buyers appear only as pseudonyms.
    expect(page.entries.join("\n")).not.toContain("alice");
    expect(page.entries.join("\n")).toContain(buyerOf("alice"));
    expect((await fetch(`${escrow.url}/v1/transitions?limit=5000`)).status).toBe(400);

    const all = await cli(["fraud", "challenge", "--escrow", escrow.url]);
    expect(all.status, all.stderr).toBe(1);
    expect(all.stderr).toMatch(/no fraud: all \d+ transitions check out/);
    const commitAt = ops.indexOf("commit");
    const one = await cli(["fraud", "challenge", "--escrow", escrow.url, "--index", String(commitAt)]);
    expect(one.status, one.stderr).toBe(1);
    expect(one.stderr).toMatch(new RegExp(`transition ${commitAt} cannot be challenged: entry ${commitAt} \\(commit\\) is a valid transition`));
  });

  it("a tampered log (a commit of someone else's reservation) is proven invalid to the court and to an independent check", { timeout: 120_000 }, async () => {
    // The real history, re-signed by a dishonest escrow that slips in a commit of dave's open reservation by alice.
    const page = (await (await fetch(`${escrow.url}/v1/transitions`)).json()) as { entries: string[] };
    const txs = page.entries.map((e) => decodeEntry(Buffer.from(e)).tx as EscrowTx);
    const daves = txs.find((t) => t.op === "reserve" && t.buyer === buyerOf("dave")) as Extract<EscrowTx, { op: "reserve" }>;
    const key = generateKey("meridian-escrow/eu.us");
    const s = new EscrowSequencer("meridian-escrow/eu.us", newSigner(key.signerKey));
    for (const tx of txs) s.submit(tx);
    const bad = s.appendEntry({ pre: s.state.root(), tx: { op: "commit", sku: "tix", region: daves.region, id: daves.id, buyer: buyerOf("alice") }, post: s.state.root() });
    const checkpoint = s.checkpoint();
    fake = createServer((req, res) => {
      const url = new URL(req.url!, "http://x");
      res.setHeader("content-type", "application/json");
      if (url.pathname === "/v1/transitions/checkpoint") return res.end(JSON.stringify({ origin: s.origin, vkey: key.verifierKey, size: s.entries.length, checkpoint }));
      const start = Number(url.searchParams.get("start") ?? 0);
      res.end(JSON.stringify({ start, entries: s.entries.slice(start, start + 1000).map((e) => e.toString("utf8")) }));
    });
    await new Promise<void>((r) => fake.listen(0, "127.0.0.1", r));
    const fakeUrl = `http://127.0.0.1:${(fake.address() as AddressInfo).port}`;
    const court = await startService(courtService, { vkey: key.verifierKey, machine: "escrow", server: { port: 0 } }, { clock: systemClock, processMetrics: false });
    running.push(court);
    const vkeyFile = join(dir, "escrow.vkey");
    writeFileSync(vkeyFile, `${key.verifierKey}\n`);
    const proofFile = join(dir, "proof.json");

    const r = await cli(["fraud", "challenge", "--escrow", fakeUrl, "--vkey", vkeyFile, "--court", court.url, "--out", proofFile]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toMatch(new RegExp(`fraud proven for transition ${bad} of ${bad + 1}: entry ${bad} logs an invalid commit: commit of reservation .* not its own buyer`));
    expect(r.stderr).toMatch(/court: claim 201 .*; proof 200 .*"status":"rejected"/);

    const check = await cli(["fraud", "check", "--machine", "escrow", "--vkey", vkeyFile, proofFile]);
    expect(check.status, check.stderr).toBe(0);
    expect(check.stdout).toMatch(/fraud proven: .*not its own buyer/);
    // The same proof with the reservation's leaf rewritten to alice's (so the commit would be hers) is refused.
    const proof = JSON.parse(readFileSync(proofFile, "utf8")) as { reads: { key: string; value: string | null }[] };
    proof.reads[0]!.value = proof.reads[0]!.value!.replace(buyerOf("dave"), buyerOf("alice"));
    writeFileSync(proofFile, JSON.stringify(proof));
    const forged = await cli(["fraud", "check", "--machine", "escrow", "--vkey", vkeyFile, proofFile]);
    expect(forged.status).toBe(1);
    expect(forged.stderr).toMatch(/proof refused: the leaves read are not those under entry \d+'s pre root/);
  });
});
