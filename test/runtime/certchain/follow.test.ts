/**
 * Where a follower with nothing kept starts (runtime/certchain/follow.ts upstreamStart): the first certificate upstream
 * holds that its pinned committee signed. Pinned to the chain's first group it starts at genesis; pinned to the group
 * the chain handed over to (the stack's `group` after promotion) it fast-syncs from that group's first certificate,
 * past the old group's history; pinned to a group that never signed it is refused, naming why; across pages too.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { certHash, LightClient, type Certificate, type Committee } from "../../../runtime/certchain/index.js";
import { refusalUnder, upstreamStart } from "../../../runtime/certchain/follow.js";
import { deal } from "../../../runtime/tbls/index.js";
import { chain, committeeOf, NEW, OLD, root, signed } from "./threshold-fixture.js";

let served: Certificate[] = [];
let server: Server;
let url: string;

beforeAll(async () => {
  // GET /v1/certs?from=H&limit=N as `cert serve` answers it: {first, latest, certificates}.
  server = createServer((req, res) => {
    const q = new URL(req.url!, "http://x").searchParams;
    const first = served[0]!.height;
    const from = Number(q.get("from") ?? first);
    const limit = Number(q.get("limit") ?? 1000);
    const certificates = served.filter((c) => c.height >= from).slice(0, limit);
    res.setHeader("content-type", "application/json").end(JSON.stringify({ first, latest: served.at(-1)!.height, certificates }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const refusal = (committee: Committee) => (c: Certificate) => refusalUnder(c, committee);

describe("a fresh follower's start", () => {
  it("starts at genesis under the first group and at the new group's first certificate after the hand-over", async () => {
    served = chain();
    expect((await upstreamStart(url, refusal(committeeOf(OLD)), 5000)).height).toBe(0);
    const start = await upstreamStart(url, refusal(committeeOf(NEW)), 5000);
    expect(start.height).toBe(2);
    // From there it follows the new group's chain like any light client.
    const c3 = signed({ height: 3, parent: certHash(start), root: root("r3") }, NEW, [2, 3, 4]);
    const lc = new LightClient(start, committeeOf(NEW));
    lc.accept(c3);
    expect(lc.head.height).toBe(3);
  });

  it("a group that never signed the chain is refused, naming why", async () => {
    served = chain();
    const other = deal(2, 3);
    await expect(upstreamStart(url, refusal(committeeOf(other)), 5000)).rejects.toThrow(
      /none of its certificates \(heights 0\.\.2\) is signed by the committee this follower trusts; the first: certificate 0 is signed for another committee/,
    );
  });

  it("looks past a page of the old group's history", async () => {
    // Heights 0..299 under the old group (copies of its genesis: the committee check refuses them before any
    // signature work), the new group's first certificate at 300: the start is found on the second page.
    const [c0] = chain();
    served = Array.from({ length: 300 }, (_, h) => ({ ...c0!, height: h }));
    served.push(signed({ height: 300, parent: certHash(served[299]!), root: root("r300") }, NEW, [1, 2, 4]));
    expect((await upstreamStart(url, refusal(committeeOf(NEW)), 5000)).height).toBe(300);
  });
});
