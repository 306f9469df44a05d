// spire-attested-agent-tpm-access: a spire release whose agents attest with meridian_attest through the node's TPM
// device is refused unless a generic-device-plugin DaemonSet on the same cluster advertises that device under a
// resource the agent requests, or the agent is privileged; releases on k8s_psat, a simulator TCTI, a matching
// plugin (JSON or YAML --device, default or explicit --domain) and a privileged agent pass.
import { describe, expect, it } from "vitest";
import * as k8s from "@pulumi/kubernetes";
import type * as pulumi from "@pulumi/pulumi";
import { messages, refusals } from "./refuse.js";

const RULE = "spire-attested-agent-tpm-access";
const attestor = (tcti = "device:/dev/tpmrm0") => ({ nodeAttestor: { meridian_attest: { plugin_cmd: "/p/agent", plugin_checksum: "a".repeat(64), plugin_data: { tcti } } } });

function spire(name: string, agent: Record<string, unknown>, opts: pulumi.CustomResourceOptions = {}) {
  return new k8s.helm.v3.Release(name, { chart: "spire", version: "0.27.0", namespace: "spire-system", values: { "spire-agent": agent } }, opts);
}

function devicePlugin(name: string, args: string[], opts: pulumi.CustomResourceOptions = {}) {
  const labels = { app: name };
  return new k8s.apps.v1.DaemonSet(
    name,
    {
      metadata: { name, namespace: "meridian-tpm-devices" },
      spec: { selector: { matchLabels: labels }, template: { metadata: { labels }, spec: { containers: [{ name, image: `ghcr.io/squat/generic-device-plugin@sha256:${"d".repeat(64)}`, args }] } } },
    },
    opts,
  );
}
const TPM_JSON = JSON.stringify({ name: "tpmrm", groups: [{ count: 1, paths: [{ path: "/dev/tpmrm0" }] }] });

describe(RULE, () => {
  it("refuses an attesting agent with no device resource and no privilege; passes one on k8s_psat or a simulator", async () => {
    const v = await refusals(() => {
      spire("bare", { customPlugins: attestor() });
      spire("psat", {});
      spire("simulated", { customPlugins: attestor("swtpm:host=127.0.0.1,port=2321") });
    });
    expect(v.filter((x) => x.rule === RULE).map((x) => x.name)).toEqual(["bare"]);
    expect(messages(v, RULE)[0]).toMatch(
      /^bare: SPIRE's agent attests with meridian_attest through device:\/dev\/tpmrm0, but requests no device resource and is not privileged: .*refuses open\(\/dev\/tpmrm0\)/,
    );
  });

  it("passes an agent requesting the resource a device plugin advertises with its device (JSON --device, default domain), or a privileged one", async () => {
    const v = await refusals(() => {
      devicePlugin("gdp", ["--device", TPM_JSON]);
      spire("requested", { customPlugins: attestor(), resources: { limits: { "squat.ai/tpmrm": 1 } } });
      spire("privileged", { customPlugins: attestor(), securityContext: { privileged: true } });
    });
    expect(messages(v, RULE)).toEqual([]);
  });

  it("reads the plugin's YAML --device form and --domain=, as upstream's manifest writes them", async () => {
    const v = await refusals(() => {
      devicePlugin("gdp", ["--domain=example.com", "--device", "name: tpm\ngroups:\n  - paths:\n      - path: /dev/tpmrm0\n"]);
      spire("right-domain", { customPlugins: attestor(), resources: { limits: { "example.com/tpm": 1 } } });
      spire("default-domain", { customPlugins: attestor(), resources: { limits: { "squat.ai/tpm": 1 } } });
    });
    expect(v.filter((x) => x.rule === RULE).map((x) => x.name)).toEqual(["default-domain"]);
    expect(messages(v, RULE)[0]).toMatch(/requests squat\.ai\/tpm, which no generic-device-plugin DaemonSet on this cluster advertises with \/dev\/tpmrm0 \(advertised: example\.com\/tpm\)/);
  });

  it("refuses a request for a resource advertised with another device, or only on another cluster", async () => {
    const v = await refusals(() => {
      const east = new k8s.Provider("east", { kubeconfig: "east" });
      const west = new k8s.Provider("west", { kubeconfig: "west" });
      devicePlugin("gdp-east", ["--device", JSON.stringify({ name: "tpmrm", groups: [{ paths: [{ path: "/dev/tpm0" }] }] })], { provider: east });
      devicePlugin("gdp-west", ["--device", TPM_JSON], { provider: west });
      spire("east-wrong-device", { customPlugins: attestor(), resources: { limits: { "squat.ai/tpmrm": 1 } } }, { provider: east });
      spire("west-ok", { customPlugins: attestor(), resources: { limits: { "squat.ai/tpmrm": 1 } } }, { provider: west });
      spire("nowhere", { customPlugins: attestor(), resources: { limits: { "squat.ai/tpmrm": 1 } } });
    });
    expect(
      v
        .filter((x) => x.rule === RULE)
        .map((x) => x.name)
        .sort(),
    ).toEqual(["east-wrong-device", "nowhere"]);
  });
});
