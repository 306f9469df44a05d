// `attest serve` in process with a live swtpm and a real proof log: a node's genuine quote with the verifier's
// nonce is accepted and its signed result is in the log (inclusion proof under the log's signed checkpoint);
// a replayed nonce and a quote by a key other than the node's endorsed AK are refused (and logged too); the
// relying party issues an SVID only to a node whose latest result is accepted.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { systemClock } from "../../../runtime/common/clock.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { attestationAdmission, attestService, openResult, type AttestationResult, type LogInclusion } from "../../../runtime/attest/index.js";
import { createLocalTrustDomain, SvidAdmissionError } from "../../../runtime/identity/index.js";
import { generateKey, newVerifier, openCheckpoint, verifyInclusion } from "../../../runtime/prooflog/index.js";
import { startLogServer } from "../../../runtime/prooflog/services.js";
import { leafHash } from "../../../runtime/prooflog/rfc6962.js";
import { hostileHttpSuite } from "../../hostile.js";
import { createAk, quote, startSoftwareTpm, type QuoteFiles, type SoftwareTpm } from "./swtpm.js";

const ORIGIN = "meridian.test/attest-log";
const logKeys = generateKey(ORIGIN);
const verifierKeys = generateKey("meridian-attest-test");
const EVENT = createHash("sha256").update("meridian node image v1").digest("hex");
const PCR16 = createHash("sha256")
  .update(Buffer.concat([Buffer.alloc(32), Buffer.from(EVENT, "hex")]))
  .digest("hex");
const ZERO = "00".repeat(32);
const snp = (f: string) => readFileSync(new URL(`../../testdata/sev-snp/${f}`, import.meta.url));
const nitro = (f: string) => readFileSync(new URL(`../../testdata/nitro/${f}`, import.meta.url));
const SNP_MEASUREMENT = "b07af9620f3b839b47996422ddec6058338951d984e312115131ea82705eaf5b6bdf8a9ece31a5a608eb0cf2e4872b01";
const REFERENCE = { sha256: { "0": ZERO, "1": ZERO, "2": ZERO, "16": PCR16 } };

let tpm: SoftwareTpm;
let tmp: string;
let rsa: { ctx: string; pem: string };
let ecc: { ctx: string; pem: string };
let logServer: Awaited<ReturnType<typeof startLogServer>>;
let verifier: RunningService;

beforeAll(async () => {
  tmp = mkdtempSync(join(tmpdir(), "meridian-attest-svc-"));
  tpm = await startSoftwareTpm();
  rsa = createAk(tpm, "ak", "rsa");
  ecc = createAk(tpm, "ak-ecc", "ecc");
  tpm.tool("tpm2_pcrextend", [`16:sha256=${EVENT}`]);
  logServer = await startLogServer({ origin: ORIGIN, signerKey: logKeys.signerKey, dataDir: join(tmp, "log"), port: 0, checkpointIntervalMs: 20 });
  verifier = await startService(
    attestService,
    {
      key: verifierKeys.signerKey,
      log: logServer.url,
      timestampMaxAgeSeconds: 300,
      spire: { trustDomain: "attest.test" },
      nodes: {
        "node-1": { ak: readFileSync(rsa.pem, "utf8"), reference: REFERENCE },
        // node-2's endorsed AK is the ECC one: a quote by the RSA AK is another key's.
        "node-2": { ak: readFileSync(ecc.pem, "utf8"), reference: REFERENCE },
        // An SEV-SNP guest endorsed under AMD's Milan root, its reference the published sample's measurement.
        "cvm-1": { format: "sev-snp", root: snp("ask_ark_milan.pem").toString(), reference: { measurement: SNP_MEASUREMENT, allowDebug: true } },
        // A Nitro enclave endorsed under the AWS Nitro Enclaves root, its reference the published sample's PCRs.
        "enclave-1": { format: "nitro", root: nitro("root.pem").toString(), reference: JSON.parse(nitro("reference.json").toString()) },
      },
      server: { port: 0, timeouts: { headersMs: 500, requestMs: 1000 } },
    },
    { clock: systemClock, processMetrics: false },
  );
});

afterAll(async () => {
  await verifier?.close();
  await logServer?.app.close();
  tpm?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

async function nonce(): Promise<string> {
  const res = await fetch(`${verifier.url}/v1/attest/nonce`, { method: "POST" });
  expect(res.status).toBe(200);
  return ((await res.json()) as { nonce: string }).nonce;
}

type Answer = { status: number; body: { result: AttestationResult; note: string; log?: LogInclusion; error?: string; detail?: string } };
async function submit(node: string, n: string, q: QuoteFiles): Promise<Answer> {
  const b64 = (f: string) => readFileSync(f).toString("base64");
  const res = await fetch(`${verifier.url}/v1/attest/verify`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ node, nonce: n, message: b64(q.message), signature: b64(q.signature), pcrs: b64(q.pcrs) }),
  });
  return { status: res.status, body: (await res.json()) as Answer["body"] };
}

/** The answer's result is in the log: its note is the entry under a checkpoint the log signed. */
function expectLogged(a: Answer): void {
  const inc = a.body.log!;
  expect(inc.checkpoint).toBeDefined();
  const { checkpoint } = openCheckpoint(inc.checkpoint!, [newVerifier(logKeys.verifierKey)], ORIGIN);
  verifyInclusion(
    inc.index,
    checkpoint.size,
    leafHash(Buffer.from(a.body.note)),
    inc.inclusionProof!.map((h) => Buffer.from(h, "base64")),
    checkpoint.root,
  );
}

const latestResult = async (node: string) => {
  const res = await fetch(`${verifier.url}/v1/attest/results/${encodeURIComponent(node)}`);
  return res.ok ? res.text() : undefined;
};

describe("meridian attest serve with swtpm and the proof log", () => {
  it("accepts node-1's genuine quote, logs the signed result, and admits node-1's workloads to an SVID", async () => {
    const n = await nonce();
    const a = await submit("node-1", n, quote(tpm, rsa.ctx, n, "svc-genuine"));
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.result).toMatchObject({ accepted: true, node: "node-1", nonce: n });
    const key = ((await (await fetch(`${verifier.url}/v1/attest/key`)).json()) as { verifierKey: string }).verifierKey;
    expect(key).toBe(verifierKeys.verifierKey);
    expect(openResult(a.body.note, key)).toEqual(a.body.result);
    expectLogged(a);

    const td = await createLocalTrustDomain("attest.test", systemClock, 3600, {
      admit: attestationAdmission({
        verifierKey: key,
        clock: systemClock,
        maxAgeMs: 600_000,
        nodeOf: (id) => /^\/node\/([^/]+)\//.exec(id.path)?.[1],
        resultFor: latestResult,
      }),
    });
    // A SPIRE NodeAttestor plugin asks for node-1's AgentAttributes; node-2 (never attested) is not admitted.
    const spire = await fetch(`${verifier.url}/v1/attest/spire/node-1`);
    expect(spire.status).toBe(200);
    expect(await spire.json()).toMatchObject({ spiffe_id: "spiffe://attest.test/spire/agent/meridian_attest/node-1", selector_values: expect.arrayContaining([`pcr:sha256:16:${PCR16}`]) });
    const refused = await fetch(`${verifier.url}/v1/attest/spire/node-2`);
    expect([refused.status, await refused.json()]).toEqual([403, { error: "node not admitted", detail: "node node-2: no attestation result" }]);
    const svid = await td.issueSvid("spiffe://attest.test/node/node-1/workload/api");
    expect(svid.id.uri).toBe("spiffe://attest.test/node/node-1/workload/api");
    // node-2 was never attested; an ID bound to no node is refused too.
    await expect(td.issueSvid("spiffe://attest.test/node/node-2/workload/api")).rejects.toThrow(SvidAdmissionError);
    await expect(td.issueSvid("spiffe://attest.test/node/node-2/workload/api")).rejects.toThrow(/node node-2: no attestation result/);
    await expect(td.issueSvid("spiffe://attest.test/workload/api")).rejects.toThrow(/bound to no attested node/);
  });

  it("refuses a replayed nonce and logs the refusal", async () => {
    const n = await nonce();
    const q = quote(tpm, rsa.ctx, n, "svc-replay");
    expect((await submit("node-1", n, q)).status).toBe(200);
    const again = await submit("node-1", n, q);
    expect(again.status).toBe(403);
    expect(again.body).toMatchObject({ error: "attestation refused", result: { accepted: false, status: "contraindicated" } });
    expect(again.body.detail).toMatch(/^freshness: nonce [0-9a-f]+ was already used/);
    expectLogged(again);
  });

  it("refuses a quote by another key than the node's endorsed AK, and the node then gets no SVID", async () => {
    const n = await nonce();
    const a = await submit("node-2", n, quote(tpm, rsa.ctx, n, "svc-other-key"));
    expect(a.status).toBe(403);
    expect(a.body.detail).toMatch(/^signature: the rsassa-sha256 signature does not verify with the attestation key/);
    expectLogged(a);
    const td = await createLocalTrustDomain("attest.test", systemClock, 3600, {
      admit: attestationAdmission({ verifierKey: verifierKeys.verifierKey, clock: systemClock, maxAgeMs: 600_000, nodeOf: () => "node-2", resultFor: latestResult }),
    });
    await expect(td.issueSvid("spiffe://attest.test/node/node-2/workload/api")).rejects.toThrow(/node node-2: attestation refused: signature: /);
  });

  it("appraises an SEV-SNP node's report: AMD's published sample verifies to the Milan root but carries no nonce of ours, so it is refused and logged", async () => {
    const n = await nonce();
    const post = async (body: object) => {
      const res = await fetch(`${verifier.url}/v1/attest/verify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Answer["body"] };
    };
    const parts = { report: snp("attestation.bin").toString("base64"), vcek: snp("vcek.testcer").toString("base64"), chain: snp("ask_ark_milan.pem").toString("base64") };
    const a = await post({ node: "cvm-1", nonce: n, format: "sev-snp", ...parts });
    expect(a.status).toBe(403);
    expect(a.body.result).toMatchObject({ format: "sev-snp", node: "cvm-1", accepted: false, snp: { measurement: SNP_MEASUREMENT } });
    expect(a.body.detail).toMatch(/^nonce: REPORT_DATA 0102030405/);
    expect(a.body.result.checks.filter((c) => c.ok).map((c) => c.check)).toEqual(["chain", "validity", "signature", "tcb", "policy", "reference"]);
    expectLogged(a);
    // The node's format is the operator's: TPM evidence for it, or parts missing, are refused before any appraisal.
    expect((await post({ node: "cvm-1", nonce: n, format: "tpm", ...parts })).body).toMatchObject({ error: "wrong evidence format" });
    expect((await post({ node: "cvm-1", nonce: n, report: parts.report })).body).toMatchObject({ error: "incomplete evidence", detail: expect.stringMatching(/missing vcek, chain$/) });
  });

  it("appraises a Nitro enclave's document: the published sample's leaf expired in 2024 and it carries no nonce of ours, so it is refused and logged", async () => {
    const n = await nonce();
    const res = await fetch(`${verifier.url}/v1/attest/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ node: "enclave-1", nonce: n, format: "nitro", document: nitro("attestation.cbor").toString("base64") }),
    });
    const a = { status: res.status, body: (await res.json()) as Answer["body"] };
    expect(a.status).toBe(403);
    expect(a.body.result).toMatchObject({ format: "nitro", node: "enclave-1", accepted: false });
    expect(a.body.detail).toMatch(/^validity: /);
    expect(a.body.result.checks.filter((c) => c.ok).map((c) => c.check)).toEqual(["chain", "signature", "policy", "reference"]);
    expectLogged(a);
  });

  it("timestamp mode: after a nonce-fresh quote registers the AK's clock, a quote without a nonce is accepted once; its replay is refused", async () => {
    const n = await nonce();
    expect((await submit("node-1", n, quote(tpm, rsa.ctx, n, "svc-register"))).status).toBe(200);
    tpm.tool("tpm2_quote", ["-c", rsa.ctx, "-l", "sha256:0,1,2,16", "-m", "svc-ts.msg", "-s", "svc-ts.sig", "-o", "svc-ts.pcrs", "-g", "sha256"]);
    const b64 = (f: string) => readFileSync(join(tpm.dir, f)).toString("base64");
    const post = async (body: object) => {
      const res = await fetch(`${verifier.url}/v1/attest/verify`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: res.status, body: (await res.json()) as Answer["body"] };
    };
    const evidence = { node: "node-1", message: b64("svc-ts.msg"), signature: b64("svc-ts.sig"), pcrs: b64("svc-ts.pcrs") };
    const a = await post(evidence);
    expect(a.status, JSON.stringify(a.body)).toBe(200);
    expect(a.body.result).toMatchObject({ accepted: true, nonce: "", freshness: { ok: true, detail: expect.stringMatching(/^timestamp: TPM clock \d+/) } });
    expectLogged(a);
    const again = await post(evidence);
    expect(again.status).toBe(403);
    expect(again.body.detail).toMatch(/^freshness: timestamp: clock \d+ is not past \d+, the latest accepted: a replayed or older quote/);
    // node-2's AK never registered a clock; an SEV-SNP node always needs a nonce.
    expect((await post({ ...evidence, node: "node-2" })).body.detail).toMatch(/^signature: /);
    expect((await post({ node: "cvm-1", report: "", vcek: "", chain: "" })).body).toMatchObject({ error: "no nonce" });
  });

  it("answers 404 for an unknown node and 400 for malformed evidence, naming the input", async () => {
    const n = await nonce();
    const q = quote(tpm, rsa.ctx, n, "svc-bad");
    expect((await submit("node-9", n, q)).body).toMatchObject({ error: "unknown node", detail: expect.stringMatching(/node-9 has no endorsed AK/) });
    const bad = await fetch(`${verifier.url}/v1/attest/verify`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ node: "node-1", nonce: "zz", message: "", signature: "", pcrs: "" }),
    });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { detail: string }).detail).toMatch(/nonce: got "zz"; expected hex/);
  });
});

hostileHttpSuite("meridian attest serve", () => ({
  url: verifier.url,
  routes: [
    { method: "POST", path: "/v1/attest/verify", json: true },
    { method: "POST", path: "/v1/attest/nonce", json: true },
  ],
  protectedRoutes: [],
  state: async () => latestResult("node-1"),
  slowlorisWaitMs: 4000,
}));
