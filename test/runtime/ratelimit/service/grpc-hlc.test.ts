// HLC and its epoch on the RLS gRPC metadata, by the HTTP rules (runtime/clock's httpHlc): every answer carries
// `meridian-hlc`, `meridian-hlc-epoch` and `meridian-time`; a timestamp or epoch from before the clock's reset is
// refused FAILED_PRECONDITION `hlc reset` (an unknown one `unknown hlc epoch`, a malformed one INVALID_ARGUMENT)
// without being applied, and the refusal still tells the caller the current epoch.
import * as grpc from "@grpc/grpc-js";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ClockNode, compare, format, parse } from "../../../../runtime/clock/index.js";
import { ManualClock } from "../../../../runtime/common/clock.js";
import { startGrpc } from "../../../../runtime/ratelimit/service/grpc.js";
import { RateLimitService } from "../../../../runtime/ratelimit/service/rls.js";
import { MemoryStore } from "../../../../runtime/ratelimit/store/memory.js";
import { d, rlsClient } from "../rls-client.js";
import { domains } from "./fixtures.js";

const clock = new ManualClock(1_700_000_000_000);
const node = new ClockNode({ clock, maxOffsetMs: 500 });
// A client address of its own per test (edge allows 2 a second per address, and the manual clock stands still),
// so no test is over the limit because of the requests another made before it.
let clients = 0;
let REQ: { domain: string; descriptors: ReturnType<typeof d>[] };
beforeEach(() => {
  REQ = { domain: "edge", descriptors: [d([["remote_address", `10.9.9.${++clients}`]])] };
});
let server: grpc.Server;
let rls: ReturnType<typeof rlsClient>;

beforeAll(async () => {
  // The clock was reset twice: epoch 2.
  const at = (clock.now() - 60_000) * 1000;
  node.setEpoch({ epoch: 2, lastReset: { epoch: 2, atMicros: at, at: new Date(at / 1000).toISOString(), reason: "drill", fromWallMicros: at + 5e6, toWallMicros: at } });
  const g = await startGrpc(new RateLimitService(domains(), new MemoryStore(), clock), 0, "127.0.0.1", { hlc: node });
  server = g.server;
  rls = rlsClient(`127.0.0.1:${g.port}`);
});
afterAll(() => {
  rls.close();
  server.forceShutdown();
});

const md = (entries: Record<string, string>) => {
  const m = new grpc.Metadata();
  for (const [k, v] of Object.entries(entries)) m.set(k, v);
  return m;
};
const one = (m: grpc.Metadata, key: string) => m.get(key)[0]?.toString();
/** A timestamp ahead of the node's clock, within max offset: applying it would move the node's HLC forward. */
const ahead = () => format({ wall: (clock.now() + 200) * 1000, logical: 0 });

describe("HLC epoch on the RLS gRPC metadata", () => {
  it("every answer carries the HLC, its epoch and its time", async () => {
    const r = await rls.exchange(REQ);
    expect(r.response?.overall_code).toBe("OK");
    expect(one(r.metadata, "meridian-hlc-epoch")).toBe("2");
    expect(one(r.metadata, "meridian-hlc")).toMatch(/^\d+\.\d+$/);
    expect(one(r.metadata, "meridian-time")).toMatch(/^2023-11-14T/);
  });

  it("forwards the clock to a current-epoch timestamp (suffixed or with the epoch key)", async () => {
    const t = ahead();
    expect((await rls.exchange(REQ, md({ "meridian-hlc": `${t}@2` }))).response?.overall_code).toBe("OK");
    expect(compare(node.hlc.peek(), parse(t))).toBeGreaterThanOrEqual(0);
    expect((await rls.exchange(REQ, md({ "meridian-hlc": ahead(), "meridian-hlc-epoch": "2" }))).error).toBeUndefined();
  });

  it("refuses an older epoch's timestamp FAILED_PRECONDITION `hlc reset`, unapplied, and names the current epoch", async () => {
    clock.advance(1000);
    for (const m of [{ "meridian-hlc": `${ahead()}@1` }, { "meridian-hlc": ahead(), "meridian-hlc-epoch": "0" }] as Record<string, string>[]) {
      const t = m["meridian-hlc"]!.split("@")[0]!;
      const r = await rls.exchange(REQ, md(m));
      expect(r.error?.code, JSON.stringify(m)).toBe(grpc.status.FAILED_PRECONDITION);
      expect(r.error?.details).toMatch(/^hlc reset: meridian-hlc /);
      expect(r.error?.details).toContain("this clock was reset to epoch 2");
      expect(r.error?.details).not.toContain("x-meridian");
      expect(one(r.metadata, "meridian-hlc-epoch")).toBe("2");
      // Not applied: the node did not move to the refused timestamp.
      expect(compare(node.hlc.peek(), parse(t))).toBeLessThan(0);
    }
    // The epoch alone, without a timestamp, is checked too.
    expect((await rls.exchange(REQ, md({ "meridian-hlc-epoch": "1" }))).error?.details).toMatch(/^hlc reset: meridian-hlc-epoch is from HLC epoch 1/);
  });

  it("refuses an unknown epoch FAILED_PRECONDITION and a malformed one INVALID_ARGUMENT", async () => {
    const unknown = await rls.exchange(REQ, md({ "meridian-hlc": `${ahead()}@3` }));
    expect(unknown.error?.code).toBe(grpc.status.FAILED_PRECONDITION);
    expect(unknown.error?.details).toMatch(/^unknown hlc epoch: /);
    const bad = await rls.exchange(REQ, md({ "meridian-hlc-epoch": "two" }));
    expect(bad.error?.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(bad.error?.details).toContain('invalid HLC epoch "two"');
  });
});
