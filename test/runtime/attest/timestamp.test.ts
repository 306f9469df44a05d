// Timestamp mode (freshness without a verifier nonce) with a live swtpm: an AK registers its TPM clock with one
// nonce-fresh quote; later quotes without a nonce are accepted while their TPMS_CLOCK_INFO moves forward within
// the configured age; a replayed or older quote, a quote after a TPM Reset (resetCount changed) and a quote the
// clock dates beyond the age are refused, and re-registering with a nonce restores it. The pure rules first.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { ManualClock } from "../../../runtime/common/clock.js";
import { clockFreshness, NonceBook, verifyAttestation, verifyTimestamped, type ClockAnchor } from "../../../runtime/attest/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { createAk, quote, startSoftwareTpm, type SoftwareTpm } from "./swtpm.js";

describe("TPM clock freshness rules", () => {
  const anchor: ClockAnchor = { clock: "10000", at: 1_000_000, resetCount: 3, restartCount: 1, last: "12000" };
  const o = { now: 1_005_000, maxAgeMs: 60_000 };
  const q = (over: Partial<{ clock: string; resetCount: number; restartCount: number; safe: boolean }> = {}) => ({ clock: "14000", resetCount: 3, restartCount: 1, safe: true, ...over });
  it("accepts a safe clock past the last accepted one, dated within the age; a restart (not a reset) is allowed", () => {
    expect(clockFreshness(anchor, q(), o)).toMatchObject({ ok: true });
    expect(clockFreshness(anchor, q({ restartCount: 2 }), o)).toMatchObject({ ok: true });
  });
  it("refuses an unregistered AK, an unsafe clock, a reset, a clock at or before the last accepted, and a stale quote", () => {
    expect(clockFreshness(undefined, q(), o)).toMatchObject({ ok: false, why: "unregistered" });
    expect(clockFreshness(anchor, q({ safe: false }), o)).toMatchObject({ ok: false, why: "unsafe" });
    expect(clockFreshness(anchor, q({ resetCount: 4 }), o)).toMatchObject({ ok: false, why: "reset", detail: expect.stringMatching(/re-register/) });
    expect(clockFreshness(anchor, q({ restartCount: 0 }), o)).toMatchObject({ ok: false, why: "backwards" });
    expect(clockFreshness(anchor, q({ clock: "12000" }), o)).toMatchObject({ ok: false, why: "backwards" });
    expect(clockFreshness(anchor, q({ clock: "11000" }), o)).toMatchObject({ ok: false, why: "backwards" });
    // Quote clock 14000 ⇒ made at 1_004_000; 61 s later it is beyond the 60 s age.
    expect(clockFreshness(anchor, q(), { ...o, now: 1_004_000 + 60_001 })).toMatchObject({ ok: false, why: "stale" });
  });
});

let tpm: SoftwareTpm;
let akPem: string;
const AK = "0x81010002";
const REF = { sha256: { "0": "00".repeat(32) } };
const keys = generateKey("timestamp-test");

beforeAll(async () => {
  tpm = await startSoftwareTpm();
  const ak = createAk(tpm, "ak", "rsa");
  // A persistent AK survives a TPM Reset, so the same AK can quote across one.
  tpm.tool("tpm2_evictcontrol", ["-C", "o", "-c", ak.ctx, AK]);
  akPem = readFileSync(ak.pem, "utf8");
});
afterAll(() => tpm?.stop());

const files = (name: string, nonce?: string) => {
  const q = nonce
    ? quote(tpm, AK, nonce, name)
    : (tpm.tool("tpm2_quote", ["-c", AK, "-l", "sha256:0", "-m", `${name}.msg`, "-s", `${name}.sig`, "-o", `${name}.pcrs`, "-g", "sha256"]),
      { message: `${tpm.dir}/${name}.msg`, signature: `${tpm.dir}/${name}.sig`, pcrs: `${tpm.dir}/${name}.pcrs` });
  return { message: readFileSync(q.message), signature: readFileSync(q.signature), pcrs: readFileSync(q.pcrs) };
};

describe("timestamp mode with swtpm", () => {
  it("registers by a nonce-fresh quote, then accepts nonce-less quotes as the TPM clock advances; refuses replays, resets and stale quotes", async () => {
    const clock = new ManualClock(Date.now());
    const clocks = new Map<string, ClockAnchor>();
    const nonces = new NonceBook(clock);
    const ts = (evidence: ReturnType<typeof files>) =>
      verifyTimestamped({ evidence, ak: akPem, reference: REF, node: "node-1" }, { clocks, maxAgeMs: 60_000, signerKey: keys.signerKey, clock }).result;
    const register = async () => {
      const n = nonces.issue(60_000).nonce;
      return (await verifyAttestation({ evidence: files(`reg-${n.slice(0, 8)}`, n), ak: akPem, nonce: n, reference: REF }, { nonces, signerKey: keys.signerKey, clock, clocks })).result;
    };

    const early = files("early"); // made before registration: older than the anchor
    expect(ts(early)).toMatchObject({ accepted: false, reason: expect.stringMatching(/^freshness: timestamp: no nonce-fresh quote registered/) });
    expect(await register()).toMatchObject({ accepted: true });
    const t1 = files("t1");
    const r1 = ts(t1);
    expect(r1, r1.reason).toMatchObject({ accepted: true, nonce: "", freshness: { ok: true } });
    expect(ts(t1).reason).toMatch(/^freshness: timestamp: clock \d+ is not past \d+, the latest accepted: a replayed or older quote/);
    expect(ts(early).reason).toMatch(/is not past .* a replayed or older quote/);
    const t2 = files("t2");
    expect(ts(t2).accepted).toBe(true);

    // The verifier's time moves on while the TPM's clock says the quote is old.
    const stale = files("stale");
    clock.advance(120_000);
    expect(ts(stale).reason).toMatch(/^freshness: timestamp: the TPM clock dates the quote .*; at most 60000 ms/);

    // An orderly reboot (Shutdown(CLEAR), _TPM_Init, Startup(CLEAR)) is a TPM Reset: resetCount changes, so
    // the node's quotes are refused until it re-registers with a nonce.
    const powerCycle = (orderly: boolean) => {
      if (orderly) tpm.tool("tpm2_shutdown", ["-c"]);
      const init = spawnSync("swtpm_ioctl", ["--tcp", `127.0.0.1:${tpm.port + 1}`, "-i"], { encoding: "utf8" });
      expect(init.status, init.stderr).toBe(0);
      tpm.tool("tpm2_startup", ["-c"]);
    };
    powerCycle(true);
    expect(ts(files("after-reset")).reason).toMatch(/^freshness: timestamp: resetCount is \d+, registered \d+: the TPM was reset since registration; re-register/);
    expect(await register()).toMatchObject({ accepted: true });
    expect(ts(files("after-reregister")).accepted).toBe(true);
    // A power loss (no Shutdown) leaves the clock unsafe: it proves no order, whatever the counters say.
    powerCycle(false);
    expect(ts(files("after-power-loss")).reason).toMatch(/^freshness: timestamp: clockInfo.safe is 0/);
  });
});
