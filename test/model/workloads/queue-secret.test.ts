// A sale that opens at a scheduled time queues buyers in the waiting room, whose tokens every region must
// sign with one secret: the escrow workload then mounts the operator's Secret and its rendered config points
// at the file — and the real waiting room opens on that config. Without a scheduled sale that Secret is not mounted
// (a missing Secret would keep the pod from starting for no reason).
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { CONFIG_DIR, WORKLOAD_OBJECTS, regionWorkloads } from "../../../model/workloads/spec.js";
import { defineEscrowService } from "../../../runtime/escrow/index.js";
import { openWaitingRoom } from "../../../runtime/escrow/serve.js";
import { systemClock } from "../../../runtime/common/clock.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";

function prodWith(opensAt?: string): EstateSpec {
  const map = readStackConfigMap("prod");
  const runtime = map["meridian:runtime"] as Record<string, Record<string, unknown>>;
  const sales = runtime["escrow"]!["sales"] as Record<string, Record<string, unknown>>;
  map["meridian:runtime"] = { ...runtime, escrow: { ...runtime["escrow"], sales: { "concert-2027": { ...sales["concert-2027"], ...(opensAt ? { opensAt } : {}) } } } };
  return buildEstateSpec("prod", parseEstateConfig(map, "prod"));
}

const escrowOf = (spec: EstateSpec) => regionWorkloads(spec, spec.regions[0]!.id).find((w) => w.service.name === "escrow")!;

/** Escrow's serve schema: its config plus the serve-only keys (stores, the map it publishes to). */
const parseEscrowConfig = (keys: Record<string, unknown>) => defineEscrowService().config.parse(keys);

/** The escrow service's own keys of its rendered file: the kit takes `server` (the mesh identity) first. */
function escrowKeys(text: string): Record<string, unknown> {
  const { server: _server, ...keys } = JSON.parse(text) as Record<string, unknown>;
  return keys;
}

describe("the waiting room's token secret in the escrow workload", () => {
  it("a scheduled sale mounts the Secret, and the rendered config reads it from the mount", async () => {
    const w = escrowOf(prodWith("2027-03-01T10:00:00Z"));
    expect(w.secretMounts).toEqual([
      { secret: WORKLOAD_OBJECTS.escrowTransitionsSigner, mountPath: `${CONFIG_DIR}/escrow/transitions` },
      { secret: WORKLOAD_OBJECTS.escrowQueueSecret, mountPath: `${CONFIG_DIR}/escrow/queue` },
    ]);
    const config = parseEscrowConfig(escrowKeys(w.config["escrow.json"]!));
    expect(config.waitingRoom.tokenSecretFile).toBe(`${CONFIG_DIR}/escrow/queue/secret`);

    // The real consumer: the waiting room opens on the rendered config with the Secret's file where the pod has it.
    const root = mkdtempSync(join(tmpdir(), "queue-secret-"));
    mkdirSync(join(root, "queue"));
    writeFileSync(join(root, "queue", "secret"), "k".repeat(48));
    const local = { ...config, waitingRoom: { ...config.waitingRoom, tokenSecretFile: config.waitingRoom.tokenSecretFile!.replace(`${CONFIG_DIR}/escrow`, root) } };
    await expect(openWaitingRoom({ config: local, clock: systemClock })).resolves.toBeDefined();
    // Without the file, the service refuses to start naming the key (the pod would crash-loop with the reason).
    await expect(openWaitingRoom({ config, clock: systemClock })).rejects.toThrow(/waitingRoom\.tokenSecretFile: cannot read \/etc\/meridian\/escrow\/queue\/secret/);
  });

  it("without a scheduled sale the queue Secret is not mounted and the config names no secret file", () => {
    const w = escrowOf(prodWith());
    // Only the transition log's signer key (transitions-key.test.ts).
    expect(w.secretMounts).toEqual([{ secret: WORKLOAD_OBJECTS.escrowTransitionsSigner, mountPath: `${CONFIG_DIR}/escrow/transitions` }]);
    expect(parseEscrowConfig(escrowKeys(w.config["escrow.json"]!)).waitingRoom.tokenSecretFile).toBeUndefined();
  });
});
