// `meridian time hierarchy|chrony|query`: what operators run to see a region's time sources.
import { describe, expect, it } from "vitest";
import { runCliInProcess } from "../cli-in-process.js";

describe("meridian time", () => {
  it("hierarchy lists each region's sources and what was excluded for mixing smear", async () => {
    const r = await runCliInProcess(["time", "hierarchy", "--stack", "prod"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^aws-use1 \(aws, unsmeared\)$/m);
    expect(r.stdout).toMatch(/refclock PHC \/dev\/ptp_ena/);
    expect(r.stdout).toMatch(/excluded 169\.254\.169\.123 +smeared/);
  });

  it("chrony prints the region's rendered chrony.conf; unknown regions and stacks are named", async () => {
    const r = await runCliInProcess(["time", "chrony", "--stack", "dev", "--region", "gcp-usc1"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain("server nts.netnod.se iburst nts\n");
    expect(r.stdout).toContain("# excluded: metadata.google.internal — smeared\n");
    const bad = await runCliInProcess(["time", "chrony", "--stack", "dev", "--region", "mars-1"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--region mars-1: no such region in stack dev; expected one of gcp-usc1, gcp-euw1/);
    expect((await runCliInProcess(["time", "hierarchy", "--stack", "nope"])).status).toBe(2);
  });

  it("query rejects a malformed server address", async () => {
    const r = await runCliInProcess(["time", "query", "localhost"]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/expected host:port/);
  });
});
