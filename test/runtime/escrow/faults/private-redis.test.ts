// The fault tests' private redis-server (private-redis.ts): a port another process takes between asking for it and
// the server's bind costs the first start one more attempt, not the test run; a restart keeps its port (clients
// reconnect to it) and, when that port is taken, says so with redis's own log line.
import { createServer, type Server } from "node:net";
import { Redis } from "ioredis";
import { expect, it } from "vitest";
import { freePort } from "../../../ports.js";
import { PrivateRedis } from "./private-redis.js";

async function hold(port = 0): Promise<{ server: Server; port: number }> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => resolve());
  });
  return { server, port: (server.address() as { port: number }).port };
}

it("a port taken before redis-server binds it: the first start moves to the next one; taken every time, the error names the bind failure", async () => {
  const held = await hold();
  try {
    const asked: number[] = [];
    const redis = await PrivateRedis.start(async () => (asked.push(asked.length === 0 ? held.port : await freePort()), asked.at(-1)!));
    try {
      expect(asked).toHaveLength(2);
      expect(redis.port).toBe(asked[1]);
      const c = new Redis(redis.url);
      try {
        expect(await c.ping()).toBe("PONG");
      } finally {
        c.disconnect();
      }
    } finally {
      await redis.stop();
    }
    // Taken every time: three attempts, then the error carries redis's own reason.
    let attempts = 0;
    await expect(PrivateRedis.start(async () => (attempts++, held.port))).rejects.toThrow(
      new RegExp(`port ${held.port} did not start: the port is taken[\\s\\S]*server log:[\\s\\S]*Address already in use`),
    );
    expect(attempts).toBe(3);
  } finally {
    held.server.close();
  }
}, 60_000);

it("a restart keeps its port; if another process took it meanwhile, the restart fails naming the port and the bind failure", async () => {
  const redis = await PrivateRedis.start();
  try {
    const port = redis.port;
    await redis.restart("empty");
    expect(redis.port).toBe(port);
    await redis.kill9();
    const held = await hold(port);
    try {
      await expect(redis.restart("empty")).rejects.toThrow(new RegExp(`port ${port} did not start: the port is taken[\\s\\S]*server log:[\\s\\S]*Address already in use`));
      expect(redis.port).toBe(port);
    } finally {
      held.server.close();
    }
  } finally {
    await redis.stop();
  }
}, 60_000);
