import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { decodeJwt } from "jose";
import { spawn } from "node:child_process";
import { MERIDIAN_BIN, REPO_ROOT } from "../cli.js";
import { runCliInProcess } from "../cli-in-process.js";
import { parseEscrowConfig } from "../../runtime/escrow/config.js";
import { startEscrowServer } from "../../runtime/escrow/index.js";
import { buildEstateSpec } from "../../model/estate.js";
import { escrowServiceConfig } from "../../model/escrow/config.js";
import { loadStack } from "../../stacks/load.js";
import { issuerKeys } from "../runtime/escrow/fixture.js";

describe("meridian escrow", () => {
  it("concert prints the worked example exactly as docs/escrow-concert-example.md has it", async () => {
    const r = await runCliInProcess(["escrow", "concert"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(readFileSync(new URL("../../docs/escrow-concert-example.md", import.meta.url), "utf8"));
  });

  it("allocate shows each region's forecast vs actual and each SKU's allocation, refill plan and debt ceiling", async () => {
    const r = await runCliInProcess(["escrow", "allocate", "--stack", "local", "--json"]);
    expect(r.status).toBe(0);
    const out = JSON.parse(r.stdout) as {
      forecasts: { region: string; forecast: number; actual: number }[];
      skus: { sku: string; total: number; globalReserve: number; regions: Record<string, number>; reorderPoints: Record<string, number> }[];
    };
    const [a] = out.skus;
    expect(a!.sku).toBe("concert-2027");
    expect(Object.values(a!.regions).reduce((s, u) => s + u, 0) + a!.globalReserve).toBe(a!.total);
    expect(out.forecasts.length).toBeGreaterThan(0);
    for (const f of out.forecasts) expect(f.forecast).toBeGreaterThanOrEqual(0);
    const text = await runCliInProcess(["escrow", "allocate", "--stack", "prod"]);
    expect(text.stdout).toMatch(/forecast\s+actual\s+error\s+next/);
    expect(text.stdout).toMatch(/concert-2027: 50000 units, global reserve 5000; refill batch \d+/);
  });

  it("allocate --live shows a running escrow's forecast vs expected demand and the live weights", async () => {
    const rendered = escrowServiceConfig(buildEstateSpec("local", loadStack("local")), { regions: ["local-aws", "local-gcp"] });
    const config = parseEscrowConfig({ ...rendered, identity: { ...rendered.identity, issuer: "https://id.test.example", jwks: { keys: [(await issuerKeys()).publicJwk] } } });
    const server = await startEscrowServer({ config, port: 0 });
    try {
      await server.service.sale("concert-2027", "local-aws");
      await server.service.tick();
      // Asynchronously: the CLI reads the server this process runs.
      const child = spawn(process.execPath, [MERIDIAN_BIN, "escrow", "allocate", "--stack", "local", "--live", server.url, "--region", "local-aws", "--json"], { cwd: REPO_ROOT });
      let stdout = "";
      child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
      const code = await new Promise((resolve) => child.on("exit", resolve));
      expect(code).toBe(0);
      const out = JSON.parse(stdout) as { skus: { sku: string; forecastRate: Record<string, number>; live: Record<string, { demand: number; forecast?: number; expected?: number }> }[] };
      const [a] = out.skus;
      const aws = a!.live["local-aws"]!;
      expect(aws.forecast).toBe(a!.forecastRate["local-aws"]);
      // Nobody has bought since the sale started: the expected rate can only have fallen from the forecast.
      expect(aws.expected).toBeGreaterThan(0);
      expect(aws.expected).toBeLessThanOrEqual(aws.forecast!);
      const text = await runCliInProcess(["escrow", "allocate", "--stack", "local", "--live", "http://127.0.0.1:9"]);
      expect(text.status).toBe(0);
      expect(text.stdout).toMatch(/live \(http:\/\/127.0.0.1:9\): unavailable/);
    } finally {
      await server.close();
    }
  });

  it("config prints what the blueprint renders; the service's schema accepts it", async () => {
    const r = await runCliInProcess(["escrow", "config", "--stack", "prod", "--regions", "aws-use1"]);
    expect(r.status, r.stderr).toBe(0);
    expect(parseEscrowConfig(JSON.parse(r.stdout)).regions).toEqual(["aws-use1"]);
  });

  it("token mints a buyer token for the stack's issuer and audience with the given key", async () => {
    const r = await runCliInProcess(["escrow", "token", "--key", "stacks/keys/local-buyer-issuer.private.jwk", "--sub", "alice", "--tier", "premium"]);
    expect(r.status, r.stderr).toBe(0);
    expect(decodeJwt(r.stdout.trim())).toMatchObject({ iss: "https://id.meridian.local", aud: "meridian-escrow", sub: "alice", tier: "premium" });
    const pub = await runCliInProcess(["escrow", "token", "--key", "package.json", "--sub", "x"]);
    expect(pub.status).toBe(2);
    expect(pub.stderr).toMatch(/--key: package.json is a public key|--key: cannot read/);
  });

  it("serve rejects bad flags naming them, with exit 2", async () => {
    const cases: [string[], RegExp][] = [
      [["--port", "70000"], /--port: got "70000"/],
      [["--port", "0", "--regions", "Bad_Region"], /--regions: "Bad_Region"/],
      [["--port", "0", "--regions", "nowhere"], /unknown region nowhere/],
      [["--port", "0", "--redis", "redis://x", "--postgres", "mysql://y"], /--postgres: got "mysql:\/\/y"/],
      [["--port", "0", "--redis", "http://x"], /--redis: got "http:\/\/x"/],
      [["--port", "0", "--redis", "redis://127.0.0.1:6379/3"], /--redis needs --postgres/],
      [["--port", "0", "--lease-ttl", "-1"], /--lease-ttl: got "-1"/],
      [["--port", "0", "--config", "/nonexistent.json"], /config \/nonexistent.json: cannot read/],
      [["--port", "0", "--config", "package.json"], /package.json: .*regions: /],
      [["--port", "0", "--config", "x.json", "--stack", "local"], /not both/],
    ];
    for (const [args, message] of cases) {
      const r = await runCliInProcess(["escrow", "serve", ...args]);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr).toMatch(message);
    }
  });
});
