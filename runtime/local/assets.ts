/**
 * The dashboard's one third-party asset: uPlot (a small, dependency-free time-series chart), served from
 * the installed package so the page works offline and needs no build step.
 */
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";

export interface Asset {
  path: string;
  type: string;
  body: string;
}

let cached: Asset[] | undefined;

export function uplotAssets(): Asset[] {
  if (cached) return cached;
  // The package's entry point lives in dist/, beside the browser bundle and its stylesheet.
  const dist = dirname(createRequire(import.meta.url).resolve("uplot"));
  cached = [
    { path: "/assets/uPlot.iife.min.js", type: "text/javascript; charset=utf-8", body: readFileSync(join(dist, "uPlot.iife.min.js"), "utf8") },
    { path: "/assets/uPlot.min.css", type: "text/css; charset=utf-8", body: readFileSync(join(dist, "uPlot.min.css"), "utf8") },
  ];
  return cached;
}
