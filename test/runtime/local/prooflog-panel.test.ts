// The supervisor reads the proof log's checkpoint every dashboard push (once a second): an unchanged note is not
// verified again (ed25519 for the log's signature and each witness's cosignature), a new one is, and a note that does
// not verify is refused every time.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { ALG_COSIGNATURE_V1, generateKey, newSigner, signCheckpoint } from "../../../runtime/prooflog/index.js";
import { newCosigner } from "../../../runtime/prooflog/witness/cosignature.js";

const calls = vi.hoisted(() => ({ verify: 0 }));
vi.mock("../../../runtime/prooflog/index.js", async (actual) => {
  const m = await actual<typeof import("../../../runtime/prooflog/index.js")>();
  const counted = <F extends (...a: never[]) => unknown>(f: F) => ((...a: Parameters<F>) => (calls.verify++, f(...a))) as F;
  return { ...m, openCheckpoint: counted(m.openCheckpoint), openNote: counted(m.openNote) };
});
const { LocalLog } = await import("../../../runtime/local/prooflog-host.js");

const ORIGIN = "meridian.test/panel";
const log = generateKey(ORIGIN);
const witness = generateKey("w1.test/witness", ALG_COSIGNATURE_V1);
const cosigner = newCosigner(witness.signerKey, new ManualClock(1_700_000_000_000));
const note = (size: number, signers = [newSigner(log.signerKey), cosigner]) => signCheckpoint({ origin: ORIGIN, size, root: Buffer.alloc(32, size), extensions: [] }, signers);

let served = note(1);
let url = "";
const server = createServer((_req, res) => void res.writeHead(200, { "content-type": "text/plain" }).end(served));
beforeAll(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe("LocalLog: the supervisor's reads of the latest checkpoint", () => {
  it("verifies a note once, however often it is read; a new note again; a bad note every time", async () => {
    const client = new LocalLog(url, ORIGIN, log.verifierKey, "/nonexistent-token", [witness.verifierKey]);
    const first = await client.cosigned();
    expect(first).toMatchObject({ checkpoint: { size: 1 }, cosigners: ["w1.test/witness"] });
    expect((await client.checkpoint()).checkpoint.size).toBe(1);
    const once = calls.verify;
    for (let i = 0; i < 5; i++) {
      expect(await client.cosigned()).toEqual(first);
      expect((await client.checkpoint()).note).toBe(served);
    }
    expect(calls.verify).toBe(once);

    served = note(2, [newSigner(log.signerKey)]); // not cosigned (yet)
    expect(await client.cosigned()).toMatchObject({ checkpoint: { size: 2 }, cosigners: [] });
    expect(calls.verify).toBeGreaterThan(once);

    served = note(3, [newSigner(generateKey(ORIGIN).signerKey)]); // another key under the log's name
    await expect(client.checkpoint()).rejects.toThrow();
    await expect(client.checkpoint()).rejects.toThrow();
    await expect(client.cosigned()).rejects.toThrow();
  });
});
