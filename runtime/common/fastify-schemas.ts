/**
 * Fastify's JSON-schema compilers, loaded by the first route that declares a schema. Fastify loads its defaults (Ajv
 * and fast-json-stringify with their formats and resolvers: ~100 modules, ~30 ms of CPU) with a process's first
 * instance whatever its routes, and ours declare none: their inputs are checked with zod (parseInput), their answers
 * serialized as JSON.stringify does. A route that declares one gets the very compilers Fastify would have built,
 * resolved from Fastify's own location.
 */
import type { FastifyServerOptions } from "fastify";
import { createRequire } from "node:module";

type Build = (...args: unknown[]) => unknown;

/** The compiler factory `name` (Fastify's own dependency) builds, made on first use. */
function lazy(name: string): Build {
  let build: Build | undefined;
  return (...args) => (build ??= (createRequire(createRequire(import.meta.url).resolve("fastify"))(name) as () => Build)())(...args);
}

/** Every Fastify instance's `schemaController` option. */
export const lazySchemaCompilers = {
  compilersFactory: { buildValidator: lazy("@fastify/ajv-compiler"), buildSerializer: lazy("@fastify/fast-json-stringify-compiler") },
} as unknown as NonNullable<FastifyServerOptions["schemaController"]>;
