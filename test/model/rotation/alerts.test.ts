import { describe, expect, it } from "vitest";
import { loadStack } from "../../../stacks/load.js";
import { buildEstateSpec, type EstateSpec } from "../../../model/estate.js";
import { isAlert, pkiRuleGroups, pkiSlos, svidFailureFor, type AlertRule } from "../../../model/rotation/alerts.js";

const prod = buildEstateSpec("prod", loadStack("prod"));
const alerts = (spec: EstateSpec) => pkiRuleGroups(spec).flatMap((g) => g.rules.filter(isAlert));
const alert = (spec: EstateSpec, name: string) => alerts(spec).find((a) => a.alert === name) as AlertRule;

describe("PKI alerting rules", () => {
  it("expiry thresholds come from the stack config (warning 21 d, critical 7 d in prod)", () => {
    expect(alert(prod, "CertificateExpiringSoon")).toMatchObject({
      expr: `(certmanager_certificate_expiration_timestamp_seconds - time()) < ${21 * 86400}`,
      severity: "warning",
    });
    expect(alert(prod, "CertificateExpiryCritical")).toMatchObject({ expr: `(certmanager_certificate_expiration_timestamp_seconds - time()) < ${7 * 86400}`, severity: "critical" });
    const tighter = { ...prod, pki: { ...prod.pki, expiryAlerts: { warningDays: 14, criticalDays: 3 } } };
    expect(alert(tighter, "CertificateExpiryCritical").expr).toMatch(/< 259200$/);
  });

  it("covers renewal failures, ACME errors and SPIRE SVID rotation / CA preparation failures", () => {
    expect(alerts(prod).map((a) => a.alert)).toEqual(
      expect.arrayContaining(["CertificateNotReady", "CertificateRenewalOverdue", "AcmeRequestErrors", "SpireAgentSvidRotationFailing", "SpireServerCaPrepareFailing"]),
    );
    expect(alert(prod, "SpireAgentSvidRotationFailing").expr).toContain('spire_agent_agent_svid_rotate{status!="OK"}');
  });

  it("pages on SVID rotation failures after a quarter of the SVID TTL", () => {
    expect(svidFailureFor(prod)).toBe("15m");
    expect(svidFailureFor({ ...prod, pki: { ...prod.pki, svidTtl: "4h" } })).toBe("60m");
  });

  it("defines SLOs with recorded error ratios and multi-window burn-rate alerts against their budgets", () => {
    const slos = pkiSlos(prod);
    expect(slos.map((s) => [s.name, s.objective, s.windowDays])).toEqual([
      ["certificate-ready", 0.999, 30],
      ["mesh-handshake", 0.9995, 30],
    ]);
    const group = pkiRuleGroups(prod).find((g) => g.name === "meridian-slo-mesh-handshake")!;
    const records = group.rules.filter((r) => !isAlert(r)).map((r) => ("record" in r ? r.record : ""));
    expect(records).toEqual(["5m", "30m", "1h", "6h"].map((w) => `meridian:mesh_handshake:error_ratio_${w}`));
    const fast = group.rules.find((r) => isAlert(r) && r.alert === "SLOBurnFast_mesh-handshake") as AlertRule;
    expect(fast.expr).toBe("meridian:mesh_handshake:error_ratio_1h > (14.4 * 0.000500) and meridian:mesh_handshake:error_ratio_5m > (14.4 * 0.000500)");
  });

  it("every window placeholder is replaced in every recorded ratio (the mesh SLO's ratio has two)", () => {
    for (const g of pkiRuleGroups(prod)) for (const r of g.rules) expect(r.expr, "alert" in r ? r.alert : r.record).not.toContain("[W]");
    const group = pkiRuleGroups(prod).find((g) => g.name === "meridian-slo-mesh-handshake")!;
    const sixHours = group.rules.find((r) => "record" in r && r.record.endsWith("_6h"))!;
    expect(sixHours.expr).toBe("sum(rate(envoy_listener_ssl_connection_error[6h])) / sum(rate(envoy_listener_downstream_cx_total[6h]))");
  });

  it("every alert has a severity, a for-duration and a summary; names are unique", () => {
    const all = alerts(prod);
    expect(new Set(all.map((a) => a.alert)).size).toBe(all.length);
    for (const a of all) {
      expect(a.for).toMatch(/^\d+[mh]$/);
      expect(a.summary.length).toBeGreaterThan(10);
    }
  });
});
