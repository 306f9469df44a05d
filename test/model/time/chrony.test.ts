// Every chrony.conf the hierarchy renders — every stack, every variant, every region — passes the real
// `chronyd -p -f FILE`; and chronyd does reject a broken file, so the check can fail.
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { renderChronyConf } from "../../../model/time/chrony.js";
import { timeHierarchy } from "../../../model/time/hierarchy.js";
import { specFor, STACKS, TIME_VARIANTS } from "./fixtures.js";

const dir = mkdtempSync(join(tmpdir(), "meridian-chrony-"));
function chronydParse(text: string, name: string): { status: number | null; stderr: string } {
  const file = join(dir, `${name}.conf`);
  writeFileSync(file, text);
  const r = spawnSync("/usr/sbin/chronyd", ["-p", "-f", file], { encoding: "utf8", timeout: 10_000 });
  return { status: r.status, stderr: r.stderr };
}

describe("chrony.conf rendering", () => {
  for (const stack of STACKS) {
    for (const [variant, time] of Object.entries(TIME_VARIANTS)) {
      it(`${stack} / ${variant}: chronyd -p accepts every region's file`, () => {
        let plans;
        try {
          plans = timeHierarchy(specFor(stack, time));
        } catch (e) {
          // Only the documented impossible combination may fail: no source of the estate's kind.
          expect((e as Error).name).toBe("TimeHierarchyError");
          return;
        }
        for (const plan of plans) {
          const text = renderChronyConf(plan);
          const r = chronydParse(text, `${stack}-${plan.region}-${variant.replace(/\W+/g, "-")}`);
          expect(r.stderr).toBe("");
          expect(r.status).toBe(0);
          for (const s of plan.sources) expect(text).toContain(`${s.directive} ${s.target} ${s.options.join(" ")}`);
        }
      });
    }
  }

  it("chronyd -p rejects an invalid directive (the check is real)", () => {
    const plan = timeHierarchy(specFor("prod"))[0]!;
    const r = chronydParse(`${renderChronyConf(plan)}maxdistance soon\n`, "broken");
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/Fatal error/);
  });

  it("an unsmeared AWS region with PTP renders the PHC, the NTS references and the grandmaster and lists the smeared endpoint as excluded", () => {
    const aws = timeHierarchy(specFor("prod", { maxOffsetMs: 250, ptp: true })).find((p) => p.cloud === "aws")!;
    expect(renderChronyConf(aws)).toMatchInlineSnapshot(`
      "# chrony.conf for region aws-use1 (aws), rendered by Meridian from the time hierarchy.
      # Time scale: unsmeared. Never mix smeared and unsmeared sources.
      # excluded: 169.254.169.123 — smeared

      # ENA PTP hardware clock (Nitro; unsmeared UTC)
      refclock PHC /dev/ptp_ena poll 0 delay 0.000010 prefer
      # independent reference, NTS-authenticated (unsmeared)
      server nts.netnod.se iburst nts
      # independent reference, NTS-authenticated (unsmeared)
      server ptbtime1.ptb.de iburst nts
      # independent reference, NTS-authenticated (unsmeared)
      server nts.time.nl iburst nts
      # Meridian grandmaster relay (Marzullo vote over nts.netnod.se, ptbtime1.ptb.de, nts.time.nl; stratum 16 without a majority, which chrony ignores)
      server grandmaster.meridian-time.svc.cluster.local iburst minpoll 4 maxpoll 6

      # A source whose error bound exceeds half the HLC max offset cannot be trusted for ordering.
      maxdistance 0.125
      minsources 2
      # Step only while starting up; afterwards slew, so the HLC never sees a backward jump from chrony.
      makestep 1.0 3
      driftfile /var/lib/chrony/chrony.drift
      rtcsync
      leapsecmode system
      "
    `);
  });
});
