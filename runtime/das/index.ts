/** The public API of runtime/das (data availability): other packages import from here only. */
export { DasError, decodeBlob, encodeBlob, type BadShard, type Decoded, type Encoded } from "./core/blob.js";
export { checkShard, type Commitment } from "./core/commitment.js";
export { ReedSolomon } from "./core/rs.js";
export { chooseSamples, samplingBound, type SamplingBound } from "./core/sampling.js";
export { readCommitment, readShard, readShards, writeEncoded } from "./files.js";
export { dasService } from "./service.js";
export { fetchCommitment, sampleRemote, type RemoteSample } from "./client.js";
