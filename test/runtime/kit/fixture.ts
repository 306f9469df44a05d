/**
 * A small service defined with the kit for its own tests: an in-memory item list (public writes), an
 * operator-only reset, an mTLS-only route and a request that waits until the test releases it (drain).
 */
import { z } from "zod";
import { defineService, HttpError, parseInput, type StoreSpec } from "../../../runtime/kit/index.js";

export const itemsConfig = z
  .object({
    greeting: z.string().default("hello"),
    redis: z.string().optional(),
    /** A custom store whose reachability the test toggles. */
    flakyStore: z.boolean().default(false),
    peers: z.array(z.string()).default([]),
  })
  .strict();

export const itemsService = defineService({
  name: "items",
  config: itemsConfig,
  stores(config) {
    const stores: Record<string, StoreSpec | undefined> = { redis: config.redis ? { kind: "redis", url: config.redis } : undefined };
    if (config.flakyStore)
      stores["flaky"] = {
        kind: "custom",
        target: "test://flaky",
        check: async () => {
          if (flaky.down) throw new Error("flaky store is down");
        },
      };
    return stores;
  },
  start({ config }) {
    const items: string[] = [];
    let release: () => void = () => undefined;
    const held = { started: false, released: new Promise<void>((r) => (release = r)) };
    return {
      items,
      held,
      release: () => release(),
      routes(app) {
        const pub = { config: { auth: "public" as const } };
        app.get("/v1/hello", pub, async () => ({ greeting: config.greeting }));
        app.get("/v1/items/:id", pub, async (req) => {
          const { id } = parseInput(z.object({ id: z.coerce.number().int().min(0) }), req.params, "path");
          if (id >= items.length) throw new HttpError(404, "no such item", `item ${id}; there are ${items.length}`);
          return { item: items[id] };
        });
        app.post("/v1/items", { ...pub, bodyLimit: 1024 }, async (req, reply) => {
          const { name } = parseInput(z.object({ name: z.string().min(1).max(64) }).strict(), req.body, "body");
          items.push(name);
          return reply.status(201).send({ index: items.length - 1 });
        });
        app.post("/admin/reset", { config: { auth: "operator" } }, async () => {
          items.length = 0;
          return { reset: true };
        });
        app.get("/peer", { config: { auth: { spiffe: config.peers } } }, async (req) => ({ peer: req.identity?.kind === "spiffe" ? req.identity.id.uri : null }));
        app.get("/whoami", { config: { auth: "authenticated" } }, async (req) => ({ who: req.identity?.kind === "spiffe" ? req.identity.id.uri : `jwt:${req.identity?.subject ?? ""}` }));
        app.get("/v1/slow", pub, async () => {
          held.started = true;
          await held.released;
          return { slow: "done" };
        });
        app.get("/v1/boom", pub, async () => {
          throw new Error("secret internal detail");
        });
      },
    };
  },
});

export const flaky = { down: false };

/** A definition with a route that declares no auth: the kit must refuse to start it. */
export const openService = defineService({
  name: "open",
  config: z.object({}).strict(),
  start: () => ({ routes: (app) => void app.get("/oops", async () => "open to all") }),
});
