// Every region's escrow keeps its state-transition log in PostgreSQL across restarts, which needs the log's signer key
// kept too: the workload mounts the operator's Secret (its own key in each region) and the rendered config's
// `transitionsKeyFile` names the key file inside that mount, as the service's own serve schema reads it. The key file
// is what `meridian note keygen` prints, first line: the service's own reader takes it; both lines (the verifier key
// too) it refuses, naming the setting (the check can fail).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { buildEstateSpec } from "../../../model/estate.js";
import { CONFIG_DIR, WORKLOAD_OBJECTS, regionWorkloads } from "../../../model/workloads/spec.js";
import { defineEscrowService } from "../../../runtime/escrow/index.js";
import { readSignerKey } from "../../../runtime/escrow/transition-key.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { loadStack } from "../../../stacks/load.js";

const spec = buildEstateSpec("prod", loadStack("prod"));
const escrowOf = (region: string) => regionWorkloads(spec, region).find((w) => w.service.name === "escrow")!;

/** Escrow's serve schema, over the rendered file without the kit's `server` section. */
function escrowServeConfig(text: string) {
  const { server: _server, ...keys } = JSON.parse(text) as Record<string, unknown>;
  return defineEscrowService().config.parse(keys);
}

const root = mkdtempSync(join(tmpdir(), "transitions-key-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("the escrow's transition log signer key in every region", () => {
  it("mounts the operator's Secret, and the rendered config's transitionsKeyFile is the key file in that mount", () => {
    expect(spec.regions.length).toBeGreaterThan(1);
    for (const region of spec.regions) {
      const w = escrowOf(region.id);
      const mount = `${CONFIG_DIR}/escrow/transitions`;
      expect(WORKLOAD_OBJECTS.escrowTransitionsSigner).toBe("meridian-escrow-transitions-signer");
      expect(w.secretMounts).toContainEqual({ secret: WORKLOAD_OBJECTS.escrowTransitionsSigner, mountPath: mount });
      const cfg = escrowServeConfig(w.config["escrow.json"]!);
      expect(cfg.transitionsKeyFile).toBe(`${mount}/signer.key`);
      // Kept only with PostgreSQL: the pod's store is it.
      expect(w.args[w.args.indexOf("--postgres") + 1]).toBe("$(MERIDIAN_POSTGRES_URL)");
    }
  });

  it("the service reads the key line `meridian note keygen` prints from where the pod mounts it, and refuses the whole output", () => {
    const w = escrowOf(spec.regions[0]!.id);
    const file = escrowServeConfig(w.config["escrow.json"]!).transitionsKeyFile!.replace(`${CONFIG_DIR}/`, `${root}/`);
    mkdirSync(dirname(file), { recursive: true });
    const key = generateKey("meridian-escrow");
    writeFileSync(file, `${key.signerKey}\n`, { mode: 0o600 });
    expect(readSignerKey(file)).toBe(key.signerKey);
    writeFileSync(file, `${key.signerKey}\n${key.verifierKey}\n`, { mode: 0o600 });
    expect(() => readSignerKey(file)).toThrow(/transitionsKeyFile: the file holds 2 lines/);
  });
});
