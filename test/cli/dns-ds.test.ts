/**
 * `meridian dns ds --stack <s>`: what a registrar operator pastes into the parent zone for a signed stack — the
 * DS records the stack's outputs carry after `pulumi up` (here the mocked plan's), checked as SHA-256 DS of an
 * algorithm-13 key; an unsigned stack, a provider with no DS and a malformed DS are exit 2 naming what is wrong.
 */
import { afterAll, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { evaluateStack } from "../harness.js";
import { readStackConfigMap } from "../../stacks/load.js";

const dir = mkdtempSync(join(tmpdir(), "meridian-dns-ds-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
cpSync(join(REPO_ROOT, "stacks"), dir, { recursive: true, filter: (src) => !src.endsWith(".ts") });
// dev is a single-provider (Cloud DNS) zone: the hierarchy that can sign.
const devFile = join(dir, "Pulumi.dev.yaml");
writeFileSync(devFile, readFileSync(devFile, "utf8").replace(/^( {4}providers: \{ primary: clouddns \})$/m, "$1\n    dnssec: { signing: true }"));
const env = { MERIDIAN_STACKS_DIR: dir };

describe("meridian dns ds", () => {
  it("an unsigned stack needs no DS: exit 2 saying so", async () => {
    const r = await runCliInProcess(["dns", "ds", "--stack", "prod"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("stack prod does not sign meridian.example.com (meridian:dns.dnssec.signing is off)");
  });

  it("a signed stack: before pulumi up, where the DS records come from; after, the DS lines from its outputs", async () => {
    const before = await runCliInProcess(["dns", "ds", "--stack", "dev"], { env });
    expect(before.status, before.stderr).toBe(0);
    expect(before.stdout).toContain("dev.meridian.example.com is signed by clouddns (Google Cloud DNS): ECDSA P-256/SHA-256 (algorithm 13)");

    const dns = { ...(readStackConfigMap("dev")["meridian:dns"] as Record<string, unknown>), dnssec: { signing: true } };
    const plan = await evaluateStack("dev", { areas: ["traffic"], configOverrides: { "meridian:dns": dns } });
    const outputs = join(dir, "outputs.json");
    writeFileSync(outputs, JSON.stringify(plan.outputs));
    const after = await runCliInProcess(["dns", "ds", "--stack", "dev", "--outputs", outputs], { env });
    expect(after.status, after.stderr).toBe(0);
    const lines = after.stdout.trim().split("\n");
    expect(lines[0]).toBe("; DS records for dev.meridian.example.com: give them to the registrar for the parent zone (signed by clouddns (Google Cloud DNS))");
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^dev\.meridian\.example\.com\. 86400 IN DS \d{1,5} 13 2 [0-9A-F]{64} ; clouddns$/)]);
  }, 60_000);

  it("outputs without the signer's DS, or with a SHA-1 DS, are exit 2 naming the provider and value", async () => {
    const missing = join(dir, "missing.json");
    writeFileSync(missing, JSON.stringify({ traffic: { ds: {} } }));
    const r1 = await runCliInProcess(["dns", "ds", "--stack", "dev", "--outputs", missing], { env });
    expect(r1.status).toBe(2);
    expect(r1.stderr).toContain("traffic.ds.clouddns: no DS record for clouddns, which signs the zone");
    const sha1 = join(dir, "sha1.json");
    writeFileSync(sha1, JSON.stringify({ ds: { clouddns: ["2371 13 1 9A3C1E2B5D4F6A7B8C9D0E1F2A3B4C5D6E7F8A9B"] } }));
    const r2 = await runCliInProcess(["dns", "ds", "--stack", "dev", "--outputs", sha1], { env });
    expect(r2.status).toBe(2);
    expect(r2.stderr).toContain("traffic.ds.clouddns[0]: 2371 13 1 9A3C1E2B5D4F6A7B8C9D0E1F2A3B4C5D6E7F8A9B is not a SHA-256 DS");
  });
});
