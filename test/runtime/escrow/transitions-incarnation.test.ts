/**
 * The escrow's state-transition log lives in its process, so a restart starts a new, empty log. With the same
 * signer key file, a witness (here a Go program built from the reference golang.org/x/mod/sumdb/{note,tlog},
 * transitions-go/witness.go) that saw the first incarnation's checkpoint must never be shown the second's as the same
 * log: that would be a rollback (size N, then a smaller tree) or a fork, equivocation a transparency log must never
 * present. Each incarnation is its own log: its own origin, `meridian-escrow/<regions>/<incarnation>`, and its own
 * note key name (the key file's key, named after that origin), so the second's checkpoint does not open under the
 * first's verifier key, while one incarnation's later checkpoints extend its earlier ones.
 */
import { execFile, execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { defineEscrowService } from "../../../runtime/escrow/serve.js";
import type { EscrowService } from "../../../runtime/escrow/service.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { parseVerifierKey } from "../../../runtime/prooflog/note.js";
import { testConfig } from "./fixture.js";

const run = promisify(execFile);
const GOCODE = "/usr/share/gocode";
const tmp = mkdtempSync(join(tmpdir(), "escrow-incarnation-"));
const bin = join(tmp, "witness");
const keyFile = join(tmp, "transitions.key");
const running: RunningService[] = [];

type Served = { origin: string; vkey: string; size: number; checkpoint: string };

async function startEscrow(): Promise<RunningService> {
  const config = await testConfig(["eu", "us"], {
    skus: [{ sku: "tix", total: 100, globalReserve: 0, allocation: { eu: 60, us: 40 }, refill: { batchSize: 10, reorderPoints: { eu: 5, us: 5 } } }],
  });
  const raw = JSON.parse(JSON.stringify({ ...config, transitionsKeyFile: keyFile, server: { port: 0 } })) as Record<string, unknown>;
  const svc = await startService(defineEscrowService(), raw, { clock: systemClock, processMetrics: false });
  running.push(svc);
  return svc;
}

let buyers = 0;
async function sell(svc: RunningService, region: string, qty: number): Promise<void> {
  const service = (svc.parts as { service: EscrowService }).service;
  const user = `buyer-${++buyers}`;
  const r = (await service.sale("tix", region))!.escrow.tryReserve(user, qty)!;
  expect(await service.commit(r.id, { user, tier: "standard", weight: 1, admin: false })).toMatchObject({ status: "sold" });
}

async function checkpoint(svc: RunningService, name: string): Promise<Served & { file: string }> {
  const served = (await (await fetch(`${svc.url}/v1/transitions/checkpoint`)).json()) as Served;
  const file = join(tmp, `${name}.checkpoint`);
  writeFileSync(file, served.checkpoint);
  return { ...served, file };
}

/** The Go witness's verdict on seeing checkpoint `a`, then `b` (whose entries `url` serves). */
async function witness(vkey: string, a: string, b: string, url: string): Promise<string> {
  try {
    return (await run(bin, [vkey, a, b, url])).stdout;
  } catch (e) {
    return (e as { stdout: string }).stdout;
  }
}

beforeAll(() => {
  mkdirSync(join(tmp, "src", "escrowwitness"), { recursive: true });
  copyFileSync(fileURLToPath(new URL("./transitions-go/witness.go", import.meta.url)), join(tmp, "src", "escrowwitness", "main.go"));
  execFileSync("go", ["build", "-o", bin, "escrowwitness"], {
    cwd: tmp,
    env: { ...process.env, GOPATH: `${tmp}:${GOCODE}`, GO111MODULE: "off", GOPROXY: "off", GOFLAGS: "", GOTOOLCHAIN: "local", GOCACHE: join(tmp, "gocache") },
    stdio: "pipe",
  });
  writeFileSync(keyFile, `${generateKey("meridian-escrow/eu.us").signerKey}\n`);
}, 120_000);
afterAll(async () => {
  for (const s of running) await s.close().catch(() => undefined);
  rmSync(tmp, { recursive: true, force: true });
});

describe("the transition log across a restart with the same key file", () => {
  it("a restarted escrow's log is another log: Go's note/tlog never see a rollback or fork of the first", { timeout: 120_000 }, async () => {
    const first = await startEscrow();
    await sell(first, "eu", 3);
    const a1 = await checkpoint(first, "a1");
    await sell(first, "us", 2);
    const a2 = await checkpoint(first, "a2");
    expect(a2.size).toBeGreaterThan(a1.size);
    expect(a1.size).toBeGreaterThan(0);
    // Within one incarnation, a later checkpoint extends an earlier one (the witness checks it with tlog) ...
    expect(await witness(a1.vkey, a1.file, a2.file, first.url)).toMatch(/^ok note\.Open A: .*\nok B extends A: \d+ -> \d+\n$/);
    // ... and the witness does catch a rollback when it sees one.
    expect(await witness(a1.vkey, a2.file, a1.file, first.url)).toMatch(/^FAIL rollback/m);
    await first.close();

    // kill and restart: the same config, the same key file, a new (empty) log.
    const second = await startEscrow();
    const b0 = await checkpoint(second, "b0");
    await sell(second, "eu", 1);
    const b1 = await checkpoint(second, "b1");
    for (const b of [b0, b1]) {
      const verdict = await witness(a2.vkey, a2.file, b.file, second.url);
      expect(verdict, verdict).toMatch(/^ok note\.Open A: .*\nok another log: /);
    }
    // Both are the operator's logs: the key file's public key signs each, under each incarnation's own origin.
    expect(b1.origin).not.toBe(a2.origin);
    for (const cp of [a2, b1]) {
      expect(cp.origin).toMatch(/^meridian-escrow\/eu\.us\/[0-9a-f]{16}$/);
      expect(parseVerifierKey(cp.vkey).name).toBe(cp.origin);
    }
    expect(parseVerifierKey(b1.vkey).publicKey).toEqual(parseVerifierKey(a2.vkey).publicKey);
  });
});
