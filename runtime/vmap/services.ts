/**
 * What runs a map: its service and stores (file, PostgreSQL, S3). Kept out of index.ts (the map, its proofs, the
 * client and publisher) so a package that only reads or publishes to a map (the escrow) does not load pg.
 */
export { mapService } from "./service.js";
export { FileMapStore, type FileMapStoreOptions } from "./store/file.js";
export { PostgresMapStore } from "./store/postgres.js";
export { S3MapStore, type S3MapStoreOptions } from "./store/s3.js";
