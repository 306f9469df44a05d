/** The public API of runtime/mpt, Ethereum's Merkle Patricia trie: other packages import from here only. */
export { MptError, MptProofError } from "./errors.js";
export { EMPTY_ROOT } from "./node.js";
export { MerklePatriciaTrie, type TrieEntry, type TrieOptions } from "./trie.js";
export { verifyProof, type VerifyOptions } from "./proof.js";
export { checkRangeProof, proveRange, verifyRangeProof, type RangeProof } from "./range.js";
export { decodeTestString, selectCase, trieOfCase, type TrieTestCase } from "./input.js";
export { loadTrie, MAX_KEY_BYTES, MAX_VALUE_BYTES, mptService } from "./service.js";
export { recoverTrie } from "./recover.js";
export { FileMptStore } from "./store/file.js";
export { type MptChange, type MptStore, type StoredTrie } from "./store/port.js";
