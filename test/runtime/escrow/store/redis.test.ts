// The store suite against the real Redis (DB 3, keys under mes:test:…), Lua scripts and all.
import { afterAll } from "vitest";
import { RedisEscrowStore } from "../../../../runtime/escrow/store/redis.js";
import { describeEscrowStore } from "./suite.js";
import { REDIS_URL, deleteRedisPrefix, uniqueName } from "../servers.js";

const prefix = `mes:test:${uniqueName("suite")}:`;
afterAll(() => deleteRedisPrefix(prefix));

describeEscrowStore("redis", () => new RedisEscrowStore({ url: REDIS_URL, prefix }), { numRuns: 40 });
