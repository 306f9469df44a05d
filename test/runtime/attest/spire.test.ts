// SPIRE admission: a NodeAttestor plugin maps this verifier's signed result to SPIRE's AgentAttributes. An
// accepted, fresh result for the node (the vendored swtpm quote; AMD's SEV-SNP sample) gives the agent ID and
// selectors from the attested state; a refused, stale, forged or other node's result is a refusal.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { ManualClock } from "../../../runtime/common/clock.js";
import { spireAgentAttributes, verifyAttestation, type NonceStore } from "../../../runtime/attest/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";

const tpmData = (f: string) => readFileSync(new URL(`../../testdata/attest/${f}`, import.meta.url));
const snpData = (f: string) => readFileSync(new URL(`../../testdata/sev-snp/${f}`, import.meta.url));
const PCR16 = "9ef814b42fa0be12d197c44d3e8e03441a4b1118237658368ba1351090e556ed";
const MEASUREMENT = "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01";
const keys = generateKey("spire-test");
const clock = new ManualClock(Date.parse("2026-12-03T12:00:00Z"));
const issued: NonceStore = { issue: () => ({ nonce: "", expiresAt: 0 }), consume: () => ({ ok: true }) };
const deps = { nonces: issued, signerKey: keys.signerKey, clock };
const tpmEvidence = { message: tpmData("quote.msg"), signature: tpmData("quote.sig"), pcrs: tpmData("quote.pcrs") };
const o = { verifierKey: keys.verifierKey, now: clock.now(), maxAgeMs: 600_000, node: "node-1", trustDomain: "meridian.test" };

describe("SPIRE NodeAttestor answer from an attestation result", () => {
  it("admits a node with an accepted TPM result: agent ID under /spire/agent/meridian_attest, selectors from the quoted PCRs", async () => {
    const { note, result } = await verifyAttestation(
      { evidence: tpmEvidence, ak: tpmData("ak.pem").toString(), nonce: "0011223344556677", reference: { sha256: { "16": PCR16 } }, node: "node-1" },
      deps,
    );
    expect(spireAgentAttributes(note, o)).toEqual({
      spiffe_id: "spiffe://meridian.test/spire/agent/meridian_attest/node-1",
      selector_values: [
        "node:node-1",
        "format:tpm",
        `ak:${result.ak}`,
        `pcr:sha256:0:${"00".repeat(32)}`,
        `pcr:sha256:1:${"00".repeat(32)}`,
        `pcr:sha256:2:${"00".repeat(32)}`,
        `pcr:sha256:16:${PCR16}`,
      ],
      can_reattest: true,
    });
    expect(spireAgentAttributes(note, { ...o, node: "node-2" })).toEqual({ refused: "node node-2: attestation result is for node-1, not node-2" });
    expect(spireAgentAttributes(note, { ...o, now: clock.now() + 600_001 })).toMatchObject({ refused: expect.stringMatching(/older than 600000 ms/) });
    expect(spireAgentAttributes(note.replace("node-1", "node-9"), { ...o, node: "node-9" })).toMatchObject({ refused: expect.stringMatching(/does not verify/) });
    expect(spireAgentAttributes(undefined, o)).toEqual({ refused: "node node-1: no attestation result" });
    expect(() => spireAgentAttributes(note, { ...o, trustDomain: "Bad Domain" })).toThrow(/trust domain/);
  });

  it("refuses a node whose result was refused, and selects an SEV-SNP guest by its measurement", async () => {
    const bad = await verifyAttestation({ evidence: tpmEvidence, ak: tpmData("ak.pem").toString(), nonce: "0011223344556677", reference: { sha256: { "16": "00".repeat(32) } }, node: "node-1" }, deps);
    expect(spireAgentAttributes(bad.note, o)).toMatchObject({ refused: expect.stringMatching(/^node node-1: attestation refused: reference: sha256 PCR 16/) });
    const snp = await verifyAttestation(
      {
        format: "sev-snp",
        evidence: { report: snpData("attestation.bin"), vcek: snpData("vcek.testcer"), chain: snpData("ask_ark_milan.pem") },
        endorsement: snpData("ask_ark_milan.pem").toString(),
        nonce: "0102030405",
        reference: { measurement: MEASUREMENT, allowDebug: true },
        node: "cvm-1",
      },
      deps,
    );
    const attrs = spireAgentAttributes(snp.note, { ...o, node: "cvm-1" });
    expect(attrs).toMatchObject({ spiffe_id: "spiffe://meridian.test/spire/agent/meridian_attest/cvm-1" });
    expect((attrs as { selector_values: string[] }).selector_values).toEqual(expect.arrayContaining(["format:sev-snp", `measurement:${MEASUREMENT}`]));
  });
});
