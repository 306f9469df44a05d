/** runtime/vmap: a verifiable map (sparse Merkle tree) over HTTP whose roots are recorded in the proof log. */
export { decodeMapEntry, encodeMapEntry, encodeResumeEntry, keyOf, MapError, prefixBounds, treeKey, VerifiableMap, verifyMapBatch, verifyMapRange, verifyMapRead, type MapEntry, type MapWrite } from "./map.js";
export { mapConfigSchema, mapService } from "./service.js";
export { MapClient, MapClientError, type MapClientOptions } from "./client.js";
export { recoverMaps, type HeldMap } from "./recover.js";
export { FileMapStore } from "./store/file.js";
export { PostgresMapStore } from "./store/postgres.js";
export { S3MapStore, type S3MapStoreOptions } from "./store/s3.js";
export { MapStoreError, type MapStore, type StoredMap, type MapHead, type LoggedBatch } from "./store/port.js";
