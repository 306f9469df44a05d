import { describe, expect, it } from "vitest";
import { runCliInProcess } from "../cli-in-process.js";
import { defaultStart, parseStart } from "../../cli/commands/rotate.js";

describe("meridian rotate --plan", () => {
  it("prints prod's waves with times: canary, then waves a stagger apart, each with its gate and commands", async () => {
    const r = await runCliInProcess(["rotate", "--plan", "--stack", "prod", "--start", "2026-12-01T09:00Z"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Rotation plan for stack prod: 3 waves over 6 regions, 24h stagger, 10 min rollout \+ 30 min gate per wave/);
    expect(r.stdout).toMatch(/canary\s+azure-weu\s+17%\s+2026-12-01 09:00\s+09:10 → 09:40\s+768h/);
    expect(r.stdout).toMatch(/wave 1\s+azure-sea\s+33%\s+2026-12-02 09:00\s+09:10 → 09:40\s+744h/);
    expect(r.stdout).toMatch(/wave 2\s+gcp-asne1, gcp-usc1, aws-euw1, aws-use1\s+100%\s+2026-12-03 09:00\s+09:10 → 09:40\s+720h/);
    expect(r.stdout).toContain("cmctl --kubeconfig kubeconfig-aws-use1 renew -n meridian-gateway meridian-gateway-tls");
    expect(r.stdout).toContain("replace --force -f backup-azure-weu-meridian-gateway-tls.yaml");
    expect(r.stdout).toMatch(/Rollback rule: A failed gate halts the rotation/);
    expect(r.stdout.match(/• gateway certificate Ready/g)).toHaveLength(3);
  });

  it("--json carries the same plan with ISO times", async () => {
    const r = await runCliInProcess(["rotate", "--plan", "--stack", "staging", "--start", "2026-12-01T09:00Z", "--json"]);
    expect(r.status).toBe(0);
    const doc = JSON.parse(r.stdout) as { waves: { name: string; regions: string[]; startsAt: string }[] };
    expect(doc.waves[0]).toMatchObject({ name: "canary", regions: ["azure-sea"], startsAt: "2026-12-01T09:00:00.000Z" });
    expect(doc.waves.flatMap((w) => w.regions).sort()).toEqual(["aws-use1", "azure-sea", "gcp-euw1"]);
  });

  it("refuses to run without --plan and rejects a malformed --start or stack, exit 2", async () => {
    expect(await runCliInProcess(["rotate", "--stack", "prod"])).toMatchObject({ status: 2, stderr: expect.stringMatching(/only plans; pass --plan/) });
    expect(await runCliInProcess(["rotate", "--plan", "--start", "2026-13-45T09:00Z"])).toMatchObject({
      status: 2,
      stderr: expect.stringMatching(/--start: got "2026-13-45T09:00Z"; not a real date/),
    });
    expect(await runCliInProcess(["rotate", "--plan", "--stack", "qa"])).toMatchObject({ status: 2, stderr: expect.stringMatching(/no such stack/) });
  });

  it("starts on the next full hour by default", async () => {
    expect(defaultStart(Date.UTC(2026, 0, 1, 10, 17))).toBe(Date.UTC(2026, 0, 1, 11));
    expect(parseStart("2026-12-01T09:00+02:00")).toBe(Date.UTC(2026, 11, 1, 7));
  });
});
