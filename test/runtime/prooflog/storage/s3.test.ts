// The S3 store against s3rver (an S3 REST server run here from npm, on-disk buckets): the bucket becomes a
// static tlog-tiles tree that a tiles-only client verifies straight from the bucket, restart reads one state
// object, and a bucket that lost its state refuses to start. s3rver ignores conditional writes (If-Match) and
// SigV4 signatures, so the single-writer fence is not exercised here; see docs/prooflog.md.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import S3rver from "s3rver";
import { AwsClient } from "aws4fetch";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { S3Store } from "../../../../runtime/prooflog/storage/s3.js";
import { pruneStore } from "../../../../runtime/prooflog/recover.js";
import { runCliInProcess } from "../../../cli-in-process.js";
import { REPO_ROOT } from "../../../cli.js";
import { TransparencyLog } from "../../../../runtime/prooflog/log.js";
import { generateKey, newSigner, newVerifier } from "../../../../runtime/prooflog/note.js";
import { openCheckpoint } from "../../../../runtime/prooflog/checkpoint.js";
import { httpTileFetcher, TileProofs } from "../../../../runtime/prooflog/tileclient.js";
import { verifyConsistency, verifyInclusion } from "../../../../runtime/prooflog/proof/verify.js";
import { leafHash } from "../../../../runtime/prooflog/rfc6962.js";

const ORIGIN = "meridian.test/s3";
/** An s3rver with one bucket, "logs", under the directory given; prints its port. */
const S3RVER_CHILD = `const S3rver = require("s3rver");
new S3rver({ port: 0, address: "127.0.0.1", directory: process.argv[1], silent: true, configureBuckets: [{ name: "logs", configs: [] }] })
  .run().then(({ port }) => console.log(port));`;
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

  it("the partial-bundle listing walks each directory of 1,000 bundles and stops at the first name past the minimum", async () => {
    // A sweep resumed at bundle 999 up to bundle 1,002 (a bucket of synthetic names: the store only lists and deletes).
    const url = bucketUrl.replace(/prod$/, "dirs");
    const s3 = new AwsClient({ ...creds, service: "s3", region: "us-east-1" });
    const names = ["998.p/4", "999", "999.p/3", "x001/000", "x001/000.p/7", "x001/001.p/9", "x001/002", "x001/002.p/1", "x001/x000/000.p/5", "x002/000.p/2"];
    for (const p of [".meridian/pruned", ...names.map((n) => `tile/entries/${n}`)])
      expect((await s3.fetch(`${url}/${p}`, { method: "PUT", body: p === ".meridian/pruned" ? `${1002 * 256} ${999 * 256}\n` : "x" })).ok).toBe(true);
    expect(await new S3Store({ url, ...creds }).prune(1002 * 256)).toBe(3);
    const left = await Promise.all(names.map(async (n) => ((await s3.fetch(`${url}/tile/entries/${n}`)).ok ? n : null)));
    expect(left.filter((n) => n !== null)).toEqual(["998.p/4", "x001/002", "x001/002.p/1", "x001/x000/000.p/5", "x002/000.p/2"]);
  });

  it("log prune lists (ListObjectsV2, two pages) and deletes the partial bundles beside the pruned ones, and only those", async () => {
    // s3rver makes continuation tokens with DES, which Node's OpenSSL 3 has only in its legacy provider: a listing
    // that needs a second page runs against an s3rver of its own, in a child with that provider.
    const child = spawn(process.execPath, ["--openssl-legacy-provider", "-e", S3RVER_CHILD, join(dir, "paged")], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    try {
      const port = await new Promise<string>((resolve, reject) => {
        child.stdout!.once("data", (d: Buffer) => resolve(d.toString().trim()));
        child.once("exit", (code) => reject(new Error(`s3rver exited (${code})`)));
      });
      const url = `http://127.0.0.1:${port}/logs/partials`;
      const store = () => new S3Store({ url, ...creds });
      // No duplicate index (an object per entry) to write: this test is about bundles.
      const opts = { origin: ORIGIN, signer: newSigner(keys.signerKey), verifier: newVerifier(keys.verifierKey), dedupeCapacity: 0 };
      const log = await TransparencyLog.open({ ...opts, store: store(), maxBatch: 100 });
      await Promise.all(Array.from({ length: 100 }, (_, i) => log.add(Buffer.from(`s3 ${i}`))));
      await log.publishCheckpoint(); // leaves tile/entries/000.p/100
      await Promise.all(Array.from({ length: 1200 }, (_, i) => log.add(Buffer.from(`s3 ${100 + i}`))));
      await log.publishCheckpoint(); // leaves tile/entries/005.p/20
      await log.close();
      const s3 = new AwsClient({ ...creds, service: "s3", region: "us-east-1" });
      // A log that published at every width of bundles 000–003 (1,020 partial names: two listing pages), and one
      // partial bundle beside 004, which ends above the minimum.
      const leftovers = [...Array.from({ length: 4 * 255 }, (_, i) => `tile/entries/00${Math.floor(i / 255)}.p/${(i % 255) + 1}`), "tile/entries/004.p/76"];
      for (let i = 0; i < leftovers.length; i += 64) await Promise.all(leftovers.slice(i, i + 64).map((p) => s3.fetch(`${url}/${p}`, { method: "PUT", body: "x" })));

      expect(await pruneStore(store(), 1200)).toEqual({ size: 1300, removed: 4 });
      const listing = await (await s3.fetch(`http://127.0.0.1:${port}/logs?list-type=2&prefix=partials/tile/entries/`)).text();
      expect([...listing.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1])).toEqual(["partials/tile/entries/004", "partials/tile/entries/004.p/76", "partials/tile/entries/005.p/20"]);
      expect((await s3.fetch(`${url}/tile/0/000.p/100`)).status).toBe(200); // partial hash tiles stay
      const again = await TransparencyLog.open({ ...opts, store: store() });
      expect([again.size, again.prunedTo]).toEqual([1300, 1200]);
      expect((await again.readEntries(1280, 1283)).map((e) => Buffer.from(e).toString())).toEqual(["s3 1280", "s3 1281", "s3 1282"]);
      await again.close();
    } finally {
      child.kill("SIGKILL");
    }
  });
});
