import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { runCli } from "../cli.js";

describe("meridian escrow", () => {
  it("concert prints the worked example exactly as docs/escrow-concert-example.md has it", () => {
    const r = runCli(["escrow", "concert"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(new URL("../../docs/escrow-concert-example.md", import.meta.url), "utf8"));
  });

  it("allocate --json gives each SKU's units per region, summing to the inventory", () => {
    const r = runCli(["escrow", "allocate", "--stack", "local", "--json"]);
    expect(r.status).toBe(0);
    const [a] = JSON.parse(r.stdout) as { sku: string; total: number; globalReserve: number; regions: Record<string, number> }[];
    expect(a!.sku).toBe("concert-2027");
    expect(Object.values(a!.regions).reduce((s, u) => s + u, 0) + a!.globalReserve).toBe(a!.total);
  });

  it("serve rejects bad flags naming them, with exit 2", () => {
    const cases: [string[], RegExp][] = [
      [["--port", "70000"], /--port: got "70000"/],
      [["--port", "0", "--regions", "Bad_Region"], /--regions: "Bad_Region"/],
      [["--port", "0", "--redis", "redis://x", "--postgres", "mysql://y"], /--postgres: got "mysql:\/\/y"/],
      [["--port", "0", "--redis", "http://x"], /--redis: got "http:\/\/x"/],
      [["--port", "0", "--lease-ttl", "-1"], /--lease-ttl: got "-1"/],
    ];
    for (const [args, message] of cases) {
      const r = runCli(["escrow", "serve", ...args]);
      expect(r.status).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
