/** runtime/vmap: a verifiable map (sparse Merkle tree) over HTTP whose roots are recorded in the proof log. */
export { decodeMapEntry, encodeMapEntry, keyOf, MapError, prefixBounds, treeKey, VerifiableMap, verifyMapBatch, verifyMapRange, verifyMapRead, type MapEntry, type MapWrite } from "./map.js";
export { mapConfigSchema, mapService } from "./service.js";
export { MapClient, MapClientError, type MapClientOptions } from "./client.js";
