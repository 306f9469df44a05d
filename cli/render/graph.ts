/**
 * The estate's topology as SVG: the DNS provider hierarchy above, regions in columns by continent
 * (coloured by cloud, marked tier-1 writer or tier-2 replica), GSLB edges from the apex to every region,
 * and the replication links among regions. Written by `meridian plan --graph` and shown by the dashboard.
 */
import { replicationInput } from "../../model/cost/report.js";
import { replicationLinks } from "../../model/cost/topology.js";
import type { EstateSpec } from "../../model/estate.js";

const CLOUD_COLOURS: Record<string, string> = { aws: "#ff9900", gcp: "#4285f4", azure: "#0078d4" };
const BOX = { w: 150, h: 54, gapX: 24, gapY: 18 };

const esc = (s: string) => s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);

export function renderTopologySvg(spec: EstateSpec): string {
  // The replication links the cost model prices (one model, one set of links).
  const links = replicationLinks(replicationInput(spec), spec.replication.topology);
  const continents = [...new Set(spec.regions.map((r) => r.continent))];
  const columns = continents.map((c) => spec.regions.filter((r) => r.continent === c));
  const writers = new Set(spec.replication.writers);
  const top = 150;
  const width = Math.max(640, columns.length * (BOX.w + BOX.gapX) + BOX.gapX);
  const tallest = Math.max(...columns.map((c) => c.length));
  const height = top + 30 + tallest * (BOX.h + BOX.gapY) + 20;
  const pos = new Map<string, { x: number; y: number }>();
  columns.forEach((col, ci) => col.forEach((r, ri) => pos.set(r.id, { x: BOX.gapX + ci * (BOX.w + BOX.gapX), y: top + 30 + ri * (BOX.h + BOX.gapY) })));

  const parts: string[] = [];
  // DNS hierarchy: apex over primary / secondary / tertiary providers.
  const p = spec.dns.providers;
  const chain = [
    ["primary", p.primary],
    ["secondary", p.secondary],
    ["tertiary", p.tertiary],
  ].filter(([, v]) => v !== undefined) as [string, string][];
  const apexX = width / 2;
  const apexLabel = `${spec.dns.host}.${spec.dns.apex} · ${spec.dns.routing}`;
  const apexW = Math.max(220, apexLabel.length * 7.5 + 24);
  parts.push(
    `<rect x="${apexX - apexW / 2}" y="10" width="${apexW}" height="30" rx="6" fill="#1e293b"/><text x="${apexX}" y="30" fill="#fff" text-anchor="middle" font-size="13">${esc(apexLabel)}</text>`,
  );
  chain.forEach(([role, provider], i) => {
    const x = apexX - (chain.length * 130) / 2 + i * 130 + 5;
    parts.push(`<line x1="${apexX}" y1="40" x2="${x + 60}" y2="70" stroke="#64748b"/>`);
    parts.push(
      `<rect x="${x}" y="70" width="120" height="36" rx="6" fill="#e2e8f0" stroke="#64748b"/><text x="${x + 60}" y="86" text-anchor="middle" font-size="12">${esc(provider)}</text><text x="${x + 60}" y="100" text-anchor="middle" font-size="10" fill="#475569">${role} DNS</text>`,
    );
  });
  continents.forEach((c, ci) => parts.push(`<text x="${BOX.gapX + ci * (BOX.w + BOX.gapX) + BOX.w / 2}" y="${top + 16}" text-anchor="middle" font-size="12" fill="#334155">${esc(c)}</text>`));
  for (const { x, y } of pos.values()) parts.push(`<line x1="${apexX}" y1="106" x2="${x + BOX.w / 2}" y2="${y}" stroke="#cbd5e1" stroke-dasharray="3 3"/>`);
  for (const link of links) {
    const a = pos.get(link.from);
    const b = pos.get(link.to);
    if (!a || !b) continue;
    // A curve bowed to one side, so links between the same row do not run under the boxes between them.
    const [x1, y1, x2, y2] = [a.x + BOX.w / 2, a.y + BOX.h / 2, b.x + BOX.w / 2, b.y + BOX.h / 2];
    const [cx, cy] = [(x1 + x2) / 2 + (y2 - y1) * 0.25, (y1 + y2) / 2 - Math.abs(x2 - x1) * 0.35];
    parts.push(
      `<path d="M ${x1} ${y1} Q ${cx} ${cy} ${x2} ${y2}" fill="none" stroke="#7c3aed" stroke-width="1.5" stroke-opacity="0.7" marker-end="url(#arrow)"><title>${esc(`${link.from} → ${link.to}: ${link.gb.toLocaleString("en-US")} GB/month`)}</title></path>`,
    );
  }
  for (const r of spec.regions) {
    const { x, y } = pos.get(r.id)!;
    const tier = writers.has(r.id) ? "tier-1 writer" : "tier-2 replica";
    parts.push(
      `<g data-region="${esc(r.id)}"><rect x="${x}" y="${y}" width="${BOX.w}" height="${BOX.h}" rx="8" fill="#fff" stroke="${CLOUD_COLOURS[r.cloud]}" stroke-width="${writers.has(r.id) ? 3 : 1.5}"/>` +
        `<text x="${x + 10}" y="${y + 20}" font-size="13" font-weight="600">${esc(r.id)}</text>` +
        `<text x="${x + 10}" y="${y + 36}" font-size="11" fill="#475569">${esc(r.cloud)} ${esc(r.region)}</text>` +
        `<text x="${x + 10}" y="${y + 49}" font-size="10" fill="#7c3aed">${tier}</text></g>`,
    );
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" font-family="system-ui, sans-serif">`,
    `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#7c3aed"/></marker></defs>`,
    `<title>${esc(`Meridian ${spec.stack}: ${spec.regions.length} regions`)}</title>`,
    ...parts,
    "</svg>",
  ].join("\n");
}
