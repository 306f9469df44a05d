/**
 * The clock's PostgreSQL side: follower reads and closed timestamps. Kept out of index.ts so a package that only
 * keeps time (a region's escrow and rate limit on the memory store) does not load the pg driver.
 */
export { PostgresFollowerReads, closedTimestampStatements, closeTimestamp, readClosedTimestamp, type FollowerRead } from "./staleness/postgres.js";
