/**
 * The escrow transition log's output pinned byte for byte (runtime/escrow/transition-log.ts → runtime/fraud/
 * escrow-log.ts → escrow-machine.ts, runtime/prooflog/csmt): a fixed sequence of ledger events — refills, debits,
 * reserves, commits, cancels, expiries, voids, refunds, and events the machine refuses (an oversell, a double commit,
 * another buyer's commit, an expiry before its time, a refund of an unsold reservation) — yields the same entries,
 * state roots, log root, refusals and fraud proof as the code this was taken from (dc7315f1). A change that makes the
 * flush faster must leave every one of these hashes as it is.
 */
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import type { LedgerEvent, RegionLedger } from "../../../runtime/escrow/core/ledger.js";
import { EscrowTransitionLog } from "../../../runtime/escrow/transition-log.js";
import { checkEscrowFraudProof, decodeEntry, EscrowSequencer, proveEscrow } from "../../../runtime/fraud/index.js";
import { generateKey, newSigner } from "../../../runtime/prooflog/index.js";
import { hashBackend, hashingReady } from "../../../runtime/prooflog/rfc6962.js";

const sha = (s: string | Uint8Array) => createHash("sha256").update(s).digest("hex");

/** The fixed history: two SKUs, three regions, ~600 sales, every operation and several refusals. */
function drive(log: EscrowTransitionLog): void {
  const ledgers = new Map<string, { onEvent?: (e: LedgerEvent) => void }>();
  for (const sku of ["tix", 'odd"sku\\x'])
    for (const region of ["eu", "us", "ap"]) {
      const l: { onEvent?: (e: LedgerEvent) => void } = {};
      log.attach(l as RegionLedger, sku, region);
      ledgers.set(`${sku}/${region}`, l);
    }
  const emit = (sku: string, region: string, e: LedgerEvent) => ledgers.get(`${sku}/${region}`)!.onEvent!(e);
  for (const region of ["eu", "us", "ap"]) emit("tix", region, { op: "refill", qty: 500 });
  emit('odd"sku\\x', "eu", { op: "refill", qty: 7 });
  for (let i = 0; i < 600; i++) {
    const region = ["eu", "us", "ap"][i % 3]!;
    const id = `p${i.toString(36)}-${sha(String(i)).slice(0, 16)}`;
    const user = `user-${i % 97}`;
    emit("tix", region, { op: "reserve", id, user, qty: 1 + (i % 4), expiresAt: 1_000_000 + i });
    if (i % 10 === 3) emit("tix", region, { op: "cancel", id, user });
    else if (i % 10 === 5) emit("tix", region, { op: "expire", id, at: 1_000_000 + i });
    else if (i % 10 === 7) emit("tix", region, { op: "void", id });
    else if (i % 10 === 8)
      emit("tix", region, { op: "expire", id }); // at: the clock's
    else if (i % 10 === 9)
      emit("tix", region, { op: "commit", id, user: "someone-else" }); // refused, left reserved
    else {
      emit("tix", region, { op: "commit", id, user });
      if (i % 10 === 0) emit("tix", region, { op: "commit", id, user }); // double commit: refused
      if (i % 20 === 1) log.refund("tix", region, id);
    }
    if (i % 50 === 49) {
      emit("tix", region, { op: "debit", qty: 3 });
      emit("tix", region, { op: "refill", qty: 40 });
      log.flush();
    }
  }
  emit("tix", "eu", { op: "expire", id: `p${(6).toString(36)}-${sha("6").slice(0, 16)}`, at: 5 }); // before its expiry
  emit("tix", "us", { op: "reserve", id: "too-many", user: "x", qty: 1_000_000, expiresAt: 1 }); // oversell
  emit("tix", "us", { op: "debit", qty: 1_000_000 }); // oversell
  log.refund("tix", "eu", `p${(3).toString(36)}-${sha("3").slice(0, 16)}`); // cancelled, not sold
  emit('odd"sku\\x', "eu", { op: "reserve", id: 'q"\\~1', user: "ünï", qty: 7, expiresAt: 9 });
  emit('odd"sku\\x', "eu", { op: "commit", id: 'q"\\~1', user: "ünï" });
  emit("tix", "ap", { op: "reserve", id: "bad id", user: "x", qty: 1, expiresAt: 1 }); // not a name
}

describe("the escrow transition log's bytes", () => {
  it("are those of the pinned history: entries, roots, refusals, a fraud proof", async () => {
    await hashingReady; // the served log's hashing (WebAssembly)
    expect(hashBackend()).toBe("wasm");
    const log = new EscrowTransitionLog(new ManualClock(1_234_567), { origin: "meridian-escrow/eu.us/0123456789abcdef" });
    drive(log);
    const cp = log.checkpoint();
    const entries = log.entries(0, cp.size);
    const s = log.sequencer;
    expect({
      size: cp.size,
      entries: sha(entries.join("\n")),
      first: entries[0],
      last: entries.at(-1),
      root: cp.root,
      state: Buffer.from(s.state.root()).toString("hex"),
      posts: sha(entries.map((e) => Buffer.from(decodeEntry(Buffer.from(e)).post).toString("hex")).join("")),
      refused: log.refused,
      lastRefusal: log.lastRefusal,
    }).toMatchInlineSnapshot(`
      {
        "entries": "5d2c69fcbd63f93326417929292a831045294bb730a3ff73550cf5f5d2f03aa6",
        "first": "{"pre":"0000000000000000000000000000000000000000000000000000000000000000","tx":{"op":"refill","sku":"tix","region":"eu","qty":500},"post":"d3caa41032f840e96d5febbb2d90c429dba7b4d3c8471d67953f3f1208618305"}",
        "last": "{"pre":"4c6291c2f1d5059c5634926df1bb9e48a2928d6fd4df0a1c0561ba46f9c568a5","tx":{"op":"commit","sku":"odd\\"sku\\\\x","region":"eu","id":"q\\"\\\\~1","buyer":"e975a52994d88fc7c7bf16c547779c6d0e3cd954f3bdacba332c8858a5ff4d58"},"post":"e413851293ba80b74987456be14c152206433cc89f8990cf88c3e322898458db"}",
        "lastRefusal": "reserve in ap: id is not a name (1-128 printable ASCII)",
        "posts": "63e00060cb669e48c5ca599a8545387527d6b6fcdc171fe27bb0ac8bf60ac5ca",
        "refused": 125,
        "root": "afbc9b11bf91fecd9f9de392059850b0ec262eb7f682c248fbd3c424d7332110",
        "size": 1200,
        "state": "e413851293ba80b74987456be14c152206433cc89f8990cf88c3e322898458db",
      }
    `);
    // A challenge of one honest transition: its proof (the touched leaves under the pre root) is pinned too.
    const key = generateKey("pin");
    const seq = new EscrowSequencer("pin", newSigner(key.signerKey));
    for (const e of s.entries) seq.appendEntry(decodeEntry(e));
    const proof = proveEscrow(seq.checkpoint(), seq.entries, key.verifierKey, "pin", 1000)!;
    expect(sha(JSON.stringify({ c: proof.challenged, r: proof.reads, p: proof.proof }))).toMatchInlineSnapshot(`"c334b43f666b84020fd5f7acf5d7bbe050b9924623f45afd6941851f3f9d576a"`);
    expect(checkEscrowFraudProof(proof, key.verifierKey, "pin")).toMatchObject({ fraud: false });
  });

  it("refuses an outside tx as before (the sequencer's own validation)", () => {
    const key = generateKey("pin");
    const seq = new EscrowSequencer("pin", newSigner(key.signerKey));
    const refusal = (tx: unknown) => {
      try {
        seq.submit(tx);
        return "accepted";
      } catch (e) {
        return (e as Error).message;
      }
    };
    expect(
      [
        { op: "refill", sku: "a", region: "b", qty: 5 },
        { op: "refill", sku: "a", region: "b", qty: 5, extra: 1 },
        { op: "reserve", sku: "a", region: "b", id: "r", buyer: "B".repeat(64), qty: 1, expiresAt: 1 },
        { op: "reserve", sku: "a", region: "b", id: "r", buyer: "b".repeat(64), qty: 1.5, expiresAt: 1 },
        { op: "reserve", sku: "a", region: "b", id: "r", buyer: "b".repeat(64), qty: 1, expiresAt: -1 },
        { op: "reserve", sku: "a", region: "b", id: "r r", buyer: "b".repeat(64), qty: 1, expiresAt: 1 },
        { op: "reserve", sku: "a", region: "b", id: "r", buyer: "b".repeat(64), qty: 1, expiresAt: 1 },
        { op: "commit", sku: "a", region: "b", id: "r", buyer: "c".repeat(64) },
        { op: "commit", sku: "a", region: "b", id: "r", buyer: "b".repeat(64) },
        { op: "commit", sku: "a", region: "b", id: "r", buyer: "b".repeat(64) },
        { op: "nope", sku: "a", region: "b" },
        null,
      ].map(refusal),
    ).toMatchInlineSnapshot(`
      [
        "accepted",
        "refill has extra fields extra",
        "buyer is not a SHA-256 pseudonym",
        "qty is not a positive integer",
        "expiresAt is not a time in ms",
        "id is not a name (1-128 printable ASCII)",
        "accepted",
        "commit of reservation r by buyer cccccccccccc…, not its own buyer bbbbbbbbbbbb…",
        "accepted",
        "commit of reservation r, which is sold (double commit)",
        "op "nope" is not an escrow ledger operation",
        "tx is not an object",
      ]
    `);
    expect(sha(seq.entries.map((e) => e.toString("hex")).join(""))).toMatchInlineSnapshot(`"ce50ac98c61b23deaa1162465aaa94ce20f5d5805c579b00b1102ad8753aa97e"`);
  });
});
