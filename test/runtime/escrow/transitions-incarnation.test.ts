/**
 * Without PostgreSQL (here the memory store), the escrow's state-transition log lives in its process, so a restart
 * starts a new, empty log (with PostgreSQL it is kept and continued: transport/transitions-restart.test.ts). With the same
 * signer key file, a witness (here a Go program built from the reference golang.org/x/mod/sumdb/{note,tlog},
 * transitions-go/witness.go) that saw the first incarnation's checkpoint must never be shown the second's as the same
 * log: that would be a rollback (size N, then a smaller tree) or a fork, equivocation a transparency log must never
 * present. Each incarnation is its own log: its own origin, `meridian-escrow/<regions>/<incarnation>`, and its own
 * note key name (the key file's key, named after that origin), so the second's checkpoint does not open under the
 * first's verifier key, while one incarnation's later checkpoints extend its earlier ones.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningService } from "../../../runtime/kit/index.js";
import { parseVerifierKey } from "../../../runtime/prooflog/note.js";
import { TransitionEscrows } from "./transition-escrows.js";
import { buildGoWitness, type GoWitness } from "./transitions-go/witness.js";

let go: GoWitness;
let keyFile: string;

const escrows = new TransitionEscrows();
const startEscrow = () => escrows.start({ eu: 60, us: 40 }, { transitionsKeyFile: keyFile });
const sell = async (svc: RunningService, region: string, qty: number) => void (await escrows.sell(svc, region, qty));

const checkpoint = (svc: RunningService, name: string) => go.checkpoint(svc.url, name);
const witness = (vkey: string, a: string, b: string, url: string) => go.judge(vkey, a, b, url);

beforeAll(() => {
  go = buildGoWitness();
  keyFile = go.signerKeyFile("meridian-escrow/eu.us");
}, 120_000);
afterAll(async () => {
  await escrows.closeAll();
  go?.remove();
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
    expect(await witness(a1.vkey, a1.file, a2.file, first.url)).toMatch(/^ok note\.Open A: .*\nok tlog\.CheckTree: \d+ -> \d+\nok B extends A: \d+ -> \d+\n$/);
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
