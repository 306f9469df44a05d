// Propagation helpers against the real carriers: grpc-js Metadata, NATS headers through the running
// nats-server, and plain HTTP header records.
import { Metadata } from "@grpc/grpc-js";
import { connect, headers as natsHeaders } from "nats";
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { HybridClock, UntrustworthyRemoteWallTimeError } from "../../../runtime/clock/hlc.js";
import { ClockNode } from "../../../runtime/clock/node.js";
import { grpc, http, HTTP_HEADER, nats, NATS_EPOCH_HEADER } from "../../../runtime/clock/propagation.js";
import { less, TimestampParseError } from "../../../runtime/clock/timestamp.js";

const pair = (skewMs: number) => {
  const base = 1_700_000_000_000;
  const a = new HybridClock({ clock: new ManualClock(base + skewMs), maxOffsetMs: 500 });
  const b = new HybridClock({ clock: new ManualClock(base), maxOffsetMs: 500 });
  return { a, b };
};

describe("HLC propagation", () => {
  it("HTTP: the receiver's next timestamp follows the sender's, even when the sender's clock is ahead", () => {
    const { a, b } = pair(200);
    const headers: Record<string, string> = {};
    const sent = http.inject(headers, a);
    expect(headers[HTTP_HEADER]).toMatch(/^\d+\.\d+$/);
    expect(http.extract(headers, b)).toEqual(sent);
    expect(less(sent, b.now())).toBe(true);
  });

  it("HTTP: a missing header is not an error; malformed and beyond-max-offset values are refused unapplied", () => {
    const { a, b } = pair(900);
    expect(http.extract({}, b)).toBeNull();
    const before = b.peek();
    expect(() => http.extract({ [HTTP_HEADER]: "yesterday" }, b)).toThrow(TimestampParseError);
    const headers: Record<string, string> = {};
    http.inject(headers, a);
    expect(() => http.extract(headers, b)).toThrow(UntrustworthyRemoteWallTimeError);
    expect(b.peek()).toEqual(before);
  });

  it("gRPC metadata", () => {
    const { a, b } = pair(100);
    const md = new Metadata();
    const sent = grpc.inject(md, a);
    expect(grpc.extract(md, b)).toEqual(sent);
    expect(grpc.extract(new Metadata(), b)).toBeNull();
  });

  it("NATS headers (HLC and epoch) survive a real publish/subscribe through nats-server", async () => {
    const base = 1_700_000_000_000;
    const a = new ClockNode({ clock: new ManualClock(base + 300), maxOffsetMs: 500 });
    const b = new ClockNode({ clock: new ManualClock(base), maxOffsetMs: 500 });
    const nc = await connect({ servers: "127.0.0.1:4222" });
    try {
      const subject = `meridian.time.test.${process.pid}.${Date.now()}`;
      const sub = nc.subscribe(subject, { max: 1 });
      const h = natsHeaders();
      const sent = nats.inject(h, a);
      expect(h.get(NATS_EPOCH_HEADER)).toBe("0");
      nc.publish(subject, "payload", { headers: h });
      for await (const msg of sub) {
        expect(nats.extract(msg.headers!, b)).toEqual(sent);
      }
      expect(less(sent, b.hlc.now())).toBe(true);
      expect(nats.extract(natsHeaders(), b)).toBeNull();
      expect(nats.extract(undefined, b)).toBeNull();
    } finally {
      await nc.close();
    }
  });
});
