// A real chronyd for the tests (`-x`: it measures but never touches the system clock), following an NTP server on
// loopback every 250 ms, with its command port on 127.0.0.1 — as on a node, where only the host network reaches it.
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import { createSocket } from "node:dgram";
import { chmodSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const until = async (what: string, check: () => Promise<boolean> | boolean) => {
  for (let i = 0; i < 600; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
};

export function freeUdpPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createSocket("udp4");
    s.bind(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/**
 * A chronyd following 127.0.0.1:ntpPort; `closers` gets its kill. Returns its command port and the process.
 * `directives` are more chrony.conf lines.
 */
export async function startChronyd(ntpPort: number, closers: (() => Promise<void> | void)[], directives: string[] = []): Promise<{ cmdPort: number; proc: ChildProcess }> {
  const dir = mkdtempSync(join(tmpdir(), "meridian-chronyd-"));
  chmodSync(dir, 0o700);
  const cmdPort = await freeUdpPort();
  writeFileSync(
    join(dir, "chrony.conf"),
    [
      `server 127.0.0.1 port ${ntpPort} iburst minpoll -2 maxpoll -2`,
      "port 0",
      `cmdport ${cmdPort}`,
      "bindcmdaddress 127.0.0.1",
      `bindcmdaddress ${dir}/chronyd.sock`,
      `pidfile ${dir}/chronyd.pid`,
      `driftfile ${dir}/drift`,
      "user root",
      ...directives,
      "",
    ].join("\n"),
  );
  const proc = spawn("/usr/sbin/chronyd", ["-x", "-d", "-f", join(dir, "chrony.conf")], { stdio: ["ignore", "ignore", "pipe"] });
  closers.push(() => void proc.kill("SIGKILL"));
  await until("chronyd's command port", () => {
    try {
      execFileSync("chronyc", ["-c", "-n", "-h", "127.0.0.1", "-p", String(cmdPort), "tracking"], { stdio: "pipe", timeout: 2_000 });
      return true;
    } catch {
      return false;
    }
  });
  return { cmdPort, proc };
}
