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
    const spec = buildEstateSpec("local", loadStack("local"));
    estate = await LocalEstate.start({ spec, dnsPort: 0, basePort: 0 });
    const dashboard = await startDashboard({ estate: () => estate, port: 0, topologySvg: renderTopologySvg(spec), pushIntervalMs: 250 });
    url = dashboard.url;
    close = () => dashboard.close();
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
  });
  afterAll(async () => {
    await browser?.close();
    await close?.();
    await estate?.stop();
  });

  it("shows three healthy regions and reacts to a region going down", async () => {
    const page = await browser.newPage();
    page.on("dialog", (d) => void d.accept());
    await page.goto(url);
    await page.waitForFunction(() => document.querySelectorAll('.card[data-health="healthy"]').length === 3, null, { timeout: 20_000 });
    const ids = await page.$$eval(".card", (cards) => cards.map((c) => c.getAttribute("data-region")));
    expect(ids).toEqual(["local-aws", "local-gcp", "local-azure"]);
    await expect(page.textContent("#answer")).resolves.toContain("127.0.1.1");
    expect(await page.locator(".topology svg g[data-region]").count()).toBe(3);
    // Per region: its clock (offset, ε, skew state) and its escrow tokens; estate-wide: the proof log.
    await page.waitForFunction(() => /\d+ held/.test(document.querySelector('.card[data-region="local-gcp"]')?.textContent ?? ""), null, { timeout: 10_000 });
    const gcp = (await page.textContent('.card[data-region="local-gcp"]')) ?? "";
    expect(gcp).toMatch(/skew state\s*healthy/);
    expect(gcp).toMatch(/ε \(TrueTime\)\s*\d+\.\d\d ms/);
    expect(await page.textContent("#global")).toMatch(/proof log.*origin/s);

    // The user's way: press the region's kill button and watch the card and the DNS answer change.
    await page.click('.card[data-region="local-aws"] button:has-text("kill -9")');
    await page.waitForSelector('.card[data-region="local-aws"][data-health="unhealthy"]', { timeout: 20_000 });
    await page.waitForFunction(() => document.querySelector("#answer")?.textContent?.includes("127.0.1.2"), null, { timeout: 10_000 });
    expect(await page.locator('.card[data-health="healthy"]').count()).toBe(2);
    await page.screenshot({ path: "/tmp/meridian-dashboard.png", fullPage: true });
  });
});
