import { beforeAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { createIntermediateCsr, createOfflineRoot, describeCa, issueLeaf, issueSubordinateCa, signIntermediate, type CaMaterial } from "../../../runtime/identity/offline-ca.js";

const TD = "prod.meridian.internal";
const NOW = Date.now();
const at = (days: number) => new Date(NOW + days * 86_400_000);
const constraints = { permittedUriHosts: [TD], permittedDnsDomains: ["cluster.local"] };

/** `openssl verify` with the root as the only trust anchor and the rest as untrusted intermediates. */
function opensslVerify(root: string, chain: string[], leaf: string): { ok: boolean; output: string } {
  const dir = mkdtempSync(join(tmpdir(), "meridian-ca-"));
  try {
    writeFileSync(join(dir, "root.pem"), root);
    writeFileSync(join(dir, "chain.pem"), chain.join("\n"));
    writeFileSync(join(dir, "leaf.pem"), leaf);
    const r = spawnSync("openssl", ["verify", "-x509_strict", "-CAfile", "root.pem", "-untrusted", "chain.pem", "leaf.pem"], { cwd: dir, encoding: "utf8" });
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A real TLS handshake: the server presents leaf + chain, the client trusts only the offline root. */
async function handshake(root: string, leaf: CaMaterial, chain: string[]): Promise<{ ok: boolean; error?: string }> {
  const server = tls.createServer({ cert: [leaf.cert, ...chain].join("\n"), key: leaf.key }, (s) => s.end());
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  try {
    return await new Promise((resolve) => {
      const socket = tls.connect({ host: "127.0.0.1", port, ca: root, checkServerIdentity: () => undefined }, () => {
        socket.end();
        resolve({ ok: true });
      });
      socket.on("error", (err: NodeJS.ErrnoException) => resolve({ ok: false, error: err.code ?? err.message }));
    });
  } finally {
    server.close();
  }
}

describe("offline root → constrained intermediate → SPIRE CA → SVID, checked by OpenSSL and Node TLS", () => {
  let root: CaMaterial;
  let intermediate: CaMaterial;
  let spireCa: CaMaterial;
  let chainPem: string;

  beforeAll(async () => {
    root = await createOfflineRoot("CN=Meridian prod offline root, O=Meridian", at(-1), at(3650));
    const { csr, key } = await createIntermediateCsr("CN=Meridian prod aws-use1 intermediate CA, O=Meridian, OU=prod");
    chainPem = await signIntermediate({ root, csr, notBefore: at(0), notAfter: at(365), pathLength: 1, constraints });
    intermediate = { cert: chainPem.split(/(?<=-----END CERTIFICATE-----)/)[0]!.trim(), key };
    spireCa = await issueSubordinateCa(intermediate, "CN=prod.meridian.internal, O=Meridian, C=US", at(0), at(1), `spiffe://${TD}`);
  });

  it("the intermediate carries the path and name constraints, and the chain ends in the root", () => {
    const d = describeCa(intermediate.cert);
    expect(d).toMatchObject({ isCa: true, pathLength: 1, nameConstraints: constraints });
    expect(d.issuer).toBe("CN=Meridian prod offline root, O=Meridian");
    expect(chainPem.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(describeCa(root.cert).isCa).toBe(true);
  });

  it("an SVID in the trust domain verifies (openssl verify and a TLS handshake trusting only the root)", async () => {
    const svid = await issueLeaf(spireCa, { uri: `spiffe://${TD}/ns/meridian/sa/escrow`, dnsNames: ["escrow.meridian.svc.cluster.local"], notBefore: at(0), notAfter: at(0.04) });
    const v = opensslVerify(root.cert, [spireCa.cert, intermediate.cert], svid.cert);
    expect(v.output).toMatch(/OK/);
    expect(await handshake(root.cert, svid, [spireCa.cert, intermediate.cert])).toEqual({ ok: true });
  });

  it("a stolen intermediate cannot mint an identity in another trust domain or a public name", async () => {
    const foreign = await issueLeaf(spireCa, { uri: "spiffe://bank.example/ns/payments/sa/api", notBefore: at(0), notAfter: at(0.04) });
    const v = opensslVerify(root.cert, [spireCa.cert, intermediate.cert], foreign.cert);
    expect(v.ok).toBe(false);
    expect(v.output).toMatch(/permitted subtree violation/);
    // The same chain verified a moment ago; only the SAN differs, and Node's verifier (OpenSSL's) refuses it.
    expect((await handshake(root.cert, foreign, [spireCa.cert, intermediate.cert])).ok).toBe(false);
    const publicName = await issueLeaf(intermediate, { dnsNames: ["www.bank.example"], notBefore: at(0), notAfter: at(0.04) });
    expect(opensslVerify(root.cert, [intermediate.cert], publicName.cert).output).toMatch(/permitted subtree violation/);
  });

  it("the path length stops a CA two levels below the intermediate", async () => {
    const tooDeep = await issueSubordinateCa(spireCa, "CN=rogue CA", at(0), at(1), `spiffe://${TD}`);
    const leaf = await issueLeaf(tooDeep, { uri: `spiffe://${TD}/ns/meridian/sa/escrow`, notBefore: at(0), notAfter: at(0.04) });
    const v = opensslVerify(root.cert, [tooDeep.cert, spireCa.cert, intermediate.cert], leaf.cert);
    expect(v.ok).toBe(false);
    expect(v.output).toMatch(/path length constraint exceeded/);
  });

  it("refuses a forged CSR, a validity outside the root's, and an unconstrained request", async () => {
    const b = await createIntermediateCsr("CN=b");
    // Change the subject after signing (CN=b → CN=c): the signature no longer covers what is asked for.
    const der = Buffer.from(b.csr.replace(/-----[^-]+-----|\s/g, ""), "base64");
    der[der.indexOf(Buffer.from("\x13\x01b", "latin1")) + 2] = "c".charCodeAt(0);
    const forged = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString("base64")}\n-----END CERTIFICATE REQUEST-----\n`;
    await expect(signIntermediate({ root, csr: forged, notBefore: at(0), notAfter: at(10), pathLength: 1, constraints })).rejects.toThrow(/signature does not verify/);
    await expect(signIntermediate({ root, csr: b.csr, notBefore: at(0), notAfter: at(4000), pathLength: 1, constraints })).rejects.toThrow(/within the root's/);
    await expect(signIntermediate({ root, csr: b.csr, notBefore: at(0), notAfter: at(10), pathLength: 1, constraints: { permittedUriHosts: [], permittedDnsDomains: [] } })).rejects.toThrow(
      /at least one permitted name/,
    );
  });
});
