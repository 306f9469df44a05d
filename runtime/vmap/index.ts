/** runtime/vmap: a verifiable map (sparse Merkle tree) over HTTP whose roots are recorded in the proof log. */
export {
  decodeMapEntry,
  encodeMapEntry,
  entryBytesOf,
  MapError,
  prefixBounds,
  treeKey,
  VerifiableMap,
  verifyMapBatch,
  verifyMapRange,
  verifyMapRead,
  validateWrites,
  type MapEntry,
  type MapWrite,
} from "./map.js";
export { MapClient, type MapClientOptions } from "./client.js";
export { readLogged, type LoggedRead } from "./logged-read.js";
export { recoverMaps, type HeldMap } from "./recover.js";
export { type MapStore, type StoredMap, type MapHead, type LoggedBatch } from "./store/port.js";
export { fetchWithTimeout, mapKeyOf, MapPublisher, withBearerFile, type MapPublisherOptions } from "./publisher.js";
export { GroupCommitter, Overloaded, TooLargeForBatch, type GroupCommitLimits } from "./group-commit.js";
