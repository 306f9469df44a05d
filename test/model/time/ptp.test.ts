// The rendered ptp4l.conf is parsed by the real ptp4l: with software timestamping on loopback it comes up
// and listens; a broken file is refused with "failed to parse configuration file".
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { phc2sysArgs, ptp4lArgs, renderPtp4lConf } from "../../../model/time/ptp.js";
import { timeSchema } from "../../../model/config/time.js";

const network = (n: Record<string, unknown>) => timeSchema.parse({ ptp: { network: n } }).ptp.network!;
const dir = mkdtempSync(join(tmpdir(), "meridian-ptp-"));

function ptp4l(conf: string, args: string[]) {
  const file = join(dir, `ptp4l-${Math.random().toString(36).slice(2)}.conf`);
  writeFileSync(file, conf);
  return spawnSync("/usr/sbin/ptp4l", ["-f", file, ...args], { encoding: "utf8", timeout: 1500, killSignal: "SIGTERM" });
}

describe("linuxptp config", () => {
  it("ptp4l accepts the rendered config and starts listening (software timestamps on lo)", () => {
    const n = network({ interface: "lo", timestamping: "software", transport: "UDPv4" });
    const r = ptp4l(renderPtp4lConf(n), ["-i", "lo", "-S", "-m"]);
    const out = `${r.stdout}${r.stderr}`;
    expect(out).not.toMatch(/failed to parse/);
    expect(out).toMatch(/LISTENING/);
  });

  it("ptp4l refuses a broken config, so the check above can fail", () => {
    const r = ptp4l(`${renderPtp4lConf(network({}))}[global]\nbogus_option 1\n`, ["-i", "lo", "-S", "-m"]);
    expect(`${r.stdout}${r.stderr}`).toMatch(/failed to parse configuration file/);
  });

  it("renders an ordinary slave-only clock and hands the PHC to chrony over SHM", () => {
    const n = network({ domainNumber: 24 });
    expect(renderPtp4lConf(n)).toContain("slaveOnly 1\ndomainNumber 24\nnetwork_transport L2\ntime_stamping hardware");
    expect(ptp4lArgs(n)).toEqual(["-f", "/etc/linuxptp/ptp4l.conf", "-i", "eth0", "-s", "-2", "-H", "-m"]);
    expect(phc2sysArgs(n)).toEqual(["-a", "-r", "-E", "ntpshm", "-M", "0", "-n", "24", "-m"]);
  });
});
