/**
 * Start of `mpt serve` on a store: an empty store is started from the seed trie (the FILE's case, or the empty
 * trie); otherwise the trie is rebuilt from the stored snapshot and each journaled change replayed, and every
 * root the store recorded is checked — a store whose contents hash to something else is corrupt and stops the
 * start (serving it would answer with roots no writer was ever given). A store of another kind of trie (secure
 * vs plain) or started from another FILE is refused rather than silently mixed.
 */
import { CorruptStoreError } from "../prooflog/index.js";
import type { MptStore } from "./store/port.js";
import { MptStoreError } from "./store/port.js";
import { MerklePatriciaTrie } from "./trie.js";

const hex = (b: Uint8Array) => `0x${Buffer.from(b).toString("hex")}`;
const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b));

export interface Recovered {
  trie: MerklePatriciaTrie;
  revision: number;
  notice?: string;
}

/** `fromFile`: whether `seed` came from a FILE the operator gave (then it must be the one the store started from). */
export async function recoverTrie(store: MptStore, seed: MerklePatriciaTrie, fromFile: boolean): Promise<Recovered> {
  const stored = await store.load();
  if (stored === null) {
    await store.init({ secure: seed.secure, root: seed.rootHash(), entries: seed.entries() });
    return { trie: seed, revision: 0 };
  }
  const kind = (secure: boolean) => (secure ? "secure" : "plain (non-secure)");
  if (stored.secure !== seed.secure) throw new MptStoreError(`${store.description} holds a ${kind(stored.secure)} trie; ${stored.secure ? "pass" : "drop"} --secure`);
  if (fromFile && !same(stored.seedRoot, seed.rootHash()))
    throw new MptStoreError(`${store.description} was started from a trie with root ${hex(stored.seedRoot)}; FILE's is ${hex(seed.rootHash())}: serve it without FILE, or give a new store`);
  const trie = MerklePatriciaTrie.fromEntries(stored.entries, { secure: stored.secure });
  if (!same(trie.rootHash(), stored.root))
    throw new CorruptStoreError(
      `${store.description}: the stored entries hash to ${hex(trie.rootHash())}, not the root ${hex(stored.root)} recorded for revision ${stored.revision}: the store is corrupt`,
    );
  let revision = stored.revision;
  for (const c of stored.changes) {
    if (c.revision !== revision + 1) throw new CorruptStoreError(`${store.description}: change ${c.revision} follows revision ${revision}`);
    trie.putAtTrieKey(c.trieKey, c.value ?? new Uint8Array(0));
    if (!same(trie.rootHash(), c.root))
      throw new CorruptStoreError(`${store.description}: replaying revision ${c.revision} gives root ${hex(trie.rootHash())}, not the recorded ${hex(c.root)}: the store is corrupt`);
    revision = c.revision;
  }
  return { trie, revision, notice: stored.notice };
}
