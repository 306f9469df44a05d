import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { readdirSync, readFileSync } from "node:fs";
import { LocalEstate } from "../../../runtime/local/estate.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { localOperatorAuth } from "../../../runtime/kit/index.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { bls12_381 } from "@noble/curves/bls12-381.js";
import { parseSignedNote } from "../../../runtime/prooflog/index.js";
import { thresholdMessage } from "../../../runtime/prooflog/witness/threshold.js";
import { certBody, type Certificate } from "../../../runtime/certchain/index.js";

async function dig(port: number, name: string): Promise<string[]> {
  const { stdout } = await promisify(execFile)("dig", ["@127.0.0.1", "-p", String(port), name, "A", "+short", "+tries=1", "+time=2"]);
  return stdout.trim().split("\n").filter(Boolean);
}

/** This test process's `meridian local-region` children for a region, as the OS sees them (from /proc). */
function regionProcesses(region: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const parent = Number(readFileSync(`/proc/${d}/stat`, "utf8").split(") ")[1]!.split(" ")[1]);
        const argv = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
        return parent === process.pid && argv.includes("local-region") && argv[argv.indexOf("--region") + 1] === region;
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * The estate of `meridian local --regions 2`, started once (while the three-region estate's failover test waits on
 * health checks; on its own ports and addresses' port 0). Its test stops it.
 */
let twoRegions: Promise<LocalEstate> | undefined;
const startTwoRegions = () => {
  twoRegions ??= LocalEstate.start({ spec: buildEstateSpec("local", loadStack("local")), regionIds: ["local-aws", "local-gcp"], dnsPort: 0, basePort: 0 });
  twoRegions.catch(() => undefined); // its test reports a failed start
  return twoRegions;
};
afterAll(async () => {
  // Stopped by its test; this covers a run where that test never ran (a filter, an earlier failure).
  await (await twoRegions?.catch(() => undefined))?.stop();
});

describe("the local estate (real processes, real dig)", () => {
  let estate: LocalEstate;
  const spec = buildEstateSpec("local", loadStack("local"));
  const fqdn = `${spec.dns.host}.${spec.dns.apex}`;

  beforeAll(async () => {
    estate = await LocalEstate.start({ spec, dnsPort: 0, basePort: 0 });
  });
  afterAll(() => estate?.stop());

  it("runs one process per region on its own loopback address", () => {
    expect(estate.regions.map((r) => r.id)).toEqual(spec.regions.map((r) => r.id));
    expect(new Set(estate.regions.map((r) => r.address)).size).toBe(3);
    expect(new Set(estate.supervisor.running().map((p) => p.pid)).size).toBe(3);
  });

  // The log's monitor, its certificates and the GSLB's failover side by side: the first two read the estate-wide
  // proof log only, which no region's kill or restart touches; one after another they waited ~10 s in CI.
  it.concurrent("runs a monitor that follows the local log from outside: after appends its verified checkpoint reaches the log's size, every entry checked", async () => {
    const log = estate.globals.log;
    // Twenty writers at once (each add resolves once its entry is durable; one at a time, each waits its own batch).
    await Promise.all(Array.from({ length: 20 }, (_, i) => log.client.add(new TextEncoder().encode(`monitored entry ${i}`))));
    const size = await until("the log to sign the appends", async () => ((s) => (s >= 20 ? s : undefined))((await log.client.checkpoint()).checkpoint.size));
    type Status = { origin: string; size: number | null; entriesChecked: number; lastError: string | null; equivocations: number };
    const status = await until("the monitor to verify them", async () => ((s) => ((s.size ?? 0) >= size ? s : undefined))((await (await fetch(`${log.monitor.url}/v1/status`)).json()) as Status));
    expect(status).toMatchObject({ origin: spec.runtime.prooflog.origin, lastError: null, equivocations: 0, threshold: `${log.threshold.name} (2 of 3)` });
    expect(status.entriesChecked).toBe(status.size);
    // The witnesses' DKG group signed it: one 48-byte BLS signature that @noble/curves verifies under the group key
    // (and not under another key: the partials were combined, not one witness's share).
    const { text, lines } = parseSignedNote(await (await fetch(`${log.url}/checkpoint`)).text());
    const sigs = lines.filter((l) => l.name === log.threshold.name).map((l) => Buffer.from(l.base64, "base64").subarray(4));
    expect(sigs.map((s) => s.length)).toEqual([48]);
    const bls = bls12_381.shortSignatures;
    expect(bls.verify(sigs[0]!, bls.hash(thresholdMessage(text)), Buffer.from(log.threshold.group.groupPublicKey, "hex"))).toBe(true);
    expect(bls.verify(sigs[0]!, bls.hash(thresholdMessage(text)), Buffer.from(log.threshold.group.commitments[1]!, "hex"))).toBe(false);
    // What it serves is the log's own signed checkpoint, and the dashboard links it.
    expect((await (await fetch(`${log.monitor.url}/v1/checkpoint`)).text()).split("\n")[0]).toBe(spec.runtime.prooflog.origin);
    expect(((await estate.globals.state())["proof log"] as { monitor: string }).monitor).toBe(log.monitor.url);
  });

  it.concurrent("certifies the log's checkpoints with the witnesses' group signature, and a light client follows the chain", async () => {
    const { certchain, threshold } = estate.globals.log;
    type CertStatus = { height: number | null; hash: string | null; committee: string | null; evidence: number; lastError: string | null };
    const status = await until("the follower to hold a certificate", async () =>
      ((s) => (s.height !== null ? s : undefined))((await (await fetch(`${certchain.follower.url}/v1/status`)).json()) as CertStatus),
    );
    expect(status).toMatchObject({ committee: expect.stringMatching(/^threshold group 2 of 3/), evidence: 0 });
    const { certificate } = (await (await fetch(`${certchain.follower.url}/v1/certs/${status.height}`)).json()) as { certificate: Certificate };
    const bls = bls12_381.shortSignatures;
    expect(bls.verify(Buffer.from(certificate.groupSignature!, "hex"), bls.hash(certBody(certificate)), Buffer.from(threshold.group.groupPublicKey, "hex"))).toBe(true);
    expect(((await estate.globals.state())["proof log"] as { certificates: unknown }).certificates).toEqual({ issuer: certchain.issuer.url, follower: certchain.follower.url });
  });

  it.concurrent("resolves the apex name to the first healthy region, and fails over when that region is killed", async () => {
    await until("all healthy", () => (Object.values(estate.healthStates()).every((s) => s === "healthy") ? true : undefined));
    const first = estate.regions[0]!;
    expect(await dig(estate.dns.port, fqdn)).toEqual([first.address]);

    const shares = async () => {
      const states = (await estate.regionStates()) as Record<string, { services: { ratelimit: { requestsPerSecond: number } } } | null>;
      return Object.fromEntries(Object.entries(states).map(([id, st]) => [id, st?.services.ratelimit.requestsPerSecond ?? 0]));
    };
    const limit = spec.runtime.ratelimit.requestsPerSecond;
    expect(await until("every region's state", async () => ((s) => (Object.values(s).every((v) => v > 0) ? s : undefined))(await shares()))).toEqual({
      "local-aws": 417,
      "local-gcp": 333,
      "local-azure": 250,
    });

    await estate.killRegion(first.id);
    await until("unhealthy", () => (estate.healthStates()[first.id] === "unhealthy" ? true : undefined));
    // The answer moves to the next region in failover order (on a loaded machine, once the others' checks pass again).
    const second = estate.regions[1]!.address;
    await until("DNS to answer with the next region", async () => ((await dig(estate.dns.port, fqdn)).join() === second ? true : undefined));
    // The dead region's share of the estate-wide limit moves to the survivors, by the model's capacity weights.
    const moved = await until("the shares to move", async () => {
      const now = await shares();
      return now["local-gcp"] !== 333 ? now : undefined;
    });
    expect(moved).toEqual({ "local-aws": 0, "local-gcp": 571, "local-azure": 429 });
    expect(moved["local-gcp"]! + moved["local-azure"]!).toBe(limit);
    const kinds = estate.events.map((e) => e.kind);
    expect(kinds).toContain("killed");
    expect(estate.events.some((e) => e.kind === "health" && e.region === first.id && e.detail.endsWith("unhealthy"))).toBe(true);

    // Two restarts at once (two dashboard tabs, a double click): one region process, and it serves.
    await Promise.all([estate.restartRegion(first.id), estate.restartRegion(first.id)]);
    expect(regionProcesses(first.id)).toHaveLength(1);
    expect(regionProcesses(first.id)).toEqual([estate.supervisor.get(first.id)!.pid]);
    // Now that this estate's region processes are counted, the two-region estate of the last describe starts (its own
    // local-aws process is this process's child too) while this one recovers, mostly waiting on health checks.
    startTwoRegions();
    await until("recovered", () => (estate.healthStates()[first.id] === "healthy" ? true : undefined));
    await until("DNS to answer with it again", async () => ((await dig(estate.dns.port, fqdn)).join() === first.address ? true : undefined));
    await until("the shares to come back", async () => ((await shares())["local-aws"] === 417 ? true : undefined));
    expect(await shares()).toEqual({ "local-aws": 417, "local-gcp": 333, "local-azure": 250 });
  });

  // The globals do not depend on how many regions run: these use this estate rather than starting another.
  it("attest answers on its routes with the supervisor's operator identity; quota and the map run on files (embedded stores)", async () => {
    const url = estate.globals.attest.url;
    const nonce = (await (await fetch(`${url}/v1/attest/nonce`, { method: "POST" })).json()) as { nonce: string; expiresAt: string };
    expect(nonce.nonce).toMatch(/^[0-9a-f]{32,}$/i);
    expect(await (await fetch(`${url}/v1/attest/key`)).json()).toEqual({ verifierKey: estate.globals.attest.verifierKey });
    // The model's SPIRE section for the stack's trust domain: a node never attested is not admitted.
    expect((await fetch(`${url}/v1/attest/spire/node-x`)).status).toBe(403);
    // Revocation is an operator route: no credential 401, a forged token 401, the supervisor's own token gets
    // past auth to the model's node list (the local stack endorses no node, so: unknown node).
    const revoke = (authorization?: string) =>
      fetch(`${url}/v1/attest/revoke`, {
        method: "POST",
        headers: { "content-type": "application/json", ...(authorization ? { authorization } : {}) },
        body: JSON.stringify({ node: "node-x", reason: "test" }),
      });
    expect((await revoke()).status).toBe(401);
    const forged = await (await localOperatorAuth(systemClock)).token();
    expect((await revoke(`Bearer ${forged}`)).status).toBe(401);
    const real = await revoke(`Bearer ${await estate.operator.token()}`);
    expect(real.status).toBe(404);
    // Started against the local proof log: its resume event is there, signed by the verifier.
    const size = (await estate.globals.log.client.checkpoint()).checkpoint.size;
    expect(size).toBeGreaterThan(0);
    expect(estate.globals.attest.store).toMatch(/^file in /);
    expect(estate.globals.quota.store).toMatch(/^files in .*quota$/);
    expect(estate.globals.map.store).toMatch(/^files in .*map$/);
    expect(await estate.globals.state()).toMatchObject({ attest: { url }, quota: { url: estate.globals.quota.url }, map: { url: estate.globals.map.url, map: "quota, escrow" } });
  });

  it("the attestation verifier, quota service and map stop with the estate (last: it stops this estate)", async () => {
    const { attest, quota, map } = estate.globals;
    await estate.stop();
    await expect(fetch(`${attest.url}/v1/attest/key`)).rejects.toThrow();
    await expect(fetch(`${quota.url}/v1/quota/conflicts`)).rejects.toThrow();
    await expect(fetch(`${map.url}/v1/maps/quota/root`)).rejects.toThrow();
  });
});

describe("meridian local --regions <n>", () => {
  it("runs only the first n regions, and the GSLB answers among them", async () => {
    const spec = buildEstateSpec("local", loadStack("local"));
    const two = await startTwoRegions();
    try {
      expect(two.regions.map((r) => r.id)).toEqual(["local-aws", "local-gcp"]);
      expect(two.policy.targets.map((t) => t.id)).toEqual(["local-aws", "local-gcp"]);
      expect(await dig(two.dns.port, `${spec.dns.host}.${spec.dns.apex}`)).toEqual(["127.0.1.1"]);
    } finally {
      await two.stop();
    }
  });
});
