/**
 * `meridian mpt serve` in process: a trie loaded from an ethereum/tests TrieTests case serves its known root, values
 * with inclusion proofs and absent keys with exclusion proofs, and key-range proofs — each checked here against the
 * root with the library's verifiers. PUTs (operators only) change the trie and answer with a proof under the new
 * root, which equals the root of a trie built from scratch with the same contents. Hostile input changes nothing.
 */
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { systemClock } from "../../../runtime/common/clock.js";
import { localOperatorAuth, startService } from "../../../runtime/kit/index.js";
import { checkRangeProof, decodeTestString, MAX_KEY_BYTES, MAX_VALUE_BYTES, MerklePatriciaTrie, mptService, verifyProof } from "../../../runtime/mpt/index.js";
import { hostileHttpSuite } from "../../hostile.js";

const FILE = fileURLToPath(new URL("../../testdata/ethereum-trietests/trieanyorder.json", import.meta.url));
const PUPPY_ROOT = "0x5991bb8c6514148a29db676a14ac506cd2cd5775ace63c30a4fe457715e9ac84";
const b = (s: string) => Buffer.from(s.slice(2), "hex");
const utf8 = (s: string) => `0x${Buffer.from(s).toString("hex")}`;

let auth: Awaited<ReturnType<typeof localOperatorAuth>>;
let token = "";
let svc: Awaited<ReturnType<typeof start>>;
const start = (extra: Record<string, unknown> = {}) =>
  startService(mptService, { file: FILE, case: "puppy", server: { port: 0, auth: auth.auth, timeouts: { headersMs: 500, requestMs: 1000 } }, ...extra }, { processMetrics: false });
const get = async (path: string) => {
  const r = await fetch(`${svc.url}${path}`);
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
const put = async (key: string, value: string | null, bearer: string | null = token) => {
  const r = await fetch(`${svc.url}/v1/mpt/keys/${encodeURIComponent(key)}`, {
    method: "PUT",
    headers: { "content-type": "application/json", ...(bearer ? { authorization: `Bearer ${bearer}` } : {}) },
    body: JSON.stringify({ value }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
};
type Proof = { root: string; key: string; value: string | null; proof: string[]; previousRoot?: string };

beforeAll(async () => {
  auth = await localOperatorAuth(systemClock);
  token = await auth.token();
  svc = await start();
});
afterAll(async () => {
  await svc?.close();
});

describe("meridian mpt serve", () => {
  it("serves the case's known root, inclusion and exclusion proofs that verify against it", async () => {
    expect((await get("/v1/mpt/root")).body).toEqual({ root: PUPPY_ROOT, revision: 0, secure: false });
    const dog = (await get("/v1/mpt/keys/dog")).body as Proof;
    expect(dog).toMatchObject({ root: PUPPY_ROOT, key: utf8("dog"), value: utf8("puppy") });
    expect(Buffer.from(verifyProof(b(PUPPY_ROOT), decodeTestString("dog"), dog.proof.map(b))!).toString()).toBe("puppy");
    const cat = (await get("/v1/mpt/keys/cat")).body as Proof;
    expect(cat.value).toBeNull();
    expect(verifyProof(b(PUPPY_ROOT), decodeTestString("cat"), cat.proof.map(b))).toBeNull();
    // Under another root (the "dogs" case's) the same proof is refused.
    expect(() => verifyProof(b("0x8aad789dff2f538bca5d8ea56e8abe10f4c7ba3a5dea95fea4cd6e7c3a1168d3"), decodeTestString("dog"), dog.proof.map(b))).toThrow();
  });

  it("serves a complete range proof: exactly the keys in [lo, hi]", async () => {
    const r = (await get(`/v1/mpt/range?lo=${utf8("do")}&hi=${utf8("dog")}`)).body as { root: string; lo: string; hi: string; entries: [string, string][]; proof: string[] };
    expect(r.entries).toEqual([
      [utf8("do"), utf8("verb")],
      [utf8("dog"), utf8("puppy")],
    ]);
    const proof = { lo: b(r.lo), hi: b(r.hi), entries: r.entries.map(([k, v]) => ({ key: b(k), value: b(v) })), proof: r.proof.map(b) };
    expect(() => checkRangeProof(b(PUPPY_ROOT), proof)).not.toThrow();
    expect(() => checkRangeProof(b(PUPPY_ROOT), { ...proof, entries: proof.entries.slice(1) })).toThrow(); // an entry withheld
    expect((await get(`/v1/mpt/range?lo=${utf8("z")}&hi=${utf8("a")}`)).status).toBe(400);
    expect((await get(`/v1/mpt/range?lo=0xzz&hi=0x00`)).body).toMatchObject({ error: "bad lo" });
  });

  it("PUTs change the trie and answer with a proof under the new root, the root of the same contents built from scratch", async () => {
    const before = (await get("/v1/mpt/root")).body.root;
    expect((await put("cat", "meow", null)).status).toBe(401);
    expect((await put("cat", "meow", await auth.token({ scope: "someone.else" }))).status).toBe(403);
    expect((await get("/v1/mpt/root")).body.root).toBe(before);

    const w = (await put("cat", "meow")).body as Proof;
    expect(w.previousRoot).toBe(PUPPY_ROOT);
    const scratch = new MerklePatriciaTrie();
    for (const [k, v] of [
      ["do", "verb"],
      ["horse", "stallion"],
      ["doge", "coin"],
      ["dog", "puppy"],
      ["cat", "meow"],
    ] as const)
      scratch.put(Buffer.from(k), Buffer.from(v));
    expect(w.root).toBe(`0x${Buffer.from(scratch.rootHash()).toString("hex")}`);
    expect(Buffer.from(verifyProof(b(w.root), decodeTestString("cat"), w.proof.map(b))!).toString()).toBe("meow");

    // null deletes: back to the case's root, with an exclusion proof for the key.
    const d = (await put("cat", null)).body as Proof;
    expect(d.root).toBe(PUPPY_ROOT);
    expect(verifyProof(b(d.root), decodeTestString("cat"), d.proof.map(b))).toBeNull();
    expect((await put("0x0", "x")).body).toMatchObject({ error: "bad key" });
  });

  it("refuses hostile writes with a 4xx naming the problem, and changes nothing", async () => {
    const before = (await get("/v1/mpt/root")).body;
    const raw = async (key: string, body: string, type = "application/json") => {
      const r = await fetch(`${svc.url}/v1/mpt/keys/${encodeURIComponent(key)}`, { method: "PUT", headers: { "content-type": type, authorization: `Bearer ${token}` }, body });
      return { status: r.status, body: (await r.json()) as { error: string; detail: string } };
    };
    expect(await put("0xabc", "x")).toMatchObject({ status: 400, body: { error: "bad key", detail: expect.stringMatching(/"0xabc" starts with 0x but is not whole bytes of hex/) } });
    expect(await put("cat", "0xzz")).toMatchObject({ status: 400, body: { error: "bad value", detail: expect.stringMatching(/"0xzz" starts with 0x but is not whole bytes of hex/) } });
    expect(await put(`0x${"ab".repeat(MAX_KEY_BYTES + 1)}`, "x")).toMatchObject({
      status: 413,
      body: { error: "key too large", detail: `the key is ${MAX_KEY_BYTES + 1} bytes; at most ${MAX_KEY_BYTES}` },
    });
    expect(await put("x".repeat(300), "x")).toMatchObject({ status: 414, body: { error: "URI too long" } });
    expect(await put("cat", `0x${"00".repeat(MAX_VALUE_BYTES + 1)}`)).toMatchObject({
      status: 413,
      body: { error: "value too large", detail: `the value is ${MAX_VALUE_BYTES + 1} bytes; at most ${MAX_VALUE_BYTES}` },
    });
    expect(await put("cat", "€".repeat(MAX_VALUE_BYTES / 2))).toMatchObject({ status: 413, body: { error: "value too large" } }); // 3 bytes a character in UTF-8
    expect(await raw("cat", "value=meow", "application/x-www-form-urlencoded")).toMatchObject({ status: 415, body: { error: "unsupported media type" } });
    expect(await raw("cat", JSON.stringify({ value: 7 }))).toMatchObject({ status: 400, body: { detail: expect.stringMatching(/value/) } });
    expect(await raw("cat", JSON.stringify({ value: "meow", extra: 1 }))).toMatchObject({ status: 400, body: { detail: expect.stringMatching(/extra/) } });
    expect((await get("/v1/mpt/root")).body).toEqual(before);
  });

  it("starts empty without a file, and a secure trie hashes its keys", async () => {
    const empty = await startService(mptService, { secure: true, server: { port: 0 } }, { processMetrics: false });
    try {
      const root = (await (await fetch(`${empty.url}/v1/mpt/root`)).json()) as { root: string; secure: boolean };
      expect(root).toEqual({ root: "0x56e81f171bcc55a6ff8345e692c0f86e5b48e01b996cadc001622fb5e363b421", revision: 0, secure: true });
    } finally {
      await empty.close();
    }
    await expect(startService(mptService, { file: FILE, server: { port: 0 } }, { processMetrics: false })).rejects.toThrow(/choose one with --case/);
  });
});

hostileHttpSuite("meridian mpt serve", () => ({
  url: svc.url,
  routes: [
    { method: "GET", path: "/v1/mpt/root" },
    { method: "GET", path: "/v1/mpt/keys/dog" },
    { method: "GET", path: `/v1/mpt/range?lo=0x00&hi=0xff` },
  ],
  protectedRoutes: [{ method: "PUT", path: "/v1/mpt/keys/dog", json: true }],
  state: async () => (await fetch(`${svc.url}/v1/mpt/root`)).json(),
  slowlorisWaitMs: 4000,
}));
