// The strict switch for HLC epochs (ClockNode requireEpoch; MERIDIAN_HLC_REQUIRE_EPOCH; the clock service's
// requireEpoch): once every caller sends epochs, an HLC timestamp that names none is refused — HTTP 400
// "hlc epoch required", a NATS message dropped (reason no-epoch) — unapplied. Off (the default), it is applied.
import { connect, headers as natsHeaders } from "nats";
import Fastify from "fastify";
import { afterAll, describe, expect, it } from "vitest";
import { ManualClock, systemClock } from "../../../runtime/common/clock.js";
import { ClockNode, hlcRequireEpochFromEnv, natsHlc, type NatsRefusal } from "../../../runtime/clock/index.js";
import { installHlc } from "../../../runtime/clock/http.js";
import { installErrorHandler } from "../../../runtime/kit/errors.js";
import { killServers, serveCli } from "../../cli.js";

afterAll(() => killServers());

const refusals = async (n: ClockNode, name: string, labels: Record<string, string>) =>
  (await n.metrics.registry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;

describe("requireEpoch", () => {
  it("reads MERIDIAN_HLC_REQUIRE_EPOCH, refusing a value that is neither true nor false by name", () => {
    expect(hlcRequireEpochFromEnv({})).toBe(false);
    expect(hlcRequireEpochFromEnv({ MERIDIAN_HLC_REQUIRE_EPOCH: "false" })).toBe(false);
    expect(hlcRequireEpochFromEnv({ MERIDIAN_HLC_REQUIRE_EPOCH: "true" })).toBe(true);
    expect(() => hlcRequireEpochFromEnv({ MERIDIAN_HLC_REQUIRE_EPOCH: "yes" })).toThrow(/MERIDIAN_HLC_REQUIRE_EPOCH=yes: expected true or false/);
  });

  it("HTTP: a header without an epoch is 400 'hlc epoch required' and not applied; with an epoch (header or @N) it is applied", async () => {
    const base = 1_700_000_000_000;
    const strict = new ClockNode({ clock: new ManualClock(base), maxOffsetMs: 500, requireEpoch: true });
    const lax = new ClockNode({ clock: new ManualClock(base), maxOffsetMs: 500 });
    const ahead = `${(base + 200) * 1000}.0`;
    for (const node of [strict, lax]) {
      const app = Fastify();
      installErrorHandler(app);
      installHlc(app, node);
      app.get("/", async () => ({ ok: true }));
      try {
        const res = await app.inject({ url: "/", headers: { "x-meridian-hlc": ahead } });
        if (node === strict) {
          expect(res.statusCode).toBe(400);
          expect(res.json()).toMatchObject({ error: "hlc epoch required", detail: expect.stringMatching(/names no HLC epoch.*x-meridian-hlc-epoch/) });
          expect(node.hlc.peek().wall).toBe(base * 1000); // not forwarded to the refused header (the reply's stamp reads the clock)
          expect(await refusals(node, "meridian_time_gateway_refusals_total", { reason: "no-epoch" })).toBe(1);
        } else {
          expect(res.statusCode).toBe(200);
          expect(node.hlc.peek().wall).toBe((base + 200) * 1000);
        }
        expect((await app.inject({ url: "/", headers: { "x-meridian-hlc": ahead, "x-meridian-hlc-epoch": "0" } })).statusCode).toBe(200);
        expect((await app.inject({ url: "/", headers: { "x-meridian-hlc": `${ahead}@0` } })).statusCode).toBe(200);
        expect(node.hlc.peek().wall).toBe((base + 200) * 1000);
      } finally {
        await app.close();
      }
    }
  });

  it("NATS (real nats-server): a message without Meridian-HLC-Epoch is dropped by a strict node, applied by a lax one", async () => {
    const strict = new ClockNode({ clock: systemClock, maxOffsetMs: 500, requireEpoch: true });
    const lax = new ClockNode({ clock: systemClock, maxOffsetMs: 500 });
    const nc = await connect({ servers: "127.0.0.1:4222" });
    try {
      const subject = `meridian.test.requireepoch.${process.pid}.${Date.now()}`;
      const sub = nc.subscribe(subject, { max: 2 });
      const epochless = natsHeaders();
      epochless.set("Meridian-HLC", `${Date.now() * 1000}.0`);
      nc.publish(subject, "old sender", { headers: epochless });
      const stamped = natsHeaders();
      natsHlc.inject(stamped, lax);
      nc.publish(subject, "new sender", { headers: stamped });
      const verdicts: (string | null)[] = [];
      const warned: NatsRefusal[] = [];
      for await (const msg of sub) {
        verdicts.push(natsHlc.receive(msg.headers, strict, msg.subject, (r) => warned.push(r))?.reason ?? null);
        expect(natsHlc.receive(msg.headers, lax, msg.subject, () => {})).toBeNull();
      }
      expect(verdicts).toEqual(["no-epoch", null]);
      expect(warned[0]!.detail).toMatch(/names no HLC epoch.*Meridian-HLC-Epoch/);
      expect(await refusals(strict, "meridian_hlc_message_refusals_total", { transport: "nats", reason: "no-epoch" })).toBe(1);
    } finally {
      await nc.close();
    }
  });

  it("HTTP: under strict epochs a consistency token without @N is 400 'hlc epoch required' (not epoch 0), unapplied; tokens it issues name epoch 0", async () => {
    const base = 1_700_000_000_000;
    for (const requireEpoch of [true, false]) {
      const node = new ClockNode({ clock: new ManualClock(base), maxOffsetMs: 500, requireEpoch });
      const app = Fastify();
      installErrorHandler(app);
      installHlc(app, node, { consistencyTokens: true });
      app.get("/", async () => ({ ok: true }));
      app.post("/", async () => ({ ok: true }));
      try {
        const ahead = `${(base + 200) * 1000}.0`;
        const res = await app.inject({ url: "/", headers: { "x-meridian-consistency": ahead } });
        if (requireEpoch) {
          expect(res.statusCode).toBe(400);
          expect(res.json()).toMatchObject({ error: "hlc epoch required", detail: expect.stringMatching(/consistency token \d+\.0 names no HLC epoch.*<wall>\.<logical>@<epoch>/) });
          expect(node.hlc.peek().wall).toBe(base * 1000);
        } else {
          expect(res.statusCode).toBe(200);
          expect(node.hlc.peek().wall).toBe((base + 200) * 1000);
        }
        // The token a write returns round-trips: a strict node names epoch 0, a lax one keeps the plain form.
        const token = (await app.inject({ method: "POST", url: "/" })).headers["x-meridian-consistency"] as string;
        expect(token).toMatch(requireEpoch ? /^\d+\.\d+@0$/ : /^\d+\.\d+$/);
        expect((await app.inject({ url: "/", headers: { "x-meridian-consistency": token } })).statusCode).toBe(200);
        expect((await app.inject({ url: "/", headers: { "x-meridian-consistency": `${ahead}@0` } })).statusCode).toBe(200);
      } finally {
        await app.close();
      }
    }
  });

  it("the real `meridian time serve` with MERIDIAN_HLC_REQUIRE_EPOCH=true refuses an epoch-less header", async () => {
    const { url } = await serveCli(["time", "serve", "--port", "0", "--region", "r1", "--max-offset-ms", "250"], { MERIDIAN_HLC_REQUIRE_EPOCH: "true" });
    const hlc = `${Date.now() * 1000}.0`;
    const res = await fetch(`${url}/v1/time`, { headers: { "x-meridian-hlc": hlc } });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: "hlc epoch required" });
    expect((await fetch(`${url}/v1/time`, { headers: { "x-meridian-hlc": hlc, "x-meridian-hlc-epoch": "0" } })).status).toBe(200);
  });
});
