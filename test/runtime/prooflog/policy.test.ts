// C2SP tlog-policy: parsing (every rule of the spec's syntax section) and quorum evaluation over real
// cosignatures, including nested groups; a checkpoint signed only by a witness key is no log's checkpoint.
import { describe, expect, it } from "vitest";
import { ManualClock } from "../../../runtime/common/clock.js";
import { signCheckpoint } from "../../../runtime/prooflog/checkpoint.js";
import { ALG_COSIGNATURE_V1, ALG_MLDSA44, generateKey, newSigner, signNote } from "../../../runtime/prooflog/note.js";
import { newCosigner } from "../../../runtime/prooflog/witness/cosignature.js";
import { parsePolicy, verifyWithPolicy } from "../../../runtime/prooflog/policy.js";
import { leafHash } from "../../../runtime/prooflog/rfc6962.js";

const ORIGIN = "example.com/log";
const log = generateKey(ORIGIN);
const clock = new ManualClock(1_700_000_000_000);
const w = ["X1", "X2", "X3", "Y1"].map((n, i) => ({ n, k: generateKey(`${n.toLowerCase()}.example/w`, i === 3 ? ALG_MLDSA44 : ALG_COSIGNATURE_V1) }));
const vk = (n: string) => w.find((x) => x.n === n)!.k.verifierKey;
const POLICY = `# two organisations
log ${log.verifierKey} https://example.com/log
witness X1 ${vk("X1")}
witness X2 ${vk("X2")}
  witness X3 ${vk("X3")}   https://x3.example
group X-witnesses 2 X1 X2 X3
witness Y1 ${vk("Y1")}
group Y-witnesses any Y1
group X-and-Y all X-witnesses Y-witnesses
quorum X-and-Y
`;
const note = signCheckpoint({ origin: ORIGIN, size: 5, root: leafHash(Buffer.from("r")), extensions: [] }, [newSigner(log.signerKey)]);
const cosign = (names: string[]) => {
  const text = note.slice(0, note.indexOf("\n\n") + 1);
  return signNote(
    text,
    names.map((n) => newCosigner(w.find((x) => x.n === n)!.k.signerKey, clock)),
    [{ name: ORIGIN, keyId: Number.parseInt(log.verifierKey.split("+")[1]!, 16), base64: note.trim().split(" ").pop()! }],
  );
};

describe("tlog-policy", () => {
  it("evaluates nested thresholds: 2 of the X witnesses and any Y witness", () => {
    const p = parsePolicy(POLICY);
    expect(verifyWithPolicy(cosign(["X1", "X3", "Y1"]), p, ORIGIN).witnesses.sort()).toEqual(["X1", "X3", "Y1"]);
    expect(() => verifyWithPolicy(cosign(["X1", "X2", "X3"]), p)).toThrow(/does not meet the policy's quorum "X-and-Y" \(valid cosignatures from: X1, X2, X3\)/);
    expect(() => verifyWithPolicy(cosign(["X1", "Y1"]), p)).toThrow(/quorum/);
    expect(verifyWithPolicy(note, parsePolicy(`log ${log.verifierKey}\nquorum none\n`)).checkpoint.size).toBe(5);
  });

  it("refuses a checkpoint signed only by a witness key, and one from a log not in the policy", () => {
    const p = parsePolicy(POLICY);
    const text = note.slice(0, note.indexOf("\n\n") + 1);
    const witnessOnly = signNote(
      text,
      ["X1", "X2", "Y1"].map((n) => newCosigner(w.find((x) => x.n === n)!.k.signerKey, clock)),
    );
    expect(() => verifyWithPolicy(witnessOnly, p)).toThrow(/no signature from a known key/);
    const stranger = signCheckpoint({ origin: ORIGIN, size: 5, root: leafHash(Buffer.from("r")), extensions: [] }, [newSigner(generateKey(ORIGIN).signerKey)]);
    expect(() => verifyWithPolicy(stranger, p)).toThrow(/no signature from a known key/);
  });

  it("rejects malformed policies, naming the line", () => {
    const bad: [string, RegExp][] = [
      [`log ${log.verifierKey}\n`, /no quorum line/],
      [`quorum none\nquorum none\n`, /line 2: a policy has exactly one quorum line/],
      [`quorum X1\n`, /line 1: quorum "X1" is not a witness or group defined above/],
      [`group G any X1\nwitness X1 ${vk("X1")}\nquorum G\n`, /line 1: group member "X1"/],
      [`witness X1 ${vk("X1")}\ngroup G 3 X1\nquorum G\n`, /line 2: threshold "3" must be all, any or 1..1/],
      [`witness X1 ${vk("X1")}\nwitness X2 ${vk("X1")}\nquorum X1\n`, /line 2: duplicate key/],
      [`witness X1 ${vk("X1")}\nwitness X1 ${vk("X2")}\nquorum X1\n`, /line 2: name "X1" is already defined/],
      [`witness none ${vk("X1")}\nquorum none\n`, /name "none"/],
      [`log ${vk("X1")}\nquorum none\n`, /log key x1.example\/w has algorithm 4/],
      [`witness L ${log.verifierKey}\nquorum L\n`, /Ed25519 note key; witnesses cosign with type 4/],
      [`logs ${log.verifierKey}\nquorum none\n`, /unknown line type "logs"/],
    ];
    for (const [text, why] of bad) expect(() => parsePolicy(text), text).toThrow(why);
  });
});
