/**
 * The docs runner's `meridian` in its own process: a Unix socket that test/docs/meridian-client.mjs (what a block's
 * `npx meridian …` runs when the runner sets MERIDIAN_DOCS_SOCKET) sends a command to; the command runs through
 * test/cli-in-process.ts with the client's arguments, working directory, environment and stdin, and its output and
 * exit status go back as they are written. A command costs a plain Node start instead of Node, tsx and the
 * command's imports (over a second of CPU) each time.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { runCliInProcess } from "../cli-in-process.js";

export const CLIENT = fileURLToPath(new URL("./meridian-client.mjs", import.meta.url));

export interface InProcessServer {
  socket: string;
  close(): Promise<void>;
}

function frame(kind: 1 | 2 | 3, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head[0] = kind;
  head.writeUInt32BE(body.length, 1);
  return Buffer.concat([head, body]);
}

function serve(conn: Socket): void {
  const chunks: Buffer[] = [];
  conn.on("data", (d: Buffer) => chunks.push(d));
  conn.on("error", () => undefined);
  // The whole stdin first, then the run: in `npx meridian a | npx meridian b`, b's request waits for a's output
  // without holding up a's run.
  conn.on("end", () => {
    const all = Buffer.concat(chunks);
    const nl = all.indexOf(10);
    const request = JSON.parse(all.subarray(0, nl).toString()) as { args: string[]; cwd: string; env: NodeJS.ProcessEnv };
    const send = (b: Buffer) => {
      if (!conn.destroyed) conn.write(b);
    };
    void runCliInProcess(request.args, {
      cwd: request.cwd,
      replaceEnv: request.env,
      input: all.subarray(nl + 1),
      onOutput: (stream, chunk) => send(frame(stream === "stdout" ? 1 : 2, chunk)),
    })
      .then(
        (r) => r.status ?? 1,
        (err: unknown) => {
          send(frame(2, Buffer.from(`meridian (docs runner): ${String(err)}\n`)));
          return 1;
        },
      )
      .then((status) => {
        const b = Buffer.alloc(4);
        b.writeInt32BE(status);
        send(frame(3, b));
        conn.end();
      });
  });
}

export function serveInProcess(): Promise<InProcessServer> {
  const dir = mkdtempSync(join(tmpdir(), "meridian-docs-cli-"));
  const socket = join(dir, "cli.sock");
  const server = createServer({ allowHalfOpen: true }, serve);
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(socket, () =>
      resolve({
        socket,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            rmSync(dir, { recursive: true, force: true });
          }),
      }),
    );
  });
}
