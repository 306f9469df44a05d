/// <reference lib="dom" />
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { chromium, type Browser } from "playwright-core";
import { existsSync } from "node:fs";
import { LocalEstate } from "../../../runtime/local/estate.js";
import { startDashboard } from "../../../runtime/local/dashboard.js";
import { buildEstateSpec } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { renderTopologySvg } from "../../../cli/render/graph.js";

const CHROMIUM = "/usr/bin/chromium";

describe.skipIf(!existsSync(CHROMIUM))("the local dashboard in headless Chromium", () => {
  let estate: LocalEstate;
  let url: string;
  let close: () => Promise<void>;
  let browser: Browser;

  beforeAll(async () => {
    // Chromium starts while the estate does: neither needs the other.
    const launching = chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-quic", "--no-first-run", "--disable-component-update", "--disable-sync"],
    });
    try {
      const spec = buildEstateSpec("local", loadStack("local"));
      estate = await LocalEstate.start({ spec, dnsPort: 0, basePort: 0 });
      const dashboard = await startDashboard({ estate: () => estate, port: 0, topologySvg: renderTopologySvg(spec), pushIntervalMs: 250 });
      url = dashboard.url;
      let closing: Promise<void> | undefined;
      close = () => (closing ??= dashboard.close());
    } finally {
      browser = await launching; // for afterAll to close, whether or not the estate started
    }
  });
  afterAll(async () => {
    await browser?.close();
    await close?.();
    await estate?.stop();
  });

  it("shows three healthy regions, the cosigners, history charts, the whole page at 1280 px, and reacts to a region going down", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const dialogs: string[] = [];
    // Every control asks first: accepted, unless the test cancels the next one.
    let cancelNext = false;
    page.on("dialog", (d) => {
      dialogs.push(d.message());
      void (cancelNext ? d.dismiss() : d.accept());
      cancelNext = false;
    });
    await page.goto(url);
    await page.waitForFunction(() => document.querySelectorAll('.card[data-health="healthy"]').length === 3, null, { timeout: 60_000 });
    const ids = await page.$$eval(".card", (cards) => cards.map((c) => c.getAttribute("data-region")));
    expect(ids).toEqual(["local-aws", "local-gcp", "local-azure"]);
    await expect(page.textContent("#answer")).resolves.toContain("127.0.1.1");
    expect(await page.locator(".topology svg g[data-region]").count()).toBe(3);
    // Per region: its clock (offset, ε, skew state) and its escrow tokens; estate-wide: the proof log.
    await page.waitForFunction(() => /\d+ held/.test(document.querySelector('.card[data-region="local-gcp"]')?.textContent ?? ""), null, { timeout: 10_000 });
    await page.waitForFunction(() => /skew state\s*healthy/.test(document.querySelector('.card[data-region="local-gcp"]')?.textContent ?? ""), null, { timeout: 30_000 });
    expect((await page.textContent('.card[data-region="local-gcp"]')) ?? "").toMatch(/ε \(TrueTime\)\s*\d+\.\d\d ms/);
    // The offset the skew state machine acts on, with its error bound.
    expect((await page.textContent('.card[data-region="local-gcp"]')) ?? "").toMatch(/clock offset\s*-?\d+\.\d\d ms ± \d+\.\d\d ms/);
    // The HLC as a time and a counter, not a raw 16-digit number.
    expect((await page.textContent('.card[data-region="local-gcp"]')) ?? "").toMatch(/HLC\s*\d\d:\d\d:\d\d\.\d{6}Z · L\d+/);
    expect(await page.textContent("#global")).toMatch(/Proof log.*origin/s);
    // The witnesses' cosignatures on the latest checkpoint, by name.
    await page.waitForFunction(() => /witness-a.*witness-b|witness-b.*witness-a/.test(document.getElementById("cosigners")?.textContent ?? ""), null, { timeout: 30_000 });

    // History: six uPlot charts, drawn (canvas) and filling with samples.
    const charts = ["health", "dns", "rtt", "sales", "ratelimit", "clock"];
    for (const id of charts) expect(await page.locator(`#chart-${id} .uplot canvas`).count(), id).toBe(1);
    await page.waitForFunction(() => [...document.querySelectorAll(".chart")].every((c) => Number((c as HTMLElement).dataset.points) >= 3), null, { timeout: 30_000 });
    // The health chart plots what the cards say: every region at 2 (healthy) in the latest sample.
    // (Polled: on a loaded machine a probe round can time out between the cards' read and the next sample, and the
    // chart then rightly shows that region degraded for a sample.)
    const latestHealth = () =>
      page.evaluate(async () => Object.values(((await (await fetch("/api/history")).json()) as { regions: Record<string, { health: number }> }[]).at(-1)!.regions).map((p) => p.health));
    await expect.poll(latestHealth, { timeout: 30_000, interval: 250 }).toEqual([2, 2, 2]);

    // The whole page fits 1280 px: nothing wider than the window, every card and chart inside it.
    const overflow = await page.evaluate(() => ({
      scroll: document.documentElement.scrollWidth,
      width: window.innerWidth,
      rightmost: Math.max(...[...document.querySelectorAll(".card, .chart, .panel")].map((e) => e.getBoundingClientRect().right)),
    }));
    expect(overflow.scroll).toBeLessThanOrEqual(overflow.width);
    expect(overflow.rightmost).toBeLessThanOrEqual(1280);

    // Chaos from the keyboard: a timed partition of local-gcp appears with its countdown, and reverts on request.
    await page.selectOption("#chaos-region", "local-gcp");
    await page.selectOption("#chaos-kind", "partition");
    await page.fill("#chaos-seconds", "60");
    await page.focus("#chaos-seconds");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /local-gcp: partition.*reverts in \d+ s/.test(document.getElementById("faults")?.textContent ?? ""), null, { timeout: 10_000 });
    expect(dialogs.at(-1)).toBe("inject network partition on local-gcp for 60 s? It reverts by itself.");
    await page.waitForFunction(() => /network\s*partitioned/.test(document.querySelector('.card[data-region="local-gcp"]')?.textContent ?? ""), null, { timeout: 10_000 });
    await page.click('#faults button:has-text("revert now")');
    await page.waitForFunction(() => /no active faults/.test(document.getElementById("faults")?.textContent ?? ""), null, { timeout: 10_000 });
    expect(estate.proxies.get("local-gcp")!.fault.partitioned).toBe(false);
    // A bad value is refused with the reason, nothing injected.
    await page.selectOption("#chaos-kind", "latency");
    await page.fill("#chaos-value", "-5");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /latencyMs/.test(document.getElementById("chaos-error")?.textContent ?? ""), null, { timeout: 10_000 });
    expect(estate.chaos.active()).toEqual([]);

    // Kill asks first: cancelled, nothing happens; confirmed, the region's process dies. What the card and the DNS
    // answer then show is checked after local-azure's faults and restart below, which the GSLB's detection time
    // (seconds of probes) overlaps: local-aws's death touches neither local-azure's faults nor its process.
    const asked = dialogs.length;
    cancelNext = true;
    await page.click('.card[data-region="local-aws"] button:has-text("kill -9")');
    expect(dialogs.slice(asked)).toEqual(["kill -9 region local-aws? Its process dies at once."]);
    expect(estate.supervisor.isRunning("local-aws")).toBe(true);
    await page.click('.card[data-region="local-aws"] button:has-text("kill -9")');
    await expect.poll(() => estate.supervisor.isRunning("local-aws"), { timeout: 10_000 }).toBe(false);
    expect(dialogs).toHaveLength(asked + 2);

    // Degrade and skew, each confirmed first (a cancelled one injects nothing); the card lists the faults in force.
    await page.selectOption("#chaos-region", "local-azure");
    await page.selectOption("#chaos-kind", "degrade");
    expect(await page.inputValue("#chaos-value")).toBe("escrow");
    cancelNext = true;
    const before = dialogs.length;
    await page.focus("#chaos-seconds");
    await page.keyboard.press("Enter");
    await expect.poll(() => dialogs.length).toBe(before + 1);
    expect(dialogs.at(-1)).toBe("inject escrow forced failing on local-azure for 60 s? It reverts by itself.");
    expect(estate.chaos.active()).toEqual([]);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /local-azure: degrade escrow.*reverts in/.test(document.getElementById("faults")?.textContent ?? ""), null, { timeout: 10_000 });
    await page.selectOption("#chaos-kind", "skew");
    expect(await page.inputValue("#chaos-value")).toBe("600");
    await page.focus("#chaos-seconds");
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => /local-azure: skew 600.*reverts in/.test(document.getElementById("faults")?.textContent ?? ""), null, { timeout: 10_000 });
    expect(dialogs.at(-1)).toBe("inject clock skew 600 ms on local-azure for 60 s? It reverts by itself.");
    expect(estate.chaos.active().map((a) => a.fault)).toEqual([
      { kind: "degrade", region: "local-azure", service: "escrow" },
      { kind: "skew", region: "local-azure", skewMs: 600 },
    ]);
    await page.waitForFunction(() => /faults in force\s*escrow forced failing, clock skew 600 ms/.test(document.querySelector('.card[data-region="local-azure"]')?.textContent ?? ""), null, {
      timeout: 10_000,
    });
    // Restarting the region says its faults come back with it, and the events show they did.
    await page.click('.card[data-region="local-azure"] button:has-text("restart")');
    await page.waitForFunction(() => /re-applied after restart: escrow forced failing/.test(document.getElementById("events")?.textContent ?? ""), null, { timeout: 30_000 });
    expect(dialogs.at(-1)).toBe("restart region local-azure? Faults in force on it are set again on the new process: escrow forced failing, clock skew 600 ms.");
    await expect.poll(() => estate.prober.failingSignals("local-azure"), { timeout: 30_000 }).toContain("escrow");
    await estate.chaos.revertAll();
    await page.waitForFunction(() => /no active faults/.test(document.getElementById("faults")?.textContent ?? ""), null, { timeout: 10_000 });

    // local-aws's kill (above) shows: the card and the DNS answer change.
    await page.waitForSelector('.card[data-region="local-aws"][data-health="unhealthy"]', { timeout: 30_000 });
    await page.waitForFunction(() => document.querySelector("#answer")?.textContent?.includes("127.0.1.2"), null, { timeout: 30_000 });
    await page.screenshot({ path: "/tmp/meridian-dashboard.png", fullPage: true });

    // The estate goes away: the page says so instead of showing old numbers as live.
    await close();
    await page.waitForSelector('#banner[data-state="disconnected"]', { timeout: 15_000 });
    expect(await page.textContent("#banner")).toMatch(/Disconnected from the estate/);
  });
});
