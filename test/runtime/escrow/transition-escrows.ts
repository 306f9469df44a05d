/**
 * Escrow services with a state-transition log, for the transition-log tests (transitions-incarnation, transport/
 * transitions-restart, transport/transitions-anchor): each started in this process on port 0 from a test config with
 * one SKU, `tix`, and `extra` config on top (a store, a key file, a map); buyers are numbered across the file.
 */
import { expect } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { defineEscrowService } from "../../../runtime/escrow/serve.js";
import type { EscrowService } from "../../../runtime/escrow/service.js";
import { startService, type RunningService } from "../../../runtime/kit/index.js";
import { testConfig } from "./fixture.js";

/** `tix`'s 100 units: `allocation` per region, the rest in the global reserve. */
export type TixAllocation = Record<string, number>;

export class TransitionEscrows {
  private readonly running: RunningService[] = [];
  private buyers = 0;

  async start(allocation: TixAllocation, extra: Record<string, unknown>): Promise<RunningService> {
    const regions = Object.keys(allocation);
    const allocated = Object.values(allocation).reduce((a, b) => a + b, 0);
    const config = await testConfig(regions, {
      skus: [{ sku: "tix", total: 100, globalReserve: 100 - allocated, allocation, refill: { batchSize: 10, reorderPoints: Object.fromEntries(regions.map((r) => [r, 5])) } }],
    });
    const raw = JSON.parse(JSON.stringify({ ...config, ...extra, server: { port: 0 } })) as Record<string, unknown>;
    const svc = await startService(defineEscrowService(), raw, { clock: systemClock, processMetrics: false });
    this.running.push(svc);
    return svc;
  }

  service(svc: RunningService): EscrowService {
    return (svc.parts as { service: EscrowService }).service;
  }

  /** A new buyer reserves `qty` in `region` and commits: the reservation id. */
  async sell(svc: RunningService, region: string, qty: number): Promise<string> {
    const user = this.buyer();
    const r = (await this.service(svc).sale("tix", region))!.escrow.tryReserve(user, qty)!;
    expect(await this.service(svc).commit(r.id, { user, tier: "standard", weight: 1, admin: false })).toMatchObject({ status: "sold" });
    return r.id;
  }

  /** A new buyer's reservation, left open. */
  async reserve(svc: RunningService, region: string, qty: number): Promise<void> {
    expect((await this.service(svc).sale("tix", region))!.escrow.tryReserve(this.buyer(), qty)).not.toBeNull();
  }

  async closeAll(): Promise<void> {
    for (const s of this.running) await s.close().catch(() => undefined);
  }

  private buyer(): string {
    return `buyer-${++this.buyers}`;
  }
}
