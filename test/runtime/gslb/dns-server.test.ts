import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { startDnsServer, type DnsServer } from "../../../runtime/gslb/dns-server.js";

// Asynchronous: the server runs in this process, so a blocking child would starve it.
async function dig(port: number, name: string, type = "A"): Promise<string> {
  const { stdout } = await promisify(execFile)("dig", ["@127.0.0.1", "-p", String(port), name, type, "+tries=1", "+time=2"]);
  return stdout;
}

describe("GSLB DNS server (checked with the real dig)", () => {
  let server: DnsServer;
  let addresses = ["127.0.1.1"];

  beforeAll(async () => {
    server = await startDnsServer({
      zone: "meridian.localhost.test",
      port: 0,
      resolve: (name) => (name === "api.meridian.localhost.test" ? { addresses, ttl: 5 } : null),
    });
  });
  afterAll(() => server.close());

  it("answers A records authoritatively from the resolver function", async () => {
    const out = await dig(server.port, "api.meridian.localhost.test");
    expect(out).toMatch(/status: NOERROR/);
    expect(out).toMatch(/flags: qr aa/);
    expect(out).toMatch(/api\.meridian\.localhost\.test\.\s+5\s+IN\s+A\s+127\.0\.1\.1/);
  });

  it("follows the resolver's current decision (failover)", async () => {
    addresses = ["127.0.1.2"];
    expect(await dig(server.port, "api.meridian.localhost.test")).toMatch(/IN\s+A\s+127\.0\.1\.2/);
  });

  it("NXDOMAIN for unknown names in the zone, REFUSED outside it, NODATA for other types", async () => {
    expect(await dig(server.port, "nope.meridian.localhost.test")).toMatch(/status: NXDOMAIN/);
    expect(await dig(server.port, "example.org")).toMatch(/status: REFUSED/);
    const aaaa = await dig(server.port, "api.meridian.localhost.test", "AAAA");
    expect(aaaa).toMatch(/status: NOERROR/);
    expect(aaaa).toMatch(/ANSWER: 0/);
  });
});
