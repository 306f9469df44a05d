/**
 * `meridian local` publishes every region's escrow balances to the verifiable map `escrow`, as the estate does: after
 * sales, a region's balance of a SKU is read from the map and proven against a root in a checkpoint the local proof
 * log signed (`meridian map get escrow <region>/<sku>`, as the summary prints it). Escrow's writes carry a token only
 * escrow holds: the operator's token, quota's token and an unsigned caller cannot write map `escrow`, and escrow's
 * token cannot write quota's map.
 */
import { execFile } from "node:child_process";
import { describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { escrowMapKey } from "../../../runtime/escrow/map-publisher.js";
import { LocalEstate } from "../../../runtime/local/estate.js";
import { escrowMapCredential, mapWriterScope } from "../../../runtime/local/trust-services.js";
import { readLogged } from "../../../runtime/vmap/index.js";
import { loadStack } from "../../../stacks/load.js";
import { MERIDIAN_BIN, REPO_ROOT } from "../../cli.js";

const spec = buildEstateSpec("local", loadStack("local"));
const SKU = Object.keys(spec.runtime.escrow.inventory)[0]!;
const REGION = "local-aws";

const meridian = (args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) =>
    execFile(process.execPath, [MERIDIAN_BIN, ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ status: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr }),
    ),
  );

interface Balance {
  region: string;
  sku: string;
  held: number;
  free: number;
  reserved: number;
  total: number;
  sold: number;
}

/** The region's balance of SKU in the map once it shows `sold`, proven against a logged, signed root. */
async function provenBalance(estate: LocalEstate, sold: number) {
  const o = { mapUrl: estate.globals.map.url, logUrl: estate.globals.log.url, verifierKey: estate.globals.log.verifierKey };
  let last: unknown;
  for (const deadline = Date.now() + 60_000; ; await new Promise((r) => setTimeout(r, 100))) {
    // Until escrow's first batch, the map is at revision 0, which no log entry names.
    const head = (await (await fetch(`${o.mapUrl}/v1/maps/escrow/root`)).json()) as { revision: number };
    if (head.revision === 0) {
      if (Date.now() > deadline) throw new Error("escrow never published to the map");
      continue;
    }
    const r = await readLogged(o, "escrow", escrowMapKey(REGION, SKU));
    const value = r.value && (JSON.parse(r.value.toString("utf8")) as Balance);
    if (value?.sold === sold) return { ...r, value };
    last = value;
    if (Date.now() > deadline) throw new Error(`${REGION}/${SKU} in the map is ${JSON.stringify(last)}, not sold ${sold}`);
  }
}

describe("meridian local: escrow balances in the verifiable map", () => {
  it("after sales, `meridian map get escrow <region>/<sku>` proves the region's balance against a signed checkpoint; only escrow may write the map", { timeout: 180_000 }, async () => {
    const estate = await LocalEstate.start({ spec, regionIds: [REGION], dnsPort: 0, basePort: 0 });
    try {
      const url = `${estate.region(REGION).url}/escrow`;
      const auth = { authorization: `Bearer ${await estate.globals.buyers.token("u1")}` };
      const buy = async (qty: number) => {
        const res = await fetch(`${url}/v1/inventory/${SKU}/reservations`, { method: "POST", headers: { ...auth, "content-type": "application/json" }, body: JSON.stringify({ qty }) });
        expect(res.status, await res.clone().text()).toBe(201);
        const { reservationId } = (await res.json()) as { reservationId: string };
        expect((await fetch(`${url}/v1/reservations/${reservationId}/commit`, { method: "POST", headers: auth })).status).toBe(200);
      };
      await buy(2);
      await buy(1);
      const proven = await provenBalance(estate, 3);
      const audit = (await estate.globals.escrow.store.audit(SKU, Date.now()))!;
      expect(proven.value).toMatchObject({ region: REGION, sku: SKU, total: spec.runtime.escrow.inventory[SKU], sold: 3 });
      expect(proven.value.held).toBe(proven.value.free + proven.value.reserved);
      expect(audit).toMatchObject({ sold: 3 });
      expect(proven.checkpoint.origin).toBe(spec.runtime.prooflog.origin);
      expect(proven.checkpoint.size).toBeGreaterThan(proven.logIndex);

      // The command the summary prints (run asynchronously: the estate answers from this process).
      const key = escrowMapKey(REGION, SKU);
      const cli = await meridian(["map", "get", "escrow", key, "--url", estate.globals.map.url, "--log", estate.globals.log.url, "--vkey", estate.globals.log.verifierKey]);
      expect(cli.status, cli.stderr).toBe(0);
      expect(JSON.parse(cli.stdout)).toMatchObject({ map: "escrow", key, value: { region: REGION, sku: SKU, sold: 3 }, proven: "present (inclusion proof)" });

      // Non-writers of map escrow: the operator, quota's token, no token at all. Escrow's own token may not write quota's map.
      const write = async (map: string, token?: string) =>
        fetch(`${estate.globals.map.url}/v1/maps/${map}/writes`, {
          method: "POST",
          headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ writes: [{ key, value: Buffer.from('{"sold":0}').toString("base64") }] }),
        });
      const operator = await write("escrow", await estate.operator.token());
      expect(operator.status).toBe(403);
      expect(await operator.text()).toMatch(/may not write map escrow/);
      expect((await write("escrow", await estate.operator.token({ subject: "local-quota", scope: mapWriterScope("quota") }))).status).toBe(403);
      expect((await write("escrow")).status).toBe(401);
      const escrowToken = (await escrowMapCredential(estate.globals.map, estate.operator.token)).token;
      expect((await write("quota", escrowToken)).status).toBe(403);
      // Nothing a non-writer sent reached the map: the balance still proves as escrow published it.
      expect((await provenBalance(estate, 3)).value).toEqual(proven.value);
    } finally {
      await estate.stop();
    }
  });
});
