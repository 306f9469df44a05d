// Selective disclosure of audit records (#22, §13.3.3): a record committed as Merkle-salted fields, its signed
// statement appended to a real proof log served in-process, and an auditor checking a disclosure against the
// log key and the issuer key only. The refusals are the attacks: a changed value, a field outside the policy,
// a forged log inclusion proof, a checkpoint signed by another key, a field proof moved to another index.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { commitRecord, disclose, fetchLogProof, appendStatement, verifyDisclosure, type Disclosure, type Opening } from "../../../runtime/compliance/index.js";
import { generateKey, newVerifier, signCheckpoint, newSigner, openCheckpoint } from "../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../runtime/prooflog/serve.js";
import { MemoryStore } from "../../../runtime/prooflog/storage/store.js";

const ORIGIN = "meridian.test/compliance-log";
const logKeys = generateKey(ORIGIN);
const issuer = generateKey("meridian.test/auditee");
const policy = { allow: ["region", "sold", "period"] };
const record = {
  id: "escrow-audit-2026-12-03-eu",
  fields: { region: "eu-west", sold: 41_250, period: "2026-11", customer: "ACME Holdings GmbH", iban: "DE89370400440532013000", notes: "manual override by ops@acme" },
};
const SECRETS = ["ACME Holdings GmbH", "DE89370400440532013000", "manual override by ops@acme", "customer", "iban", "notes"];

let app: FastifyInstance;
let url: string;
let opening: Opening;
let disclosure: Disclosure;
const opts = () => ({ logVerifiers: [newVerifier(logKeys.verifierKey)], issuers: [newVerifier(issuer.verifierKey)], policy, origin: ORIGIN });
const clone = (d: Disclosure): Disclosure => JSON.parse(JSON.stringify(d)) as Disclosure;

beforeAll(async () => {
  const s = await startLogServer({ origin: ORIGIN, signerKey: logKeys.signerKey, store: new MemoryStore(), port: 0, checkpointIntervalMs: 50 });
  app = s.app;
  url = s.url;
  // Other entries around ours, so the log proof is not trivial.
  for (let i = 0; i < 5; i++) await appendStatement(url, `unrelated entry ${i}`);
  opening = commitRecord(record, issuer.signerKey);
  opening.logIndex = await appendStatement(url, opening.statement);
  for (let i = 5; i < 9; i++) await appendStatement(url, `unrelated entry ${i}`);
  disclosure = disclose(opening, policy, await fetchLogProof(url, opening.logIndex, 10_000));
});
afterAll(async () => {
  await app?.close();
});

describe("selective disclosure against the proof log", () => {
  it("an auditor verifies the disclosed fields, the issuer's statement and its inclusion under the signed checkpoint", () => {
    const v = verifyDisclosure(disclosure, opts());
    expect(v).toMatchObject({ id: record.id, fieldCount: 6, fields: { region: "eu-west", sold: 41_250, period: "2026-11" }, log: { origin: ORIGIN, index: 5 } });
    expect(v.log.size).toBeGreaterThan(5);
    expect(Object.keys(v.fields).sort()).toEqual(["period", "region", "sold"]);
  });

  it("the disclosure bytes hold no undisclosed value, name or salt", () => {
    const bytes = JSON.stringify(disclosure);
    for (const s of SECRETS) expect(bytes).not.toContain(s);
    for (const f of opening.fields.filter((f) => !policy.allow.includes(f.name))) {
      expect(bytes).not.toContain(f.salt);
      expect(bytes).not.toContain(Buffer.from(f.salt, "base64").toString("hex"));
    }
    // The opening (the holder's secret) does hold them: the test would catch a disclosure that copied it.
    for (const s of SECRETS) expect(JSON.stringify(opening)).toContain(s);
  });

  it("a tampered field value is refused", () => {
    const d = clone(disclosure);
    d.fields.find((f) => f.name === "sold")!.value = 41_000;
    expect(() => verifyDisclosure(d, opts())).toThrow(/field "sold" is not in the committed record/);
    const s = clone(disclosure);
    s.fields.find((f) => f.name === "sold")!.value = "41250"; // same digits, another JSON type
    expect(() => verifyDisclosure(s, opts())).toThrow(/field "sold" is not in the committed record/);
  });

  it("a field the policy does not allow is refused, even when genuinely committed", () => {
    const wide = disclose(opening, { allow: [...policy.allow, "customer"] }, disclosure.log);
    expect(() => verifyDisclosure(wide, { ...opts(), policy: { allow: [...policy.allow, "customer"] } })).not.toThrow();
    expect(() => verifyDisclosure(wide, opts())).toThrow(/field "customer" is not one the policy allows/);
  });

  it("a renamed field, a proof moved to another index, or a field disclosed twice is refused", () => {
    const r = clone(disclosure);
    r.fields[0]!.name = "period2";
    expect(() => verifyDisclosure(r, { ...opts(), policy: { allow: [...policy.allow, "period2"] } })).toThrow(/not in the committed record/);
    const m = clone(disclosure);
    m.fields[0]!.index = (m.fields[0]!.index + 1) % 6;
    expect(() => verifyDisclosure(m, opts())).toThrow(/not in the committed record|disclosed twice/);
    const t = clone(disclosure);
    t.fields.push(t.fields[0]!);
    expect(() => verifyDisclosure(t, opts())).toThrow(/disclosed twice/);
  });

  it("a forged log inclusion proof, another index, or a statement that is not the logged one is refused", () => {
    const f = clone(disclosure);
    f.log.inclusionProof[0] = Buffer.alloc(32, 7).toString("base64");
    expect(() => verifyDisclosure(f, opts())).toThrow(/statement not in the log/);
    const i = clone(disclosure);
    i.log.index = 4;
    expect(() => verifyDisclosure(i, opts())).toThrow(/statement not in the log/);
    // A record never logged, though signed by the issuer and internally consistent.
    const unlogged = commitRecord(record, issuer.signerKey);
    const u = disclose(unlogged, policy, disclosure.log);
    expect(() => verifyDisclosure(u, opts())).toThrow(/statement not in the log/);
  });

  it("a checkpoint signed by another key (same origin) is refused, as is a statement from another issuer", () => {
    const mallory = generateKey(ORIGIN);
    const { checkpoint } = openCheckpoint(disclosure.log.checkpoint, [newVerifier(logKeys.verifierKey)]);
    const forged = clone(disclosure);
    forged.log.checkpoint = signCheckpoint(checkpoint, [newSigner(mallory.signerKey)]);
    expect(() => verifyDisclosure(forged, opts())).toThrow(/log checkpoint: note has no signature from a known key/);
    expect(() => verifyDisclosure(disclosure, { ...opts(), issuers: [newVerifier(generateKey("meridian.test/auditee").verifierKey)] })).toThrow(/record statement/);
  });
});
