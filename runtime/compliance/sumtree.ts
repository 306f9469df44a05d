/**
 * A Merkle-sum tree over escrow regions (Maxwell's proof-of-reserves tree, with the summation fix): every node
 * carries the sums of sold units and allocations below it, and its hash commits to both children's hashes and
 * both children's sums, so a parent cannot claim a total its children do not add up to. Hashes:
 *   leaf = SHA-256("meridian/compliance/sum-leaf/v1" ‖ 0x00 ‖ salt ‖ u64be sold ‖ u64be allocation ‖ u16be len ‖ region)
 *   node = SHA-256("meridian/compliance/sum-node/v1" ‖ 0x00 ‖ L.hash ‖ u64be L.sold ‖ u64be L.allocation ‖ R.hash ‖ u64be R.sold ‖ u64be R.allocation)
 * Each region checks its own leaf (sold ≤ allocation, the numbers it knows) up to the published root, and that the
 * root's totals are the published ones. Every sum a verifier sees must be a non-negative integer: a negative leaf
 * is how an operator would hide an oversell. This is not zero-knowledge: a path shows its siblings' sums.
 */
import { createHash, randomBytes } from "node:crypto";
import { type Hash, hashEquals } from "../prooflog/index.js";
import { ComplianceError } from "./errors.js";

export const SUM_LEAF_DOMAIN = "meridian/compliance/sum-leaf/v1";
export const SUM_NODE_DOMAIN = "meridian/compliance/sum-node/v1";

export interface Sums {
  sold: number;
  allocation: number;
}
export interface SumNode extends Sums {
  hash: Hash;
}
export interface RegionAllocation extends Sums {
  region: string;
  salt: Uint8Array;
}
export interface PathStep extends SumNode {
  /** Which side the sibling is on. */
  side: "left" | "right";
}
export interface SumProof extends RegionAllocation {
  path: PathStep[];
}
export interface SumRoot extends SumNode {
  regions: number;
  /** The inventory the allocations are drawn from, when published. */
  capacity?: number;
}

function u64(n: number, what: string): Buffer {
  if (!Number.isSafeInteger(n) || n < 0) throw new ComplianceError(`${what} is ${n}: expected a non-negative integer below 2^53`);
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(n));
  return b;
}

export function sumLeafHash(a: RegionAllocation): Hash {
  const region = Buffer.from(a.region, "utf8");
  if (region.length === 0 || region.length > 0xffff) throw new ComplianceError(`region name "${a.region}" must be 1..65535 bytes`);
  if (a.salt.length !== 32) throw new ComplianceError(`region ${a.region}: salt is ${a.salt.length} bytes, expected 32`);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(region.length);
  const h = createHash("sha256")
    .update(SUM_LEAF_DOMAIN)
    .update(Buffer.from([0]));
  return h
    .update(a.salt)
    .update(u64(a.sold, `region ${a.region} sold`))
    .update(u64(a.allocation, `region ${a.region} allocation`))
    .update(len)
    .update(region)
    .digest();
}

export function sumNode(l: SumNode, r: SumNode): SumNode {
  const sold = l.sold + r.sold;
  const allocation = l.allocation + r.allocation;
  const h = createHash("sha256")
    .update(SUM_NODE_DOMAIN)
    .update(Buffer.from([0]));
  for (const c of [l, r]) h.update(c.hash).update(u64(c.sold, "a sold sum")).update(u64(c.allocation, "an allocation sum"));
  // Children are checked non-negative above; the parent's sums must stay exact integers too.
  u64(sold, "a sold sum");
  u64(allocation, "an allocation sum");
  return { hash: h.digest(), sold, allocation };
}

function leafNode(a: RegionAllocation): SumNode {
  if (a.sold > a.allocation) throw new ComplianceError(`region ${a.region} sold ${a.sold}, over its allocation ${a.allocation}`);
  return { hash: sumLeafHash(a), sold: a.sold, allocation: a.allocation };
}

/** Build the tree; the root and one proof per region. Refuses an oversold region, a negative value, or totals over capacity. */
export function buildSumTree(regions: readonly Omit<RegionAllocation, "salt">[], capacity?: number, salt: () => Uint8Array = () => randomBytes(32)): { root: SumRoot; proofs: SumProof[] } {
  if (regions.length === 0) throw new ComplianceError("no regions to build a sum tree of");
  const names = new Set<string>();
  const leaves = regions.map((r) => {
    if (names.has(r.region)) throw new ComplianceError(`region ${r.region} appears twice`);
    names.add(r.region);
    return { ...r, salt: salt() };
  });
  let level = leaves.map(leafNode);
  const paths: PathStep[][] = leaves.map(() => []);
  let members = leaves.map((_, i) => [i]); // which leaves sit under each node of the current level
  while (level.length > 1) {
    const next: SumNode[] = [];
    const nextMembers: number[][] = [];
    for (let i = 0; i < level.length; i += 2) {
      const l = level[i]!;
      const r = level[i + 1];
      if (!r) {
        next.push(l); // an odd node moves up unchanged
        nextMembers.push(members[i]!);
        continue;
      }
      for (const m of members[i]!) paths[m]!.push({ side: "right", ...r });
      for (const m of members[i + 1]!) paths[m]!.push({ side: "left", ...l });
      next.push(sumNode(l, r));
      nextMembers.push([...members[i]!, ...members[i + 1]!]);
    }
    level = next;
    members = nextMembers;
  }
  const top = level[0]!;
  if (capacity !== undefined) {
    u64(capacity, "capacity");
    if (top.allocation > capacity) throw new ComplianceError(`allocations total ${top.allocation}, over the capacity ${capacity}`);
  }
  const root: SumRoot = { ...top, regions: leaves.length, ...(capacity === undefined ? {} : { capacity }) };
  return { root, proofs: leaves.map((l, i) => ({ ...l, path: paths[i]! })) };
}

/** A region's check of its proof against the published root; throws ComplianceError naming what does not hold. */
export function verifySumProof(proof: SumProof, root: SumRoot, own?: Partial<Sums>): { region: string; sold: number; allocation: number; totals: Sums } {
  if (own?.sold !== undefined && own.sold !== proof.sold) throw new ComplianceError(`the proof says region ${proof.region} sold ${proof.sold}; its own books say ${own.sold}`);
  if (own?.allocation !== undefined && own.allocation !== proof.allocation)
    throw new ComplianceError(`the proof gives region ${proof.region} allocation ${proof.allocation}; its own books say ${own.allocation}`);
  let node = leafNode(proof);
  proof.path.forEach((s, i) => {
    for (const [what, v] of [
      ["sold", s.sold],
      ["allocation", s.allocation],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 0) throw new ComplianceError(`path step ${i}: sibling ${what} sum ${v} is not a non-negative integer`);
    }
    node = s.side === "left" ? sumNode(s, node) : sumNode(node, s);
  });
  if (!hashEquals(node.hash, root.hash)) throw new ComplianceError(`the path does not lead to the published root (forged sum or path): got ${Buffer.from(node.hash).toString("base64")}`);
  if (node.sold !== root.sold || node.allocation !== root.allocation)
    throw new ComplianceError(`the root commits to totals sold ${node.sold} / allocation ${node.allocation}, but ${root.sold} / ${root.allocation} are published`);
  if (root.sold > root.allocation) throw new ComplianceError(`total sold ${root.sold} exceeds total allocation ${root.allocation}`);
  if (root.capacity !== undefined && root.allocation > root.capacity) throw new ComplianceError(`total allocation ${root.allocation} exceeds the capacity ${root.capacity}`);
  return { region: proof.region, sold: proof.sold, allocation: proof.allocation, totals: { sold: root.sold, allocation: root.allocation } };
}
