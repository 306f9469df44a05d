import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { MERIDIAN_BIN, REPO_ROOT } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { CONFIG_YAML } from "../runtime/ratelimit/service/fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "mrl-cli-"));
const good = join(dir, "edge.yaml");
writeFileSync(good, CONFIG_YAML);
const bad = join(dir, "bad.yaml");
writeFileSync(bad, "domain: d\ndescriptors:\n  - key: a\n    rate_limit: { unit: fortnight, requests_per_unit: 1 }\n");

describe("meridian ratelimit", () => {
  it("validate lists the limits and refuses a bad config naming the problem", async () => {
    const ok = await runCliInProcess(["ratelimit", "validate", "--rules", good]);
    expect(ok.stderr).toBe("");
    expect(ok.stdout).toContain("tenant (each value): 4/minute fixed-window [hierarchical=true]");
    expect(ok.stdout).toContain("user (each value): 3/minute sliding-log [name=per-user]");
    expect(ok.stdout).toContain("vip (each value): unlimited");
    const r = await runCliInProcess(["ratelimit", "validate", "--rules", bad]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/bad\.yaml: descriptors\[0\]\.rate_limit\.unit: invalid rate limit unit 'fortnight'/);
    expect((await runCliInProcess(["ratelimit", "serve", "--rules", good, "--port", "99999"])).stderr).toMatch(/--port is "99999"/);
    const cfg = join(dir, "service.yaml");
    writeFileSync(cfg, `rules: ${good}\nfailureMode: sometimes\n`);
    const badService = await runCliInProcess(["ratelimit", "serve", "--config", cfg, "--port", "0", "--grpc-port", "0"]);
    expect(badService.status).toBe(2);
    expect(badService.stderr).toMatch(/meridian ratelimit serve: config .*service\.yaml: failureMode: Invalid option: expected one of "unavailable"\|"local"\|"closed"\|"open"/);
    expect((await runCliInProcess(["ratelimit", "serve", "--rules", bad, "--port", "0", "--grpc-port", "0"])).stderr).toMatch(
      /bad\.yaml: descriptors\[0\]\.rate_limit\.unit: invalid rate limit unit 'fortnight'/,
    );
    const q = join(dir, "quota.yaml");
    writeFileSync(q, "tenants:\n  - id: a\n    hard: { cpu: -1 }\n");
    const qr = await runCliInProcess(["ratelimit", "quota", "--config", q]);
    expect(qr.status).toBe(2);
    expect(qr.stderr).toMatch(/quota\.yaml: tenants\.0\.hard\.cpu: Too small: expected number to be >=0/);
    const a = join(dir, "alloc.yaml");
    writeFileSync(a, "resources:\n  - { id: x, capacity: -5 }\n");
    const ar = await runCliInProcess(["ratelimit", "allocator", "--config", a]);
    expect(ar.status).toBe(2);
    expect(ar.stderr).toMatch(/alloc\.yaml: resources\.0\.capacity: Too small/);
  });

  it("serve answers HTTP until stopped", async () => {
    const child = spawn(process.execPath, [MERIDIAN_BIN, "ratelimit", "serve", "--rules", good, "--port", "0", "--grpc-port", "0", "--host", "127.0.0.1"], { cwd: REPO_ROOT });
    try {
      const banner = await new Promise<string>((resolve, reject) => {
        let out = "";
        child.stdout.on("data", (b: Buffer) => {
          out += b.toString();
          if (out.includes("\n")) resolve(out);
        });
        child.once("exit", (code) => reject(new Error(`exited ${code}`)));
      });
      const ready = JSON.parse(banner) as { ready: boolean; service: string; url: string; endpoints: Record<string, string> };
      expect(ready).toMatchObject({ ready: true, service: "ratelimit", endpoints: { grpc: expect.stringMatching(/^grpc:\/\/127\.0\.0\.1:\d+$/) } });
      const port = Number(new URL(ready.url).port);
      const r = await fetch(`http://127.0.0.1:${port}/v1/ratelimit`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ domain: "edge", descriptors: [{ entries: [{ key: "remote_address", value: "1.2.3.4" }] }] }),
      });
      expect(r.status).toBe(200);
      expect(r.headers.get("ratelimit")).toMatch(/^"edge\.remote_address";r=1;t=1$/);
    } finally {
      child.kill("SIGTERM");
    }
  });
});
