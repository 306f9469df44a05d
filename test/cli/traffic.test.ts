/**
 * `meridian traffic drain|restore <region> --stack <s>`: the stack's meridian:dns.drained is edited in place
 * (comments kept) and loads again; an unknown region and the last undrained one are refused, exit 2, file unchanged.
 */
import { afterAll, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { REPO_ROOT, runCli } from "../cli.js";

const dir = mkdtempSync(join(tmpdir(), "meridian-traffic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
cpSync(join(REPO_ROOT, "stacks"), dir, { recursive: true, filter: (src) => !src.endsWith(".ts") });
const file = join(dir, "Pulumi.staging.yaml");
const env = { MERIDIAN_STACKS_DIR: dir };
const drained = () => (parse(readFileSync(file, "utf8")) as { config: Record<string, { drained?: string[] }> }).config["meridian:dns"]!.drained;
const regionIds = () => ((parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config["meridian:regions"] as { id: string }[]).map((r) => r.id);

describe("meridian traffic drain|restore --stack", () => {
  it("drains regions into the stack, refuses the last one and unknown ones, restores", () => {
    const ids = regionIds();
    expect(ids.length).toBeGreaterThan(1);
    const before = readFileSync(file, "utf8");
    for (const id of ids.slice(0, -1)) {
      const r = runCli(["traffic", "drain", id, "--stack", "staging"], { env });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`drained ${id} in stack staging`);
    }
    expect(drained()).toEqual(ids.slice(0, -1));
    // Comments and the rest of the file are kept.
    expect(
      readFileSync(file, "utf8")
        .split("\n")
        .filter((l) => l.trim().startsWith("#")),
    ).toEqual(before.split("\n").filter((l) => l.trim().startsWith("#")));

    const edited = readFileSync(file, "utf8");
    const last = runCli(["traffic", "drain", ids.at(-1)!, "--stack", "staging"], { env });
    expect(last.status).toBe(2);
    expect(last.stderr).toContain(`refusing to drain ${ids.at(-1)}: it is the last undrained region`);
    const unknown = runCli(["traffic", "drain", "mars-1", "--stack", "staging"], { env });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown region mars-1");
    expect(readFileSync(file, "utf8")).toBe(edited);

    for (const id of ids.slice(0, -1)) expect(runCli(["traffic", "restore", id, "--stack", "staging"], { env }).status).toBe(0);
    expect(drained()).toBeUndefined();
  });
});
