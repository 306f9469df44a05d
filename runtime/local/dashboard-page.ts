/**
 * The dashboard's HTML: a static page whose script subscribes to /api/events and redraws. Each region
 * card carries `data-region` and `data-health` attributes so browser tests can read state as a user sees it.
 */
export function dashboardPage(topologySvg: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Meridian — local estate</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 0; background: #0f1720; color: #e2e8f0; }
  header { padding: 12px 20px; background: #111c2a; display: flex; gap: 24px; align-items: baseline; }
  h1 { font-size: 18px; margin: 0; } h2 { font-size: 15px; margin: 0 0 8px; }
  main { display: grid; grid-template-columns: 2fr 1fr; gap: 16px; padding: 16px 20px; }
  .regions { display: grid; grid-template-columns: repeat(auto-fill, minmax(260px, 1fr)); gap: 12px; }
  .card { background: #16222f; border-radius: 8px; padding: 12px; border-left: 6px solid #64748b; }
  .card[data-health=healthy] { border-color: #22c55e; } .card[data-health=degraded] { border-color: #f59e0b; }
  .card[data-health=unhealthy] { border-color: #ef4444; opacity: .8; }
  .health { font-weight: 600; text-transform: uppercase; font-size: 12px; }
  table { width: 100%; border-collapse: collapse; font-size: 12px; } td { padding: 2px 4px; vertical-align: top; }
  td:first-child { color: #94a3b8; white-space: nowrap; }
  button { background: #334155; color: #e2e8f0; border: 0; border-radius: 4px; padding: 4px 8px; cursor: pointer; margin-right: 4px; }
  .panel { background: #16222f; border-radius: 8px; padding: 12px; margin-bottom: 12px; }
  .events li { font-size: 12px; } .topology svg { width: 100%; height: auto; background: #f8fafc; border-radius: 6px; }
  code { color: #7dd3fc; }
</style>
</head>
<body>
<header><h1>Meridian local estate</h1><span id="fqdn"></span><span id="dns"></span><span id="updated"></span></header>
<main>
  <section>
    <div class="regions" id="regions"></div>
    <div class="panel" id="services"></div>
    <div class="panel topology"><h2>Topology</h2>${topologySvg}</div>
  </section>
  <aside>
    <div class="panel"><h2>DNS answer</h2><div id="answer"></div></div>
    <div class="panel" id="global"></div>
    <div class="panel"><h2>Events</h2><ul class="events" id="events"></ul></div>
  </aside>
</main>
<script>
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const rows = (obj) => Object.entries(obj || {}).map(([k, v]) => "<tr><td>" + esc(k) + "</td><td>" + esc(typeof v === "object" ? JSON.stringify(v) : v) + "</td></tr>").join("");
async function act(region, action, body) {
  if ((action === "kill" || action === "restart") && !confirm(action === "kill" ? "kill -9 region " + region + "?" : "restart region " + region + "?")) return;
  await fetch("/api/regions/" + region + "/" + action, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body || {}) });
}
function render(s) {
  document.getElementById("fqdn").innerHTML = "<code>" + esc(s.fqdn) + "</code>";
  document.getElementById("dns").innerHTML = "dig @127.0.0.1 -p " + s.dnsPort + " " + esc(s.fqdn);
  document.getElementById("updated").textContent = new Date().toLocaleTimeString();
  document.getElementById("answer").innerHTML = "<code>" + (s.dnsAnswer.addresses.join(", ") || "(no healthy region)") + "</code> ttl " + s.dnsAnswer.ttl + "s";
  document.getElementById("regions").innerHTML = s.regions.map((r) => {
    const st = r.state || {};
    const clock = st.clock || {};
    const svc = st.services || {};
    const tt = svc.clock || {};
    const escrow = Object.entries(s.escrow || {}).map(([sku, v]) => sku + ": " + (((v.regions || {})[r.id] || {}).held ?? 0) + " held, " + ((v.allocation || {})[r.id] ?? 0) + " allocated").join(", ");
    const ms = (x) => (typeof x === "number" ? x.toFixed(2) + " ms" : "—");
    return '<div class="card" data-region="' + esc(r.id) + '" data-health="' + esc(r.health) + '">' +
      "<h2>" + esc(r.id) + ' <span class="health">' + esc(r.health) + "</span></h2>" +
      "<table>" + rows({
        address: r.address,
        cloud: r.cloud,
        "injected skew": ms(clock.skewMs),
        "clock offset": ms(tt.offsetMs),
        "ε (TrueTime)": ms(tt.epsilonMs),
        "skew state": tt.skew ?? "—",
        HLC: tt.hlc ?? "—",
        "rate limit": svc.ratelimit ? svc.ratelimit.requestsPerSecond + " req/s share" : "—",
        "escrow tokens": escrow || "—",
        "failing signals": (r.failingSignals || []).join(", ") || "none",
      }) + "</table>" +
      "<p><button onclick=\\"act('" + r.id + "','kill')\\">kill -9</button><button onclick=\\"act('" + r.id + "','restart')\\">restart</button></p></div>";
  }).join("");
  document.getElementById("services").innerHTML = "<h2>Services per region</h2>" + s.regions.map((r) =>
    "<h3>" + esc(r.id) + "</h3><table>" + rows((r.state || {}).services) + "</table>").join("");
  const global = Object.entries(s).filter(([k]) => !["stack", "fqdn", "dnsPort", "dnsAnswer", "regions", "events"].includes(k));
  const globalPanel = document.getElementById("global");
  globalPanel.hidden = global.length === 0;
  globalPanel.innerHTML = global.map(([k, v]) => "<h2>" + esc(k) + "</h2><table>" + rows(v) + "</table>").join("");
  document.getElementById("events").innerHTML = s.events.map((e) => "<li>" + new Date(e.atMs).toLocaleTimeString() + " " + esc(e.kind) + " " + esc(e.region || "") + " " + esc(e.detail) + "</li>").join("");
}
new EventSource("/api/events").onmessage = (m) => { const s = JSON.parse(m.data); if (s.regions) render(s); };
</script>
</body>
</html>
`;
}
