/**
 * Builds the policy pack as the Pulumi engine loads it: `pulumi-analyzer-policy` runs
 * `@pulumi/pulumi/cmd/run-policy-pack`, which `require`s the pack directory (package.json `main`) with
 * plain Node — no `nodeargs`, no tsx, ts-node only for `.ts` files. So the pack ships as one CommonJS
 * file, `policies/dist/index.cjs`, with the model, the stack schema and zod bundled in; only
 * `@pulumi/policy` and `@pulumi/pulumi` stay external (the SDK and the launcher must share one
 * `@pulumi/pulumi`), and they are the pack's package.json dependencies, as `pulumi policy publish` needs.
 *
 * The file is written to a temporary name and renamed, so a pack started while another build runs
 * never reads half a file. Run with `npm run build:policies` (tests that start the pack build first).
 */
import { build } from "esbuild";
import { renameSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const POLICIES_DIR = fileURLToPath(new URL(".", import.meta.url));
export const PACK_ENTRY = fileURLToPath(new URL("./dist/index.cjs", import.meta.url));

export async function buildPolicyPack(): Promise<string> {
  const tmp = `${PACK_ENTRY}.${process.pid}.tmp`;
  await build({
    entryPoints: [fileURLToPath(new URL("./index.ts", import.meta.url))],
    outfile: tmp,
    bundle: true,
    platform: "node",
    format: "cjs",
    target: "node20",
    external: ["@pulumi/policy", "@pulumi/pulumi", "@pulumi/pulumi/*"],
    sourcemap: "inline",
    legalComments: "none",
    logLevel: "warning",
  });
  renameSync(tmp, PACK_ENTRY);
  return PACK_ENTRY;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  buildPolicyPack().then((file) => console.log(`built ${file}`));
}
