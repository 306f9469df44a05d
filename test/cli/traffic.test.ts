/**
 * `meridian traffic drain|restore <region> --stack <s>`: the stack's meridian:dns.drained is edited in place
 * (comments kept) and loads again; an unknown region and the last undrained one are refused, exit 2, file unchanged;
 * with --log the change is in the proof log before the file changes.
 */
import { afterAll, describe, expect, it } from "vitest";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { killServers, REPO_ROOT, serveCli } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { LogClient } from "../../runtime/prooflog/client.js";
import { generateKey } from "../../runtime/prooflog/note.js";

const dir = mkdtempSync(join(tmpdir(), "meridian-traffic-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
cpSync(join(REPO_ROOT, "stacks"), dir, { recursive: true, filter: (src) => !src.endsWith(".ts") });
const file = join(dir, "Pulumi.staging.yaml");
const env = { MERIDIAN_STACKS_DIR: dir };
const drained = () => (parse(readFileSync(file, "utf8")) as { config: Record<string, { drained?: string[] }> }).config["meridian:dns"]!.drained;
const regionIds = () => ((parse(readFileSync(file, "utf8")) as { config: Record<string, unknown> }).config["meridian:regions"] as { id: string }[]).map((r) => r.id);

describe("meridian traffic drain|restore --stack", () => {
  it("drains regions into the stack, refuses the last one and unknown ones, restores", async () => {
    const ids = regionIds();
    expect(ids.length).toBeGreaterThan(1);
    const before = readFileSync(file, "utf8");
    for (const id of ids.slice(0, -1)) {
      const r = await runCliInProcess(["traffic", "drain", id, "--stack", "staging"], { env });
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
    const last = await runCliInProcess(["traffic", "drain", ids.at(-1)!, "--stack", "staging"], { env });
    expect(last.status).toBe(2);
    expect(last.stderr).toContain(`refusing to drain ${ids.at(-1)}: it is the last undrained region`);
    const unknown = await runCliInProcess(["traffic", "drain", "mars-1", "--stack", "staging"], { env });
    expect(unknown.status).toBe(2);
    expect(unknown.stderr).toContain("unknown region mars-1");
    expect(readFileSync(file, "utf8")).toBe(edited);

    for (const id of ids.slice(0, -1)) expect((await runCliInProcess(["traffic", "restore", id, "--stack", "staging"], { env })).status).toBe(0);
    expect(drained()).toBeUndefined();
  });
});

describe("meridian traffic drain --stack --log: stack-mode routing controls in a proof log", () => {
  const ORIGIN = "meridian.test/traffic";
  const keys = generateKey(ORIGIN);
  writeFileSync(join(dir, "log.key"), keys.signerKey);
  afterAll(() => killServers());

  it("appends the routing change to the proof log before editing the stack; an unreachable log leaves the stack unchanged (exit 1)", async () => {
    const { url } = await serveCli(["log", "serve", "--data", join(dir, "log-data"), "--port", "0", "--origin", ORIGIN, "--key", join(dir, "log.key"), "--checkpoint-interval", "25"]);
    const region = regionIds()[0]!;
    const r = await runCliInProcess(["traffic", "drain", region, "--stack", "staging", "--log", url], { env });
    expect(r.status, r.stderr).toBe(0);
    const index = Number(/proof log entry (\d+)/.exec(r.stdout)?.[1]);
    expect(drained()).toEqual([region]);
    const client = new LogClient(url);
    let size = 0;
    for (let i = 0; i < 100 && size <= index; i++) {
      size = Number((await client.checkpoint()).split("\n")[1]);
      if (size <= index) await new Promise((done) => setTimeout(done, 50));
    }
    const [entry] = await client.entries(index, index + 1, size);
    expect(JSON.parse(entry!.toString("utf8"))).toMatchObject({ type: "meridian.traffic.routing-control", via: "stack", stack: "staging", action: "drain", region, drained: [region] });

    const before = readFileSync(file, "utf8");
    const down = await runCliInProcess(["traffic", "restore", region, "--stack", "staging", "--log", "http://127.0.0.1:1"], { env });
    expect(down.status).toBe(1);
    expect(down.stderr).toMatch(/^meridian: --log http:\/\/127\.0\.0\.1:1: cannot append the routing change to the proof log \(.*\); the stack is unchanged\n$/);
    expect(readFileSync(file, "utf8")).toBe(before);
    expect((await runCliInProcess(["traffic", "restore", region, "--stack", "staging"], { env })).stdout).toContain("(not in a proof log: pass --log <url>)");
  }, 60_000);
});
