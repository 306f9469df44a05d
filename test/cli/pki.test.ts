import { afterAll, describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCliInProcess } from "../cli-in-process.js";

const dir = mkdtempSync(join(tmpdir(), "meridian-pki-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("meridian pki: the offline ceremony end to end", () => {
  it("root → csr → sign → inspect yields a path-1, name-constrained intermediate that openssl verifies against the root", async () => {
    const root = await runCliInProcess(["pki", "root", "--stack", "prod", "--out", join(dir, "offline")]);
    expect(root.status, root.stderr).toBe(0);
    expect(statSync(join(dir, "offline", "root-ca-key.pem")).mode & 0o777).toBe(0o600);

    const csr = await runCliInProcess(["pki", "csr", "--stack", "prod", "--region", "aws-use1", "--out", join(dir, "aws-use1")]);
    expect(csr.status, csr.stderr).toBe(0);

    const sign = await runCliInProcess([
      "pki",
      "sign",
      "--stack",
      "prod",
      "--region",
      "aws-use1",
      "--csr",
      join(dir, "aws-use1", "intermediate.csr"),
      "--root-cert",
      join(dir, "offline", "root-ca.pem"),
      "--root-key",
      join(dir, "offline", "root-ca-key.pem"),
    ]);
    expect(sign.status, sign.stderr).toBe(0);
    writeFileSync(join(dir, "chain.pem"), sign.stdout);

    const inspect = await runCliInProcess(["pki", "inspect", join(dir, "chain.pem")]);
    expect(inspect.status, inspect.stderr).toBe(0);
    const d = JSON.parse(inspect.stdout) as Record<string, unknown>;
    expect(d).toMatchObject({
      subject: "CN=Meridian prod aws-use1 intermediate CA, O=Meridian, OU=prod",
      issuer: "CN=Meridian prod offline root CA, O=Meridian, OU=prod",
      isCa: true,
      pathLength: 1,
      nameConstraints: { permittedUriHosts: ["prod.meridian.internal"], permittedDnsDomains: ["cluster.local"] },
    });
    // The stack's intermediateDuration (8760h) from now.
    const days = (Date.parse(d["notAfter"] as string) - Date.parse(d["notBefore"] as string)) / 86_400_000;
    expect(days).toBeCloseTo(365, 3);

    // OpenSSL reads the constraints the way a TLS stack will, and the chain ends in the root.
    const text = spawnSync("openssl", ["x509", "-noout", "-text", "-in", join(dir, "chain.pem")], { encoding: "utf8" }).stdout;
    expect(text).toMatch(/X509v3 Name Constraints: critical\s+Permitted:\s+URI:prod\.meridian\.internal\s+DNS:cluster\.local/);
    expect(text).toMatch(/CA:TRUE, pathlen:1/);
    const split = sign.stdout.split(/(?<=-----END CERTIFICATE-----\n)/);
    writeFileSync(join(dir, "intermediate.pem"), split[0]!);
    const verify = spawnSync("openssl", ["verify", "-CAfile", join(dir, "offline", "root-ca.pem"), join(dir, "intermediate.pem")], { encoding: "utf8" });
    expect(verify.stdout).toMatch(/OK/);
    expect(readFileSync(join(dir, "offline", "root-ca.pem"), "utf8")).toContain(split[1]!.trim());
  });

  it("refuses an unknown region, a missing file and a non-certificate, each naming the input (exit 2)", async () => {
    const badRegion = await runCliInProcess(["pki", "csr", "--stack", "prod", "--region", "mars-1", "--out", join(dir, "x")]);
    expect(badRegion.status).toBe(2);
    expect(badRegion.stderr).toMatch(/--region: got "mars-1"; stack prod has aws-use1/);
    const missing = await runCliInProcess(["pki", "sign", "--stack", "prod", "--region", "aws-use1", "--csr", join(dir, "nope.csr"), "--root-cert", "a", "--root-key", "b"]);
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/--root-cert: cannot read a \(ENOENT\)/);
    writeFileSync(join(dir, "junk.pem"), "hello");
    const junk = await runCliInProcess(["pki", "inspect", join(dir, "junk.pem")]);
    expect(junk.status).toBe(2);
    expect(junk.stderr).toMatch(/junk\.pem: not a PEM certificate/);
  });

  it("`pki plan` prints every region's ceremony in wave order, the root key only in offline steps", async () => {
    const plan = await runCliInProcess(["pki", "plan", "--stack", "prod"]);
    expect(plan.status, plan.stderr).toBe(0);
    expect(plan.stdout.indexOf("── canary")).toBeLessThan(plan.stdout.indexOf("── wave 1"));
    for (const line of plan.stdout.split("\n").filter((l) => l.includes("root-ca-key"))) expect(line).toMatch(/\[offline\]/);
    expect(plan.stdout.match(/pki csr --stack prod --region/g)).toHaveLength(6);
  });
});
