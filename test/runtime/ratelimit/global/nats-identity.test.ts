// Who a client is on NATS (docs/ratelimit.md, "Who a client is"), against a real private nats-server whose authorization
// holds one nkey user per regional limiter, allowed to publish only on `<subject>.getcapacity.<its client>`, and one
// for the allocator: the allocator takes the client from the subject and refuses a payload naming another, a limiter
// cannot publish on another client's subject, an anonymous connection is refused, and the honest path gets its lease.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { connect, nkeyAuthenticator, nkeys } from "nats";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { startService } from "../../../../runtime/kit/index.js";
import { clientToken, connectLimiter, natsAuthorization, type LimiterNats } from "../../../../runtime/ratelimit/global/nats.js";
import { allocatorService } from "../../../../runtime/ratelimit/global/server.js";
import { PrivateNats } from "./private-nats.js";

const subject = "meridian.ratelimit";
const resources = [{ id: "checkout", capacity: 100, lease_ms: 10_000, refresh_ms: 1000 }];
// Region clients as the rate limit service names them (`<region>/<host>/<pid>`): dots and slashes, not NATS tokens.
const EU = "eu-west-1/rl-7.eu.internal/41";
const US = "us-east-1/rl-2.us.internal/17";
const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
const dec = (b: Uint8Array) => JSON.parse(new TextDecoder().decode(b)) as Record<string, unknown>;

const clock = new ManualClock(0);
let dir: string;
let server: PrivateNats;
const startAllocator = (raw: Record<string, unknown>) => startService(allocatorService, raw, { clock, processMetrics: false });
let allocator: Awaited<ReturnType<typeof startAllocator>>;
let eu: LimiterNats;
let us: LimiterNats;
const seedFile = (name: string, kp: { getSeed(): Uint8Array }) => {
  const file = join(dir, `${name}.nk`);
  writeFileSync(file, new TextDecoder().decode(kp.getSeed()) + "\n", { mode: 0o600 });
  return file;
};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "meridian-nats-id-"));
  const alloc = nkeys.createUser();
  const euKey = nkeys.createUser();
  const usKey = nkeys.createUser();
  server = await PrivateNats.start(
    natsAuthorization({
      subject,
      allocator: alloc.getPublicKey(),
      limiters: [
        { client: EU, nkey: euKey.getPublicKey() },
        { client: US, nkey: usKey.getPublicKey() },
      ],
    }),
  );
  allocator = await startAllocator({ resources, nats: server.url, subject, natsNkeySeedFile: seedFile("allocator", alloc), server: { port: 0 } });
  eu = await connectLimiter({ nats: server.url, subject, client: EU, nkeySeedFile: seedFile("eu", euKey) });
  us = await connectLimiter({ nats: server.url, subject, client: US, nkeySeedFile: seedFile("us", usKey) });
}, 30_000);

afterAll(async () => {
  await eu?.close();
  await us?.close();
  await allocator?.close();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe("GetCapacity on an authorized NATS (private nats-server, nkey users)", () => {
  it("the honest path: each limiter gets its lease on its own subject, the allocator keeps it under that client", async () => {
    expect(await eu.getCapacity("checkout", 30)).toMatchObject({ resource: "checkout", has: 30 });
    expect(await us.getCapacity("checkout", 20)).toMatchObject({ resource: "checkout", has: 20 });
    const held = await allocator.parts.store.snapshot("checkout", clock.now());
    expect(Object.fromEntries(held.map((c) => [c.client, c.has]))).toEqual({ [EU]: 30, [US]: 20 });
  });

  it("a limiter cannot publish on another client's subject: the server refuses it, and that client's lease is untouched", async () => {
    const errors: string[] = [];
    void (async () => {
      for await (const s of eu.nc.status()) if (s.type === "error") errors.push(String(s.data));
    })();
    // The eu limiter asks as us, on us's subject (with us's name in the payload too), to release us's lease.
    await expect(eu.nc.request(`${subject}.getcapacity.${clientToken(US)}`, enc({ resource: "checkout", client: US, wants: 0 }), { timeout: 1000 })).rejects.toThrow(/permissions violation/i);
    // And on the bare subject the allocator served before.
    await expect(eu.nc.request(`${subject}.getcapacity`, enc({ resource: "checkout", client: US, wants: 0 }), { timeout: 1000 })).rejects.toThrow(/permissions violation/i);
    await eu.nc.flush();
    expect(errors.join("\n")).toMatch(/PERMISSIONS_VIOLATION/);
    const held = await allocator.parts.store.snapshot("checkout", clock.now());
    expect(held.find((c) => c.client === US)).toMatchObject({ has: 20 });
    // The eu limiter's own connection still works.
    expect(await eu.getCapacity("checkout", 30)).toMatchObject({ has: 30 });
  });

  it("a payload naming another client than the subject's is refused, no lease granted or released", async () => {
    const reply = dec((await eu.nc.request(`${subject}.getcapacity.${clientToken(EU)}`, enc({ resource: "checkout", client: US, wants: 0 }), { timeout: 2000 })).data);
    expect(reply).toEqual({ error: expect.stringMatching(/client .*us-east-1.* is not this subject's client .*eu-west-1/) });
    const held = await allocator.parts.store.snapshot("checkout", clock.now());
    expect(Object.fromEntries(held.map((c) => [c.client, c.has]))).toEqual({ [EU]: 30, [US]: 20 });
  });

  it("without credentials, or with a key the server does not list, nothing connects", async () => {
    await expect(connect({ servers: server.url, reconnect: false, timeout: 2000 })).rejects.toThrow(/Authorization Violation/i);
    const stranger = nkeys.createUser();
    await expect(connect({ servers: server.url, reconnect: false, timeout: 2000, authenticator: nkeyAuthenticator(stranger.getSeed()) })).rejects.toThrow(/Authorization Violation/i);
  });

  it("a client's subject token is one NATS token, and reversible", () => {
    for (const c of [EU, US, "a.b*c>d e", "%41", "plain"]) {
      const t = clientToken(c);
      expect(t).toMatch(/^[^.*>\s]+$/);
      expect(decodeURIComponent(t)).toBe(c);
    }
  });
});

describe("credentials in the config", () => {
  it("refuses a seed without nats, a missing seed file, and a file that is not a user seed, naming each", async () => {
    const base = { resources, server: { port: 0 } };
    await expect(startAllocator({ ...base, natsNkeySeedFile: "/x.nk" })).rejects.toThrow(/natsNkeySeedFile: .*need nats/);
    await expect(startAllocator({ ...base, nats: server.url, natsNkeySeedFile: join(dir, "missing.nk") })).rejects.toThrow(/natsNkeySeedFile .*missing\.nk.*cannot be read/);
    const notUser = join(dir, "account.nk");
    writeFileSync(notUser, new TextDecoder().decode(nkeys.createAccount().getSeed()));
    await expect(startAllocator({ ...base, nats: server.url, natsNkeySeedFile: notUser })).rejects.toThrow(/account\.nk.*not an nkey user seed/);
    const junk = join(dir, "junk.nk");
    writeFileSync(junk, "hello\n");
    await expect(connectLimiter({ nats: server.url, client: EU, nkeySeedFile: junk })).rejects.toThrow(/junk\.nk.*not an nkey user seed/);
    await expect(connectLimiter({ nats: server.url, client: "", nkeySeedFile: junk })).rejects.toThrow(/client/);
    await expect(connectLimiter({ nats: "http://x", client: EU })).rejects.toThrow(/nats: expected nats:\/\/host:port/);
  });
});
