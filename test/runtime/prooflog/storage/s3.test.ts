// The S3 store against s3rver (an S3 REST server run here from npm, on-disk buckets): the bucket becomes a
// static tlog-tiles tree that a tiles-only client verifies straight from the bucket, restart reads one state
// object, and a bucket that lost its state refuses to start. s3rver ignores conditional writes (If-Match) and
// SigV4 signatures, so the single-writer fence is not exercised here; see docs/prooflog.md.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import S3rver from "s3rver";
import { AwsClient } from "aws4fetch";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Store } from "../../../../runtime/prooflog/storage/s3.js";
import { pruneStore } from "../../../../runtime/prooflog/recover.js";
import { runCliInProcess } from "../../../cli-in-process.js";
import { TransparencyLog } from "../../../../runtime/prooflog/log.js";
import { generateKey, newSigner, newVerifier } from "../../../../runtime/prooflog/note.js";
import { openCheckpoint } from "../../../../runtime/prooflog/checkpoint.js";
import { httpTileFetcher, TileProofs } from "../../../../runtime/prooflog/tileclient.js";
import { verifyConsistency, verifyInclusion } from "../../../../runtime/prooflog/proof/verify.js";
import { leafHash } from "../../../../runtime/prooflog/rfc6962.js";

const ORIGIN = "meridian.test/s3";
const keys = generateKey(ORIGIN);
const dir = mkdtempSync(join(tmpdir(), "s3rver-"));
const creds = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
let server: S3rver;
let bucketUrl = "";

beforeAll(async () => {
  server = new S3rver({ port: 0, address: "127.0.0.1", directory: dir, silent: true, configureBuckets: [{ name: "logs", configs: [] }] });
  const { port } = await server.run();
  bucketUrl = `http://127.0.0.1:${port}/logs/prod`;
});
afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const open = () =>
  TransparencyLog.open({ origin: ORIGIN, signer: newSigner(keys.signerKey), verifier: newVerifier(keys.verifierKey), store: new S3Store({ url: bucketUrl, ...creds }), maxBatch: 200 });

describe("S3 store", () => {
  it("publishes a static tlog-tiles tree that verifies from the bucket alone, and restarts from one state object", async () => {
    const log = await open();
    await Promise.all(Array.from({ length: 700 }, (_, i) => log.add(Buffer.from(`s3 ${i}`))));
    await log.publishCheckpoint();
    const root600 = await log.rootAt(600);
    await log.close();

    // Anyone can audit the bucket over plain HTTP: checkpoint, tiles, gzip bundles.
    const s3 = new AwsClient({ ...creds, service: "s3", region: "us-east-1" });
    const get = async (p: string) => new Uint8Array(await (await s3.fetch(`${bucketUrl}/${p}`)).arrayBuffer());
    const cp = openCheckpoint(Buffer.from(await get("checkpoint")).toString(), [newVerifier(keys.verifierKey)], ORIGIN).checkpoint;
    expect(cp.size).toBe(700);
    const bundle = await s3.fetch(`${bucketUrl}/tile/entries/000`);
    expect(bundle.headers.get("content-encoding")).toBe("gzip");
    const tiles = new TileProofs(
      httpTileFetcher(bucketUrl, (url) => s3.fetch(url)),
      700,
    );
    verifyInclusion(650, 700, leafHash(Buffer.from("s3 650")), await tiles.inclusionProof(650), cp.root);
    verifyConsistency(600, 700, await tiles.consistencyProof(600), root600, cp.root);

    const again = await open();
    expect(again.size).toBe(700);
    expect(Buffer.from(await again.rootAt(700))).toEqual(Buffer.from(cp.root));
    expect((await again.readEntries(255, 257)).map((e) => Buffer.from(e).toString())).toEqual(["s3 255", "s3 256"]);
    expect((await again.add(Buffer.from("s3 700"))).index).toBe(700);
    expect(await again.add(Buffer.from("s3 5"))).toEqual({ index: 5, duplicate: true }); // from the bucket's duplicate index: the window restarted empty
    await again.publishCheckpoint();
    await again.close();

    // The state object lost (a bucket restored from an old copy): the published checkpoint says 701 was signed.
    expect((await s3.fetch(`${bucketUrl}/.meridian/state`, { method: "DELETE" })).ok).toBe(true);
    await expect(open()).rejects.toThrow(/shows this log signed size 701, but S3 store .* holds only 0 entries/);
  });

  it("log prune deletes the bundles at or below the minimum from the bucket; the log restarts, appends and proves", async () => {
    const url = bucketUrl.replace(/prod$/, "prune");
    const store = () => new S3Store({ url, ...creds });
    const openAt = () => TransparencyLog.open({ origin: ORIGIN, signer: newSigner(keys.signerKey), verifier: newVerifier(keys.verifierKey), store: store(), maxBatch: 200 });
    const log = await openAt();
    await Promise.all(Array.from({ length: 700 }, (_, i) => log.add(Buffer.from(`s3 ${i}`))));
    await log.publishCheckpoint();
    await log.close();
    await expect(pruneStore(store(), 701)).rejects.toThrow(/minimum index 701 is beyond the 700 entries integrated/);
    const cli = await runCliInProcess(["log", "prune", "--s3", url, "--min-index", "600"], { env: { AWS_ACCESS_KEY_ID: creds.accessKeyId, AWS_SECRET_ACCESS_KEY: creds.secretAccessKey } });
    expect([cli.status, cli.stderr, cli.stdout]).toEqual([0, "", expect.stringMatching(/2 entry bundles deleted; the log holds 700 entries/)]);
    const s3 = new AwsClient({ ...creds, service: "s3", region: "us-east-1" });
    const status = async (p: string) => (await s3.fetch(`${url}/${p}`)).status;
    expect([await status("tile/entries/000"), await status("tile/entries/001"), await status("tile/entries/002.p/188"), await status("tile/0/001")]).toEqual([404, 404, 200, 200]);
    const again = await openAt();
    expect([again.size, again.prunedTo]).toEqual([700, 600]);
    await Promise.all(Array.from({ length: 200 }, (_, i) => again.add(Buffer.from(`s3 ${700 + i}`))));
    await again.publishCheckpoint();
    verifyInclusion(600, 900, leafHash(Buffer.from("s3 600")), await again.inclusionProof(600, 900), await again.rootAt(900));
    await again.close();
  });
});
