/**
 * The dashboard's HTML: a static page (no build step) whose script loads the history once from
 * /api/history, then follows /api/events, appending each push's sample to the charts (uPlot, served from
 * the installed package) and redrawing the panels. A banner says when the data is stale (no push for a
 * few intervals) or the connection is gone. Region cards carry `data-region` and `data-health`, charts
 * `data-points`, so browser tests read state as a user sees it. Every control is a native button, select or
 * input (keyboard reachable, visible focus); kill and restart ask first.
 */
export function dashboardPage(topologySvg: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Meridian — local estate</title>
<link rel="stylesheet" href="/assets/uPlot.min.css">
<style>
  * { box-sizing: border-box; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #0f1720; color: #e2e8f0; }
  header { padding: 10px 20px; background: #111c2a; display: flex; flex-wrap: wrap; gap: 8px 24px; align-items: baseline; }
  h1 { font-size: 18px; margin: 0; } h2 { font-size: 15px; margin: 0 0 8px; } h3 { font-size: 13px; margin: 8px 0 4px; color: #94a3b8; }
  #banner { padding: 8px 20px; font-weight: 600; }
  #banner[data-state=stale] { background: #92400e; } #banner[data-state=disconnected] { background: #991b1b; }
  main { display: grid; grid-template-columns: minmax(0, 1fr) minmax(280px, 360px); gap: 16px; padding: 16px 20px; }
  @media (max-width: 1000px) { main { grid-template-columns: minmax(0, 1fr); } }
  section, aside { min-width: 0; }
  .regions { display: grid; grid-template-columns: repeat(auto-fill, minmax(230px, 1fr)); gap: 12px; margin-bottom: 12px; }
  .card { background: #16222f; border-radius: 8px; padding: 12px; border-left: 6px solid #64748b; min-width: 0; }
  .card[data-health=healthy] { border-color: #22c55e; } .card[data-health=degraded] { border-color: #f59e0b; }
  .card[data-health=unhealthy] { border-color: #ef4444; opacity: .85; }
  .health { font-weight: 600; text-transform: uppercase; font-size: 12px; }
  table { width: 100%; border-collapse: collapse; font-size: 12px; table-layout: fixed; } td, th { padding: 2px 4px; vertical-align: top; overflow-wrap: anywhere; text-align: left; }
  td:first-child { color: #94a3b8; width: 42%; }
  button, select, input { font: inherit; font-size: 12px; background: #334155; color: #e2e8f0; border: 1px solid #475569; border-radius: 4px; padding: 3px 8px; }
  button { cursor: pointer; margin: 0 4px 4px 0; } button.danger { background: #7f1d1d; }
  :focus-visible { outline: 2px solid #7dd3fc; outline-offset: 1px; }
  .panel { background: #16222f; border-radius: 8px; padding: 12px; margin-bottom: 12px; min-width: 0; }
  .charts { display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 12px; }
  .chart { min-width: 0; } .chart h3 { margin-top: 0; }
  .uplot, .u-wrap { max-width: 100%; } .u-legend { font-size: 11px; color: #cbd5e1; }
  .events { margin: 0; padding-left: 16px; } .events li { font-size: 12px; overflow-wrap: anywhere; }
  .topology svg { width: 100%; height: auto; background: #f8fafc; border-radius: 6px; }
  code { color: #7dd3fc; overflow-wrap: anywhere; }
  form.chaos { display: grid; grid-template-columns: 1fr 1fr; gap: 6px; align-items: end; }
  form.chaos label { display: flex; flex-direction: column; font-size: 11px; color: #94a3b8; gap: 2px; }
  .muted { color: #94a3b8; font-size: 12px; }
</style>
</head>
<body>
<header><h1>Meridian local estate</h1><span id="fqdn"></span><span id="dns" class="muted"></span><span id="updated" class="muted"></span></header>
<div id="banner" role="status" aria-live="polite" hidden></div>
<main>
  <section>
    <div class="regions" id="regions"></div>
    <div class="panel"><h2>History</h2><div class="charts" id="charts"></div></div>
    <div class="panel topology"><h2>Topology</h2>${topologySvg}</div>
  </section>
  <aside>
    <div class="panel"><h2>DNS answer</h2><div id="answer"></div><h3>Recent queries</h3><div id="queries" class="muted"></div></div>
    <div class="panel"><h2>Chaos</h2>
      <form class="chaos" id="chaos">
        <label>region<select name="region" id="chaos-region"></select></label>
        <label>fault<select name="kind" id="chaos-kind">
          <option value="partition">partition</option><option value="latency">latency (ms)</option><option value="loss">loss (0–1)</option>
          <option value="skew">clock skew (ms)</option><option value="degrade">degrade service</option></select></label>
        <label>value<input name="value" id="chaos-value" value="300" aria-describedby="chaos-help"></label>
        <label>seconds<input name="seconds" id="chaos-seconds" type="number" min="1" max="600" value="10"></label>
        <button type="submit">inject</button><span id="chaos-error" class="muted" role="alert"></span>
      </form>
      <p id="chaos-help" class="muted">Each fault asks first and reverts by itself after its time; a restarted region gets the faults in force again. Value: latency or skew in ms, loss share, or the service to fail (clock, ratelimit, escrow).</p>
      <ul class="events" id="faults"></ul>
    </div>
    <div class="panel" id="global"></div>
    <div class="panel"><h2>Events</h2><ul class="events" id="events"></ul></div>
  </aside>
</main>
<script src="/assets/uPlot.iife.min.js"></script>
<script>
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const rows = (obj) => Object.entries(obj).map(([k, v]) => "<tr><td>" + esc(k) + "</td><td>" + v + "</td></tr>").join("");
const ms = (x) => (typeof x === "number" ? x.toFixed(2) + " ms" : "—");
const num = (x, d = 0) => (typeof x === "number" ? x.toLocaleString(undefined, { maximumFractionDigits: d }) : "—");
const COLORS = ["#f59e0b", "#3b82f6", "#22d3ee", "#a78bfa", "#f472b6", "#84cc16"];
let regionIds = [];
/** An HLC "<wall µs>.<logical>" as a reader wants it: UTC wall time to the microsecond, then the counter. */
function hlc(text) {
  const m = /^(\\d{1,16})\\.(\\d+)$/.exec(String(text ?? ""));
  if (!m) return esc(text ?? "—");
  const us = Number(m[1]);
  const t = new Date(Math.floor(us / 1000)).toISOString().slice(11, 23) + String(us % 1000).padStart(3, "0");
  return '<code title="' + esc(text) + '">' + t + "Z · L" + esc(m[2]) + "</code>";
}
let lastPush = 0, interval = 1000, connected = false;

async function post(path, body) {
  const res = await fetch(path, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body || {}) });
  if (!res.ok) throw new Error((await res.json().catch(() => ({}))).detail || res.statusText);
  return res.json();
}
let faultsNow = [];
/** A fault as people say it ("escrow forced failing"), for confirmations and the cards. */
function faultText(f) {
  return f.kind === "partition" ? "network partition" : f.kind === "latency" ? "+" + f.latencyMs + " ms latency" : f.kind === "loss" ? Math.round(f.loss * 100) + "% connection loss"
    : f.kind === "skew" ? "clock skew " + f.skewMs + " ms" : f.kind === "degrade" ? f.service + " forced failing" : f.kind;
}
async function act(region, action) {
  const inForce = faultsNow.filter((a) => a.fault.region === region).map((a) => faultText(a.fault));
  const restart = "restart region " + region + "?" + (inForce.length ? " Faults in force on it are set again on the new process: " + inForce.join(", ") + "." : "");
  if (!confirm(action === "kill" ? "kill -9 region " + region + "? Its process dies at once." : restart)) return;
  await post("/api/regions/" + encodeURIComponent(region) + "/" + action).catch((e) => alert(e.message));
}

// ---- history charts (uPlot) ----
const CHARTS = [
  { id: "health", title: "Health (2 healthy · 1 degraded · 0 down)", per: (p) => p.health, range: [0, 2.2] },
  { id: "dns", title: "DNS answers /s", per: (p) => p.dnsPerS },
  { id: "rtt", title: "Probe RTT (ms)", per: (p) => p.rttMs },
  { id: "sales", title: "Sales /s", per: (p) => p.salesPerS },
  { id: "ratelimit", title: "Rate-limit decisions /s", series: [["admitted", (r) => sum(r, "admittedPerS"), "#22c55e"], ["limited (429)", (r) => sum(r, "limitedPerS"), "#ef4444"]] },
  { id: "clock", title: "Clock offset and ε (ms)", per: (p) => p.offsetMs, extra: (p) => p.epsilonMs },
];
const sum = (regions, key) => { let s = null; for (const p of Object.values(regions)) if (typeof p[key] === "number") s = (s ?? 0) + p[key]; return s; };
const samples = [];
const charts = {};
function seriesOf(c) {
  if (c.series) return c.series.map(([label, , stroke]) => ({ label, stroke, width: 1.5 }));
  const s = regionIds.map((id, i) => ({ label: id, stroke: COLORS[i % COLORS.length], width: 1.5, ...(c.id === "health" ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}) }));
  if (c.extra) s.push(...regionIds.map((id, i) => ({ label: "ε " + id, stroke: COLORS[i % COLORS.length], dash: [4, 4], width: 1 })));
  return s;
}
function dataOf(c) {
  const xs = samples.map((s) => s.t);
  const cols = c.series
    ? c.series.map(([, f]) => samples.map((s) => f(s.regions)))
    : [...regionIds.map((id) => samples.map((s) => (s.regions[id] ? c.per(s.regions[id]) : null))), ...(c.extra ? regionIds.map((id) => samples.map((s) => (s.regions[id] ? c.extra(s.regions[id]) : null))) : [])];
  return [xs, ...cols];
}
function chartWidth(el) { return Math.max(200, el.clientWidth); }
function buildCharts() {
  const box = document.getElementById("charts");
  box.innerHTML = CHARTS.map((c) => '<div class="chart" id="chart-' + c.id + '" data-points="0"><h3>' + esc(c.title) + "</h3></div>").join("");
  for (const c of CHARTS) {
    const el = document.getElementById("chart-" + c.id);
    const axis = { stroke: "#94a3b8", grid: { stroke: "#1e293b" }, ticks: { stroke: "#334155" } };
    charts[c.id] = new uPlot({
      width: chartWidth(el), height: 150,
      scales: { x: { time: true }, ...(c.range ? { y: { range: c.range } } : {}) },
      axes: [axis, { ...axis, size: 44 }],
      series: [{}, ...seriesOf(c)],
      legend: { live: false },
    }, dataOf(c), el);
  }
}
function redrawCharts() {
  for (const c of CHARTS) {
    charts[c.id].setData(dataOf(c));
    document.getElementById("chart-" + c.id).dataset.points = String(samples.length);
  }
}
addEventListener("resize", () => { for (const c of CHARTS) { const el = document.getElementById("chart-" + c.id); charts[c.id]?.setSize({ width: chartWidth(el) - 2, height: 150 }); } });
function addSample(s) {
  if (!s || samples.some((x) => x.t === s.t)) return;
  samples.push(s);
  // The history request and the first pushes can arrive in either order.
  if (samples.length > 1 && samples[samples.length - 2].t > s.t) samples.sort((x, y) => x.t - y.t);
  if (samples.length > 600) samples.shift();
}

// ---- panels ----
/** Replace a panel's HTML only when it changed, keeping keyboard focus on the same control across redraws. */
function setHtml(id, html) {
  const el = document.getElementById(id);
  if (el.innerHTML === html) return;
  const f = document.activeElement;
  const key = f && el.contains(f) && f.dataset ? (f.dataset.act ? '[data-act="' + f.dataset.act + '"][data-id="' + f.dataset.id + '"]' : f.dataset.revert ? '[data-revert="' + f.dataset.revert + '"]' : null) : null;
  el.innerHTML = html;
  if (key) el.querySelector(key)?.focus();
}
function render(s) {
  lastPush = Date.now();
  if (!regionIds.length) {
    regionIds = s.regions.map((r) => r.id);
    buildCharts();
    document.getElementById("chaos-region").innerHTML = regionIds.map((id) => '<option value="' + esc(id) + '">' + esc(id) + "</option>").join("");
  }
  addSample(s.sample);
  redrawCharts();
  document.getElementById("fqdn").innerHTML = "<code>" + esc(s.fqdn) + "</code>";
  document.getElementById("dns").innerHTML = "<code>dig @127.0.0.1 -p " + esc(s.dnsPort) + " " + esc(s.fqdn) + "</code>";
  document.getElementById("updated").textContent = "updated " + new Date(s.atMs).toLocaleTimeString();
  const a = s.dnsAnswer;
  document.getElementById("answer").innerHTML = a.answers.length === 0 ? "(no region answers)" :
    '<p class="muted">' + esc(a.mode) + " routing, ttl " + esc(a.ttl) + " s; each query gets one of:</p><table><tr><th>region</th><th>address</th><th>weight</th><th>share</th></tr>" +
    a.answers.map((x) => "<tr><td>" + esc(x.regionId) + "</td><td><code>" + esc(x.address) + "</code></td><td>" + esc(x.weight) + "</td><td>" + (x.share * 100).toFixed(1) + "%</td></tr>").join("") + "</table>";
  document.getElementById("queries").innerHTML = (s.dnsQueries || []).length === 0 ? "none yet" : "<table>" + s.dnsQueries.map((q) =>
    "<tr><td>" + new Date(q.atMs).toLocaleTimeString() + " " + esc(q.subnet ? "ECS " + q.subnet : q.client) + "</td><td>" + esc(q.type) + " → " + esc(q.address || "—") + (q.continent ? " (" + esc(q.continent) + ")" : "") + "</td></tr>").join("") + "</table>";
  setHtml("regions", s.regions.map((r) => {
    const st = r.state || {};
    const clock = st.clock || {};
    const svc = st.services || {};
    const tt = svc.clock || {};
    const stats = st.stats || {};
    const escrow = Object.entries(s.escrow || {}).map(([sku, v]) => esc(sku) + ": " + num(((v.leases || {})[r.id] || {}).held ?? 0) + " held, " + num((v.allocation || {})[r.id] ?? 0) + " allocated").join("<br>");
    const net = r.network || {};
    const netText = net.partitioned ? "partitioned" : [net.latencyMs ? "+" + net.latencyMs + " ms" : "", net.loss ? Math.round(net.loss * 100) + "% loss" : ""].filter(Boolean).join(", ") || "normal";
    return '<div class="card" data-region="' + esc(r.id) + '" data-health="' + esc(r.running ? r.health : "unhealthy") + '">' +
      "<h2>" + esc(r.id) + ' <span class="health">' + esc(r.running ? r.health : "stopped") + "</span></h2>" +
      "<table>" + rows({
        address: "<code>" + esc(r.address) + "</code> (" + esc(r.cloud) + ")",
        network: esc(netText),
        "probe RTT": ms(r.rttMs),
        "injected skew": ms(clock.skewMs),
        "clock offset": ms(tt.offsetMs) + (typeof tt.errorBoundMs === "number" ? " ± " + ms(tt.errorBoundMs) : ""),
        "ε (TrueTime)": ms(tt.epsilonMs),
        "skew state": esc(tt.skew ?? "—"),
        HLC: hlc(tt.hlc),
        "rate limit": num(r.rateLimitShare) + " req/s share; " + num(stats.admitted) + " admitted, " + num(stats.limited) + " limited",
        sales: num(stats.sales),
        "escrow tokens": escrow || "—",
        "failing signals": esc((r.failingSignals || []).join(", ") || "none"),
        "faults in force": esc((s.faults || []).filter((a) => a.fault.region === r.id).map((a) => faultText(a.fault)).join(", ") || "none"),
      }) + "</table>" +
      '<p><button class="danger" data-act="kill" data-id="' + esc(r.id) + '">kill -9</button><button data-act="restart" data-id="' + esc(r.id) + '">restart</button></p></div>';
  }).join(""));
  const log = s["proof log"];
  const global = [];
  if (log) global.push("<h2>Proof log</h2><table>" + rows({ origin: esc(log.origin), size: num(log.size), root: "<code>" + esc(String(log.root).slice(0, 16)) + "…</code>", cosigners: '<span id="cosigners">' + esc(log.cosigners.length ? log.cosigners.join(", ") : "(none yet)") + "</span>" }) + "</table>");
  for (const [sku, v] of Object.entries(s.escrow || {}))
    global.push("<h2>Escrow " + esc(sku) + "</h2><table>" + (v.error ? rows({ error: esc(v.error) }) : rows({ total: num(v.total), sold: num(v.sold), pool: num(v.pool), ...Object.fromEntries(Object.entries(v.leases || {}).map(([id, l]) => ["lease " + id, num(l.held) + " held" + (l.live ? "" : " (expired)")])) })) + "</table>");
  if (s.attest) global.push("<h2>Attestation verifier</h2><table>" + rows({ URL: "<code>" + esc(s.attest.url) + "</code>", store: esc(s.attest.store) }) + "</table>");
  if (s.quota) global.push("<h2>Quota</h2><table>" + rows({ URL: "<code>" + esc(s.quota.url) + "</code>", store: esc(s.quota.store) }) + "</table>");
  if (s.map) global.push("<h2>Verifiable map</h2><table>" + rows({ URL: "<code>" + esc(s.map.url) + "</code>", map: esc(s.map.map), store: esc(s.map.store) }) + "</table>");
  if (s.grandmaster) global.push("<h2>Grandmaster</h2><table>" + rows({ NTP: "<code>" + esc(s.grandmaster.ntp) + "</code>", primary: esc(s.grandmaster.primary) }) + "</table>");
  document.getElementById("global").innerHTML = global.join("");
  faultsNow = s.faults || [];
  setHtml("faults", (s.faults || []).map((f) => {
    const left = Math.max(0, Math.round((f.revertAtMs - s.atMs) / 1000));
    const { kind, region, ...rest } = f.fault;
    return "<li>" + esc(region) + ": " + esc(kind) + " " + esc(Object.values(rest).join(" ")) + " — reverts in " + left + ' s <button data-revert="' + f.id + '">revert now</button></li>';
  }).join("") || '<li class="muted">no active faults</li>');
  document.getElementById("events").innerHTML = s.events.map((e) => "<li>" + new Date(e.atMs).toLocaleTimeString() + " " + esc(e.kind) + " " + esc(e.region || "") + " " + esc(e.detail) + "</li>").join("");
}

document.addEventListener("click", (ev) => {
  const b = ev.target.closest("button");
  if (!b) return;
  if (b.dataset.act) act(b.dataset.id, b.dataset.act);
  if (b.dataset.revert) post("/api/faults/" + b.dataset.revert + "/revert").catch((e) => alert(e.message));
});
// Each kind's value: a sensible default to start from (skew past the max offset freezes the clock).
const CHAOS_VALUES = { partition: "", latency: "300", loss: "0.3", skew: "600", degrade: "escrow" };
document.getElementById("chaos-kind").addEventListener("change", (ev) => (document.getElementById("chaos-value").value = CHAOS_VALUES[ev.target.value] ?? ""));
document.getElementById("chaos").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = new FormData(ev.target);
  const kind = f.get("kind"), value = String(f.get("value")).trim();
  const body = { kind, durationSeconds: Number(f.get("seconds")) };
  if (kind === "latency") body.latencyMs = Number(value);
  if (kind === "loss") body.loss = Number(value);
  if (kind === "skew") body.skewMs = Number(value);
  if (kind === "degrade") body.service = value;
  const out = document.getElementById("chaos-error");
  out.textContent = "";
  if (!confirm("inject " + faultText(body) + " on " + f.get("region") + " for " + body.durationSeconds + " s? It reverts by itself.")) return;
  await post("/api/regions/" + encodeURIComponent(f.get("region")) + "/fault", body).catch((e) => (out.textContent = e.message));
});

// ---- connection and staleness ----
function banner() {
  const b = document.getElementById("banner");
  const age = Date.now() - lastPush;
  const state = !connected ? "disconnected" : lastPush && age > 3 * interval + 2000 ? "stale" : "";
  b.hidden = state === "";
  b.dataset.state = state;
  b.textContent = state === "disconnected" ? "Disconnected from the estate — retrying; what you see is from " + (lastPush ? new Date(lastPush).toLocaleTimeString() : "never") + "."
    : state === "stale" ? "Stale: no update for " + Math.round(age / 1000) + " s." : "";
}
setInterval(banner, 500);
fetch("/api/history").then((r) => (r.ok ? r.json() : [])).then((h) => { for (const s of h) addSample(s); if (regionIds.length) redrawCharts(); }).catch(() => undefined);
const source = new EventSource("/api/events");
source.onopen = () => { connected = true; banner(); };
source.onerror = () => { connected = false; banner(); };
source.onmessage = (m) => { connected = true; const s = JSON.parse(m.data); if (s.regions) render(s); };
</script>
</body>
</html>
`;
}
