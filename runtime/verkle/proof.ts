/**
 * Proofs for sets of keys. A proof says, per key, how deep its stem's path goes and what is found there — its
 * own stem's leaf (present), nothing (absent), or another stem's leaf (other, whose stem the proof carries) — in
 * EIP-6800's encoding, one byte (depth << 3 | status) per key; then the commitments of every node on those paths
 * below the root, each once; then one 96-byte multiproof for all the openings the paths imply. The verifier
 * derives every opened value itself — a child's commitment hashed, 0 for an empty slot, the claimed value hashed —
 * so the multiproof checking against the trusted root binds values, absences and commitments alike.
 * Size: keys + 31·(other stems) + 48·(distinct path commitments) + 96 bytes.
 */
import { VerkleError, VerkleProofError } from "./errors.js";
import { Fr } from "./field.js";
import { g1FromBytes } from "./kzg.js";
import { proveMulti, verifyMulti, type Query } from "./multiproof.js";
import { evalsOf, innerField, KEY_BYTES, leafField, STEM_BYTES, valueField, type Inner, type TreeNode } from "./node.js";
import { verkleDomain, type G1Point } from "./setup.js";

export interface VerkleProof {
  /** Per key, in the order the keys were given: depth << 3 | status (0 absent, 1 other, 2 present). */
  depthStatus: Uint8Array;
  otherStems: Uint8Array[];
  commitments: Uint8Array[];
  d: Uint8Array;
  pi: Uint8Array;
}

export interface ProvenEntry {
  key: Uint8Array;
  /** null: the key is absent. */
  value: Uint8Array | null;
}

const ABSENT = 0;
const OTHER = 1;
const PRESENT = 2;
const ROOT = "root";
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const innerId = (prefix: Uint8Array) => `i:${hex(prefix)}`;
const leafId = (stem: Uint8Array) => `l:${hex(stem)}`;

export function proofSize(p: VerkleProof): number {
  return p.depthStatus.length + 31 * p.otherStems.length + 48 * p.commitments.length + p.d.length + p.pi.length;
}

type Opened = { node: string; index: number } & ({ child: string; stem?: Uint8Array } | { zero: true } | { value: Uint8Array });

/** The commitments (by id, in first-use order, root excluded) and openings that the keys' paths imply. */
function layout(entries: readonly ProvenEntry[], depthStatus: Uint8Array, otherStems: readonly Uint8Array[]) {
  const keys = new Set<string>();
  for (const { key } of entries) {
    if (keys.has(hex(key))) throw new VerkleError(`key 0x${hex(key)} is listed twice`);
    keys.add(hex(key));
  }
  if (depthStatus.length !== entries.length) throw new VerkleProofError(`proof describes ${depthStatus.length} key path(s); ${entries.length} key(s) given`);
  const ids: string[] = [];
  const seen = new Set<string>();
  const need = (id: string) => {
    if (seen.has(id)) return;
    ids.push(id);
    seen.add(id);
  };
  const openings: Opened[] = [];
  const otherAt = new Map<string, Uint8Array>();
  let nextOther = 0;
  entries.forEach(({ key, value }, k) => {
    const what = `key 0x${hex(key)}`;
    const stem = key.subarray(0, STEM_BYTES);
    const depth = depthStatus[k]! >> 3;
    const status = depthStatus[k]! & 7;
    if (depth < 1 || depth > STEM_BYTES || status > PRESENT) throw new VerkleProofError(`${what}: path byte 0x${depthStatus[k]!.toString(16)} is not a depth 1…31 and status 0…2`);
    for (let d = 0; d < depth - 1; d++) {
      const child = innerId(stem.subarray(0, d + 1));
      need(child);
      openings.push({ node: d === 0 ? ROOT : innerId(stem.subarray(0, d)), index: stem[d]!, child });
    }
    const parent = depth === 1 ? ROOT : innerId(stem.subarray(0, depth - 1));
    const at = { node: parent, index: stem[depth - 1]! };
    if (status !== PRESENT && value !== null) throw new VerkleProofError(`${what}: the proof shows the key absent, but a value is claimed`);
    if (status === ABSENT) openings.push({ ...at, zero: true });
    else if (status === OTHER) {
      const prefix = hex(stem.subarray(0, depth));
      let other = otherAt.get(prefix);
      if (!other) {
        other = otherStems[nextOther++];
        if (!other) throw new VerkleProofError(`${what}: the proof lacks the other stem found on its path`);
        if (other.length !== STEM_BYTES) throw new VerkleProofError(`other stem 0x${hex(other)} is ${other.length} bytes; expected ${STEM_BYTES}`);
        if (hex(other.subarray(0, depth)) !== prefix || hex(other) === hex(stem)) throw new VerkleProofError(`${what}: other stem 0x${hex(other)} does not sit on the key's path at depth ${depth}`);
        otherAt.set(prefix, other);
      }
      need(leafId(other));
      openings.push({ ...at, child: leafId(other), stem: other });
    } else {
      need(leafId(stem));
      openings.push({ ...at, child: leafId(stem), stem: Uint8Array.from(stem) });
      openings.push({ node: leafId(stem), index: key[STEM_BYTES]!, ...(value === null ? { zero: true as const } : { value }) });
    }
  });
  if (nextOther !== otherStems.length) throw new VerkleProofError(`proof carries ${otherStems.length - nextOther} other stem(s) no key's path uses`);
  return { ids, openings };
}

/** The multiproof's queries: each (node, index) once, its value derived; two different values for one slot refuse. */
function queriesOf(openings: readonly Opened[], bytesOf: (id: string) => Uint8Array): { queries: Query[]; nodes: string[] } {
  const bySlot = new Map<string, bigint>();
  const queries: Query[] = [];
  const nodes: string[] = [];
  for (const o of openings) {
    const value = "zero" in o ? Fr.ZERO : "value" in o ? valueField(o.value) : o.stem ? leafField(o.stem, bytesOf(o.child)) : innerField(bytesOf(o.child));
    const slot = `${o.node}/${o.index}`;
    const prior = bySlot.get(slot);
    if (prior !== undefined) {
      if (prior !== value) throw new VerkleProofError(`the keys' paths disagree about child ${o.index} of node ${o.node}`);
      continue;
    }
    bySlot.set(slot, value);
    queries.push({ commitment: bytesOf(o.node), index: o.index, value });
    nodes.push(o.node);
  }
  return { queries, nodes };
}

/** Build the proof for `keys` over a committed tree. */
export function proveKeys(root: Inner, keys: readonly Uint8Array[]): VerkleProof {
  const depthStatus = new Uint8Array(keys.length);
  const otherStems: Uint8Array[] = [];
  const otherSeen = new Set<string>();
  const byId = new Map<string, TreeNode>([[ROOT, root]]);
  const entries: ProvenEntry[] = keys.map((key, k) => {
    const stem = key.subarray(0, STEM_BYTES);
    let node: Inner = root;
    for (let d = 0; ; d++) {
      const child = node.children[stem[d]!];
      if (child === undefined) {
        depthStatus[k] = ((d + 1) << 3) | ABSENT;
        return { key, value: null };
      }
      if (child.kind === "inner") {
        byId.set(innerId(stem.subarray(0, d + 1)), child);
        node = child;
        continue;
      }
      byId.set(leafId(child.stem), child);
      if (hex(child.stem) === hex(stem)) {
        depthStatus[k] = ((d + 1) << 3) | PRESENT;
        return { key, value: child.values.get(key[STEM_BYTES]!) ?? null };
      }
      depthStatus[k] = ((d + 1) << 3) | OTHER;
      const prefix = hex(stem.subarray(0, d + 1));
      if (!otherSeen.has(prefix)) {
        otherStems.push(child.stem);
        otherSeen.add(prefix);
      }
      return { key, value: null };
    }
  });
  const bytesOf = (id: string) => byId.get(id)!.c!.bytes;
  const { ids, openings } = layout(entries, depthStatus, otherStems);
  const { queries, nodes } = queriesOf(openings, bytesOf);
  const evals = new Map<string, bigint[]>();
  const vectors = nodes.map((id) => evals.get(id) ?? evals.set(id, evalsOf(byId.get(id)!)).get(id)!);
  const { d, pi } = proveMulti(verkleDomain(), queries, vectors);
  return { depthStatus, otherStems, commitments: ids.map(bytesOf), d: d.toBytes(), pi: pi.toBytes() };
}

function point(b: Uint8Array, what: string): G1Point {
  try {
    return g1FromBytes(b, what);
  } catch (e) {
    if (e instanceof VerkleError) throw new VerkleProofError(e.message);
    throw e;
  }
}

/**
 * Check that under `root` each entry's key holds its value (or is absent when value is null). Returns nothing;
 * throws VerkleProofError naming the problem when the proof does not show exactly that.
 */
export function verifyProof(root: Uint8Array, entries: readonly ProvenEntry[], proof: VerkleProof): void {
  if (root.length !== 48) throw new VerkleError(`root is ${root.length} bytes; expected a 48-byte commitment`);
  const rootPoint = g1FromBytes(root, "root");
  for (const { key } of entries) if (key.length !== KEY_BYTES) throw new VerkleError(`key 0x${hex(key)} is ${key.length} bytes; expected ${KEY_BYTES}`);
  if (entries.length === 0) throw new VerkleError("no keys to verify");
  const { ids, openings } = layout(entries, proof.depthStatus, proof.otherStems);
  if (proof.commitments.length !== ids.length) throw new VerkleProofError(`proof carries ${proof.commitments.length} commitment(s); the keys' paths need ${ids.length}`);
  const bytes = new Map<string, Uint8Array>([[ROOT, root]]);
  const points = new Map<string, G1Point>([[ROOT, rootPoint]]);
  ids.forEach((id, i) => {
    bytes.set(id, proof.commitments[i]!);
    points.set(id, point(proof.commitments[i]!, `commitment ${i}`));
  });
  const { queries, nodes } = queriesOf(openings, (id) => bytes.get(id)!);
  const multi = { d: point(proof.d, "multiproof D"), pi: point(proof.pi, "multiproof π") };
  if (
    !verifyMulti(
      verkleDomain(),
      queries,
      nodes.map((id) => points.get(id)!),
      multi,
    )
  )
    throw new VerkleProofError("the openings do not verify against the root: a value, commitment or proof was altered");
}
