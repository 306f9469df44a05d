/**
 * `npx meridian …` in a docs block's command that the runner serves in its own process (test/docs/in-process.ts):
 * this plain-Node stand-in (no tsx, no imports of the project) sends its arguments, working directory, environment
 * and stdin over MERIDIAN_DOCS_SOCKET and replays the command's stdout, stderr and exit status as its own, so the
 * shell's pipes, redirections and `$(…)` around it work as with the real bin.
 */
import { connect } from "node:net";

const socket = connect(process.env.MERIDIAN_DOCS_SOCKET);
socket.write(`${JSON.stringify({ args: process.argv.slice(2), cwd: process.cwd(), env: process.env })}\n`);
process.stdin.pipe(socket);

// Frames: one byte (1 stdout, 2 stderr, 3 exit status), a 32-bit length, the bytes.
let pending = Buffer.alloc(0);
let status;
socket.on("data", (d) => {
  pending = Buffer.concat([pending, d]);
  while (pending.length >= 5 && pending.length >= 5 + pending.readUInt32BE(1)) {
    const kind = pending[0];
    const body = pending.subarray(5, 5 + pending.readUInt32BE(1));
    pending = pending.subarray(5 + body.length);
    if (kind === 1) process.stdout.write(body);
    else if (kind === 2) process.stderr.write(body);
    else status = body.readInt32BE(0);
  }
});
socket.on("close", () => {
  process.stdin.destroy();
  if (status === undefined) process.stderr.write("meridian (docs runner): the test process closed the connection without an exit status\n");
  process.exitCode = status ?? 1;
});
