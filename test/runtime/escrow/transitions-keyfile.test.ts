/**
 * The transition log's signer key file (`transitionsKeyFile`): one note signer key line, as `meridian note keygen`
 * writes it. Line endings and blank lines around it are fine (CRLF included); anything else — junk after the key,
 * a second line, a verifier key, a witness cosignature key — is a config error naming the setting and the file, at
 * start, not a log signed by some other key or a crash with a bare note error.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { defineEscrowService } from "../../../runtime/escrow/serve.js";
import { startService } from "../../../runtime/kit/index.js";
import { ALG_COSIGNATURE_V1, generateKey } from "../../../runtime/prooflog/index.js";
import { testConfig } from "./fixture.js";

const dir = mkdtempSync(join(tmpdir(), "escrow-keyfile-"));
const key = generateKey("operator.example/escrow");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function start(content: string) {
  const file = join(dir, `k${Math.random().toString(36).slice(2)}`);
  writeFileSync(file, content);
  const config = await testConfig(["eu"]);
  const raw = JSON.parse(JSON.stringify({ ...config, transitionsKeyFile: file, server: { port: 0 } })) as Record<string, unknown>;
  return { file, started: startService(defineEscrowService(), raw, { clock: systemClock, processMetrics: false }) };
}

const pub = (vkey: string) => vkey.split("+").slice(2).join("+");

describe("transitionsKeyFile", () => {
  it("accepts the key line with CRLF and blank lines around it", async () => {
    const { started } = await start(`\r\n${key.signerKey}\r\n\r\n`);
    const svc = await started;
    try {
      const cp = (await (await fetch(`${svc.url}/v1/transitions/checkpoint`)).json()) as { vkey: string };
      expect(pub(cp.vkey)).toBe(pub(key.verifierKey));
    } finally {
      await svc.close();
    }
  });

  for (const [what, content] of [
    ["junk after the key on its line", `${key.signerKey} junk\n`],
    ["a second line", `${key.signerKey}\n${generateKey("other.example/escrow").signerKey}\n`],
    ["a verifier key", `${key.verifierKey}\n`],
    ["a witness cosignature key", `${generateKey("witness.example", ALG_COSIGNATURE_V1).signerKey}\n`],
  ] as const)
    it(`refuses ${what}, naming the setting and the file`, async () => {
      const { file, started } = await start(content);
      const err = await started.then(
        async (svc) => (await svc.close(), undefined),
        (e: Error) => e,
      );
      expect(err?.message).toContain(file);
      expect(err?.message).toMatch(/transitionsKeyFile: /);
    });
});
