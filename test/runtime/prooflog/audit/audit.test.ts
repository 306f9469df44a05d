import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { AuditError, AuditTrail, decodeAuditEvent, encodeAuditEvent, monotonicTimestamps } from "../../../../runtime/prooflog/audit/audit.js";
import { TransparencyLog } from "../../../../runtime/prooflog/log.js";
import { MemoryStore } from "../../../../runtime/prooflog/storage/store.js";
import { generateKey, newSigner } from "../../../../runtime/prooflog/note.js";
import { verifyInclusion } from "../../../../runtime/prooflog/proof/verify.js";
import { leafHash } from "../../../../runtime/prooflog/rfc6962.js";

async function setup() {
  const log = await TransparencyLog.open({ origin: "meridian.test/audit", signer: newSigner(generateKey("meridian.test/audit").signerKey), store: new MemoryStore() });
  const clock = new ManualClock(1_700_000_000_000);
  return { log, clock, trail: new AuditTrail(log, monotonicTimestamps(clock)) };
}

describe("audit trail", () => {
  it("appends HLC-stamped events that decode back and are provably in the log", async () => {
    const { log, clock, trail } = await setup();
    const a = await trail.record({ actor: "alice", action: "escrow.reserve", subject: "sku-1", detail: { qty: 3, region: "eu" } });
    const b = await trail.record({ actor: "bob", action: "escrow.release", subject: "sku-1" });
    clock.advance(5);
    const c = await trail.record({ actor: "carol", action: "key.rotate", subject: "pki/root" });
    expect([a.index, b.index, c.index]).toEqual([0, 1, 2]);
    expect([a.event.timestamp, b.event.timestamp, c.event.timestamp]).toEqual([
      { wallTime: 1_700_000_000_000, logical: 0 },
      { wallTime: 1_700_000_000_000, logical: 1 },
      { wallTime: 1_700_000_000_005, logical: 0 },
    ]);
    const [entry] = await log.readEntries(0, 1);
    expect(decodeAuditEvent(entry!)).toEqual(a.event);
    verifyInclusion(0, log.size, leafHash(entry!), await log.inclusionProof(0, log.size), await log.rootAt(log.size));
  });

  it("encodes canonically: detail key order does not change the leaf", () => {
    const ts = { wallTime: 1, logical: 0 };
    const x = encodeAuditEvent({ timestamp: ts, actor: "a", action: "b", subject: "c", detail: { z: 1, a: { y: 2, b: 3 } } });
    const y = encodeAuditEvent({ timestamp: ts, actor: "a", action: "b", subject: "c", detail: { a: { b: 3, y: 2 }, z: 1 } });
    expect(x.equals(y)).toBe(true);
  });

  it("rejects invalid events, backwards timestamps and malformed entries without logging anything", async () => {
    const { log } = await setup();
    await expect(new AuditTrail(log, () => ({ wallTime: 5, logical: 0 })).record({ actor: "", action: "x", subject: "y" })).rejects.toThrow(/actor must not be empty/);
    let t = 10;
    const backwards = new AuditTrail(log, () => ({ wallTime: t--, logical: 0 }));
    await backwards.record({ actor: "a", action: "b", subject: "c" });
    await expect(backwards.record({ actor: "a", action: "b", subject: "c" })).rejects.toBeInstanceOf(AuditError);
    expect(log.size).toBe(1);
    expect(() => decodeAuditEvent(Buffer.from("{nope"))).toThrow(/not JSON/);
    expect(() => decodeAuditEvent(Buffer.from('{"v":1,"actor":"a"}'))).toThrow(/timestamp/);
  });
});
