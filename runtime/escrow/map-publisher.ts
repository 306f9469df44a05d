/**
 * Publishes escrow balances to the verifiable map (map `escrow`, runtime/vmap), whose every root is recorded in the
 * proof log, so anyone can prove a region's balance of a SKU against a logged root instead of trusting escrow.
 * One entry per region and SKU this process serves: key `escrowMapKey(region, sku)` (`<region>/<sku>`), value the
 * region's ledger (held = free + reserved units; epoch and liveness of its lease) and the SKU's store-wide total
 * and sold units as of the publish, in canonical JSON. Each served region owns its `<region>/` keys, so every
 * region's escrow writes the same map without deleting another's entries.
 *
 * The escrow's state-transition log is anchored in the same map, under a key of each process's own
 * (transport/transitions-anchor.ts), not under a region's keys: two processes serving one region would overwrite it.
 *
 * The shared publisher (runtime/vmap/publisher.ts): a sale only pokes it; batches go out behind the sale, and a map
 * outage (refused, down, hung) shows only in /metrics (`meridian_escrow_map_*`) and the log, never in a sale. A batch
 * counts as published only when the map answers it with a batch proof, verified here, that its root holds exactly
 * the values written: a map that acknowledges a write it did not apply (garbage, or a root without them) is an
 * outage too (failed, retried, `behind` stays 1), never balances taken for published that the map does not hold.
 */
import type { Registry } from "prom-client";
import { mapKeyOf, MapPublisher, type MapClient } from "../vmap/index.js";
import type { InventoryView } from "./service.js";

/** A region's key for a SKU: `<region>/<sku>`, the SKU hashed when the key would pass 32 bytes. */
export function escrowMapKey(region: string, sku: string): string {
  return mapKeyOf(sku, `${region}/`);
}

/** The region's entries: every SKU whose sale runs here (its ledger is this process's), from `inventory` views. */
function escrowMapEntries(region: string, views: readonly (InventoryView | null)[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of views) {
    const r = v?.regions[region];
    if (!v || !r || r.free === null) continue; // not started here: nothing this process can vouch for
    out.set(
      escrowMapKey(region, v.sku),
      JSON.stringify({
        v: "meridian-escrow/1",
        region,
        sku: v.sku,
        generation: v.generation,
        held: r.held,
        free: r.free,
        reserved: r.reserved,
        epoch: r.epoch,
        live: r.live,
        total: v.total,
        sold: v.sold,
      }),
    );
  }
  return out;
}

export interface EscrowMapPublisherOptions {
  client: MapClient;
  map: string;
  regions: readonly string[];
  skus: readonly string[];
  inventory: (sku: string) => Promise<InventoryView | null>;
  onError: (err: Error) => void;
  metrics?: Registry;
  retryMs?: { min: number; max: number };
}

/** One shared publisher per served region (each owning its `<region>/` keys); poked after sales and each tick. */
export class EscrowMapPublisher {
  readonly regions: Map<string, MapPublisher>;

  constructor(o: EscrowMapPublisherOptions) {
    const { regions, skus, inventory, metrics, ...rest } = o;
    const view = async (region: string) => escrowMapEntries(region, await Promise.all(skus.map((s) => inventory(s))));
    const client = provenWrites(rest.client);
    this.regions = new Map(
      regions.map((region, i) => [
        region,
        new MapPublisher({
          ...rest,
          client,
          prefix: `${region}/`,
          view: () => view(region),
          // One set of metrics for the process: the first region's publisher carries them.
          metrics: metrics && i === 0 ? { registry: metrics, name: "meridian_escrow_map", what: "escrow balance" } : undefined,
        }),
      ]),
    );
  }

  poke(): void {
    for (const p of this.regions.values()) p.poke();
  }

  async idle(): Promise<void> {
    for (const p of this.regions.values()) await p.idle();
  }

  async close(): Promise<void> {
    await Promise.all([...this.regions.values()].map((p) => p.close()));
  }
}

/**
 * `client`, its writes asking for the batch proof (MapClient.writeProven verifies it against the answer's root) and
 * refused unless the proven value of each key written is the one written.
 */
function provenWrites(client: MapClient): MapClient {
  const proven = Object.create(client) as MapClient;
  proven.write = async (map, writes) => {
    const r = await client.writeProven(map, writes);
    for (const [key, v] of writes) {
      const got = r.values.get(key);
      if (v === null ? got !== null : !got || !Buffer.from(v).equals(got)) throw new Error(`map ${map} answered batch root ${r.root}, which does not hold the value written for ${key}`);
    }
    return { revision: r.revision, root: r.root, logIndex: r.logIndex };
  };
  return proven;
}
