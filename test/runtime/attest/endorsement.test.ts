// Endorsement with real software TPMs: TPM A is manufactured with `swtpm_setup --create-ek-cert` (swtpm_localca
// signs its EK certificate); TPM B is a plain swtpm. The verifier checks A's EK certificate chain to the
// configured manufacturer root and challenges the AK with MakeCredential; A's `tpm2_activatecredential` recovers
// the secret, so A's AK is endorsed and its quote accepted. B's AK presented with A's EK certificate cannot be
// activated, an EK certificate under another root (or altered, or not yet valid) is refused, and an AK public area
// without the attestation attributes is refused.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFileSync } from "node:child_process";
import { createPublicKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { systemClock } from "../../../runtime/common/clock.js";
import { startService } from "../../../runtime/kit/index.js";
import { attestService, challengeAk, completeAkChallenge, EndorsementError, parseAkPublic, verifyAttestation, type NonceStore } from "../../../runtime/attest/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { activateCredential as activate, createAk, quote, startSoftwareTpm, type EkCa, type SoftwareTpm } from "./swtpm.js";

let a: SoftwareTpm & { ekCa?: EkCa };
let b: SoftwareTpm;
let ekCert: Buffer;
let roots: string;
let intermediates: string;

beforeAll(async () => {
  a = await startSoftwareTpm({ ekCert: true });
  b = await startSoftwareTpm();
  a.tool("tpm2_nvread", ["0x1c00002", "-C", "o", "-o", "ek.der"]);
  ekCert = readFileSync(join(a.dir, "ek.der"));
  roots = readFileSync(a.ekCa!.root, "utf8");
  intermediates = readFileSync(a.ekCa!.issuer, "utf8");
  createAk(a, "ak", "rsa");
  createAk(b, "ak", "rsa");
});
afterAll(() => {
  a?.stop();
  b?.stop();
});

const now = () => Date.now();

describe("AK endorsement: EK certificate chain and credential activation (swtpm_setup --create-ek-cert)", () => {
  it("endorses the AK resident with the endorsed EK, and that AK's quote is then accepted", async () => {
    const challenge = challengeAk({ ekCert, akPublic: readFileSync(join(a.dir, "ak.pub")), roots, intermediates, now: now() });
    // tpm2-tools' own name for the AK is the one the credential is bound to.
    expect(challenge.ak.name).toEqual(readFileSync(join(a.dir, "ak.name")));
    const act = activate(a, challenge.credential, "good");
    expect(act.status, act.stderr).toBe(0);
    const akPem = completeAkChallenge(challenge, act.secret!);
    const spki = (pem: string) => createPublicKey(pem).export({ format: "der", type: "spki" });
    expect(spki(akPem)).toEqual(spki(readFileSync(join(a.dir, "ak.pem"), "utf8")));
    const nonces: NonceStore = { issue: () => ({ nonce: "00aa", expiresAt: 0 }), consume: () => ({ ok: true }) };
    const q = quote(a, "ak.ctx", "00aa", "endorsed");
    const evidence = { message: readFileSync(q.message), signature: readFileSync(q.signature), pcrs: readFileSync(q.pcrs) };
    const v = await verifyAttestation(
      { evidence, endorsement: akPem, nonce: "00aa", reference: { sha256: { "0": "00".repeat(32) } } },
      { nonces, signerKey: generateKey("v").signerKey, clock: systemClock },
    );
    expect(v.result.accepted, v.result.reason).toBe(true);
  });

  it("endorses AKs under ECC EKs: P-256 (tpm2_createek -G ecc, certified by the manufacturer CA) and P-384 (swtpm_setup's, at 0x81010016)", () => {
    // The low-range ECC EK (template L-2: P-256, SHA-256, AES-128), its certificate issued by the same local CA.
    a.tool("tpm2_createek", ["-c", "ek-p256.ctx", "-G", "ecc", "-u", "ek-p256.pub"]);
    a.tool("tpm2_readpublic", ["-c", "ek-p256.ctx", "-f", "pem", "-o", "ek-p256.pem"]);
    const ca = join(a.dir, "ca");
    execFileSync(
      "openssl",
      [
        "x509",
        "-new",
        "-force_pubkey",
        "ek-p256.pem",
        "-subj",
        "/CN=ek-p256",
        "-CA",
        join(ca, "issuercert.pem"),
        "-CAkey",
        join(ca, "signkey.pem"),
        "-days",
        "30",
        "-outform",
        "DER",
        "-out",
        "ek-p256.der",
      ],
      {
        cwd: a.dir,
        stdio: "ignore",
      },
    );
    // The high-range ECC EK (template H-3: P-384, SHA-384, AES-256) and the certificate swtpm_setup wrote for it.
    a.tool("tpm2_nvread", ["0x1c00016", "-C", "o", "-o", "ek-p384.der"]);
    const cases = [
      { ek: "ek-p256.ctx", cert: "ek-p256.der", curve: "prime256v1", policy: true },
      { ek: "0x81010016", cert: "ek-p384.der", curve: "secp384r1", policy: false },
    ];
    for (const c of cases) {
      const ak = `ak-under-${c.curve}`;
      a.tool("tpm2_createak", ["-C", c.ek, "-c", `${ak}.ctx`, "-G", "ecc", "-g", "sha256", "-s", "ecdsa", "-u", `${ak}.pub`, "-n", `${ak}.name`]);
      a.tool("tpm2_readpublic", ["-c", `${ak}.ctx`, "-f", "pem", "-o", `${ak}.pem`]);
      const cert = readFileSync(join(a.dir, c.cert));
      expect(new X509Certificate(cert).publicKey.asymmetricKeyDetails?.namedCurve).toBe(c.curve);
      const challenge = challengeAk({ ekCert: cert, akPublic: readFileSync(join(a.dir, `${ak}.pub`)), roots, intermediates, now: now() });
      const act = activate(a, challenge.credential, `${ak}-good`, { ak: `${ak}.ctx`, ek: c.ek, policy: c.policy });
      expect(act.status, act.stderr).toBe(0);
      const spki = (pem: string) => createPublicKey(pem).export({ format: "der", type: "spki" });
      expect(spki(completeAkChallenge(challenge, act.secret!))).toEqual(spki(readFileSync(join(a.dir, `${ak}.pem`), "utf8")));
      // Not openable with the RSA EK, nor for another AK's name.
      expect(activate(a, challenge.credential, `${ak}-rsa-ek`, { ak: `${ak}.ctx` }).status).not.toBe(0);
      const forRsaAk = challengeAk({ ekCert: cert, akPublic: readFileSync(join(a.dir, "ak.pub")), roots, intermediates, now: now() });
      expect(activate(a, forRsaAk.credential, `${ak}-other-name`, { ak: `${ak}.ctx`, ek: c.ek, policy: c.policy }).status).not.toBe(0);
    }
  });

  it("refuses an AK from another TPM presented with the endorsed EK's certificate: it cannot activate the credential", () => {
    const challenge = challengeAk({ ekCert, akPublic: readFileSync(join(b.dir, "ak.pub")), roots, intermediates, now: now() });
    const act = activate(b, challenge.credential, "other-tpm");
    expect(act.status).not.toBe(0); // B's EK cannot recover the seed A's EK public key sealed
    expect(() => completeAkChallenge(challenge, Buffer.alloc(32))).toThrow(/credential activation: the secret came back wrong; the AK is not resident with the endorsed EK/);
    // Nor can A open a credential bound to B's AK name: its AK has another name.
    const forA = activate(a, challenge.credential, "wrong-name");
    expect(forA.status).not.toBe(0);
  });

  it("refuses an EK certificate that does not chain to the configured manufacturer root, is altered, or is not yet valid", () => {
    const akPublic = readFileSync(join(a.dir, "ak.pub"));
    execFileSync("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=other-tpm-vendor", "-keyout", join(a.dir, "other.key"), "-out", join(a.dir, "other.pem"), "-days", "2"], {
      stdio: "ignore",
    });
    const other = readFileSync(join(a.dir, "other.pem"), "utf8");
    expect(() => challengeAk({ ekCert, akPublic, roots: other, intermediates, now: now() })).toThrow(EndorsementError);
    expect(() => challengeAk({ ekCert, akPublic, roots: other, intermediates, now: now() })).toThrow(/EK certificate chain: swtpm-localca .*is not signed by a configured manufacturer root/);
    expect(() => challengeAk({ ekCert, akPublic, roots, now: now() })).toThrow(/EK certificate chain: unknown \(issuer CN=swtpm-localca\) is not signed/);
    const altered = Buffer.from(ekCert);
    altered[altered.indexOf(Buffer.from("unknown")) + 1]! ^= 1; // the subject's CN, inside the signed part
    expect(() => challengeAk({ ekCert: altered, akPublic, roots, intermediates, now: now() })).toThrow(/EK certificate chain: .* is not signed/);
    expect(() => challengeAk({ ekCert, akPublic, roots, intermediates, now: Date.parse("2000-01-01T00:00:00Z") })).toThrow(/is valid .* not at 2000-01-01/);
  });

  it("refuses an AK public area without the attestation attributes (restricted, fixedTPM)", () => {
    const pub = readFileSync(join(a.dir, "ak.pub"));
    expect(parseAkPublic(pub)).toMatchObject({ attributes: 0x50072 });
    const unrestricted = Buffer.from(pub);
    unrestricted.writeUInt32BE(pub.readUInt32BE(6) & ~(1 << 16), 6);
    expect(() => parseAkPublic(unrestricted)).toThrow(/attributes 0x40072 lack restricted: not a key the TPM generated for attestation only/);
    const imported = Buffer.from(pub);
    imported.writeUInt32BE(pub.readUInt32BE(6) & ~(1 << 1) & ~(1 << 5), 6);
    expect(() => parseAkPublic(imported)).toThrow(/lack fixedTPM, sensitiveDataOrigin/);
  });
});

describe("attest serve enrolment: a node's AK is endorsed only by credential activation", () => {
  it("refuses quotes until the node enrols; enrols A's AK with A's EK certificate; B's AK under A's certificate never enrols", async () => {
    const reference = { sha256: { "0": "00".repeat(32) } };
    const svc = await startService(
      attestService,
      {
        key: generateKey("enrol-test").signerKey,
        endorsement: { roots, intermediates },
        nodes: { "node-a": { enrol: true, reference }, "node-b": { enrol: true, reference } },
        server: { port: 0 },
      },
      { clock: systemClock, processMetrics: false },
    );
    try {
      const post = async (path: string, body: object) => {
        const res = await fetch(`${svc.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
        return { status: res.status, body: (await res.json()) as Record<string, unknown> };
      };
      const b64 = (tpm: SoftwareTpm, f: string) => readFileSync(join(tpm.dir, f)).toString("base64");
      const attest = async (tpm: SoftwareTpm, node: string, name: string) => {
        const { nonce } = (await post("/v1/attest/nonce", {})).body as { nonce: string };
        const q = quote(tpm, "ak.ctx", nonce, name);
        const f = (p: string) => readFileSync(p).toString("base64");
        return post("/v1/attest/verify", { node, nonce, message: f(q.message), signature: f(q.signature), pcrs: f(q.pcrs) });
      };
      expect(await attest(a, "node-a", "svc-before")).toMatchObject({ status: 409, body: { error: "node not enrolled" } });

      const ch = await post("/v1/attest/enrol", { node: "node-a", ekCert: ekCert.toString("base64"), akPublic: b64(a, "ak.pub") });
      expect(ch.status, JSON.stringify(ch.body)).toBe(200);
      const act = activate(a, Buffer.from(ch.body.credential as string, "base64"), "svc-a");
      expect(act.status, act.stderr).toBe(0);
      expect(await post("/v1/attest/enrol/activate", { node: "node-a", secret: act.secret!.toString("base64") })).toMatchObject({ status: 200, body: { node: "node-a" } });
      const ok = await attest(a, "node-a", "svc-after");
      expect(ok.status, JSON.stringify(ok.body)).toBe(200);
      // B's AK quoting as node-a is another key's: refused.
      expect((await attest(b, "node-a", "svc-b-as-a")).body).toMatchObject({ error: "attestation refused", detail: expect.stringMatching(/^signature: /) });

      // node-b presents A's (endorsed) EK certificate with B's AK: B cannot activate, and a guessed secret is refused.
      const chB = await post("/v1/attest/enrol", { node: "node-b", ekCert: ekCert.toString("base64"), akPublic: b64(b, "ak.pub") });
      expect(activate(b, Buffer.from(chB.body.credential as string, "base64"), "svc-b").status).not.toBe(0);
      expect(await post("/v1/attest/enrol/activate", { node: "node-b", secret: Buffer.alloc(32).toString("base64") })).toMatchObject({
        status: 403,
        body: { detail: expect.stringMatching(/the AK is not resident with the endorsed EK/) },
      });
      expect(await attest(b, "node-b", "svc-b")).toMatchObject({ status: 409, body: { error: "node not enrolled" } });
      // An EK certificate that is not the manufacturer's: refused at the first step.
      expect(await post("/v1/attest/enrol", { node: "node-b", ekCert: readFileSync(join(a.dir, "ak.pub")).toString("base64"), akPublic: b64(b, "ak.pub") })).toMatchObject({
        status: 403,
        body: { error: "endorsement refused", detail: expect.stringMatching(/^EK certificate: not X.509/) },
      });
    } finally {
      await svc.close();
    }
  });
});
