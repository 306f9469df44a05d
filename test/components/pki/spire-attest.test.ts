// SPIRE admission by attestation in the plan (components/pki/spire-attest.ts): with endorsed TPM nodes, the spire
// release's values (checked against the pinned chart's keys and spire-agent schema, and the `fail`s its configmap
// templates apply to customPlugins and node attestors) swap k8s_psat for the meridian_attest plugin on server and
// agents; workloads become ClusterStaticEntries (valid against the vendored CRD) under a node alias whose selectors
// a genuine node's verifier answer satisfies and another reference's does not. Without endorsed nodes, unchanged.
import { beforeAll, describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { evaluateStack, byName, ofType, type Plan, type RecordedResource } from "../../harness.js";
import { podSecurityViolations, type PodSpecLike } from "../../../model/security/pod-security.js";
import { CHARTS } from "../../../components/pki/charts.js";
import { loadStack } from "../../../stacks/load.js";
import { ManualClock } from "../../../runtime/common/clock.js";
import { spireAgentAttributes, verifyAttestation, type NonceStore } from "../../../runtime/attest/index.js";
import { generateKey } from "../../../runtime/prooflog/index.js";
import { pinnedChart } from "./pinned-charts.js";
import { crdProblems } from "./crd-schemas.js";
import { spirePluginChecksums } from "../../../policies/rules/spire-plugins.js";
import { parsePackConfig } from "../../../policies/config.js";

const tpmData = (f: string) => readFileSync(new URL(`../../testdata/attest/${f}`, import.meta.url));
// The vendored swtpm quote's PCR 16 (test/testdata/attest/README.md).
const PCR16 = "9ef814b42fa0be12d197c44d3e8e03441a4b1118237658368ba1351090e556ed";
const NODES = {
  "node-1": { ak: tpmData("ak.pem").toString(), reference: { sha256: { "16": PCR16.toUpperCase() } } },
  "node-2": { ak: tpmData("ak-ecc.pem").toString(), reference: { sha256: { "0": "00".repeat(32), "16": "11".repeat(32) } } },
};
// What an operator copies from the pinned runtime image's /app/spire-plugins/SHA256SUMS.
const CHECKSUMS = { server: "7e08b5778af5d52715fe8022203e47218b91ce44350a8eadb729a16279c1ba95", agent: "6b252c82def3e5163b1070cf2223b563d31914ed9fbb61d6ad49675fb17c8075" };
type Values = Record<string, Record<string, unknown>>;
interface Plugin {
  plugin_cmd: string;
  plugin_checksum: string;
  plugin_data: Record<string, unknown>;
}
interface Entry {
  spec: { spiffeID: string; parentID: string; selectors: string[]; className: string; dnsNames?: string[] };
}

let plan: Plan;
let plain: Plan;
beforeAll(async () => {
  const runtime = loadStack("dev").runtime as Record<string, unknown>;
  // One at a time: the mock runtime is process-wide.
  plan = await evaluateStack("dev", { areas: ["pki"], configOverrides: { "meridian:runtime": { ...runtime, attest: { nodes: NODES, pluginChecksums: CHECKSUMS, tpmGroup: 59 } } } });
  plain = await evaluateStack("dev", { areas: ["pki"] });
}, 120_000);

const spireValues = (p: Plan): Values => ofType(p, "kubernetes:helm.sh/v3:Release").find((r) => r.name.endsWith("-spire"))!.inputs["values"] as Values;
const entries = (p: Plan) => ofType(p, "kubernetes:spire.spiffe.io/v1alpha1:ClusterStaticEntry");

/** The checks spire 0.27's server and agent configmap templates `fail` on (customPlugins shape, one agent attestor). */
function chartFails(values: Values): string[] {
  const out: string[] = [];
  for (const [sub, types] of [
    ["spire-server", ["bundlePublisher", "credentialComposer", "keyManager", "nodeAttestor", "upstreamAuthority", "notifier"]],
    ["spire-agent", ["keyManager", "nodeAttestor", "svidStore", "workloadAttestor"]],
  ] as const) {
    for (const [type, plugins] of Object.entries((values[sub]!["customPlugins"] ?? {}) as Record<string, Record<string, Record<string, unknown>>>)) {
      if (!(types as readonly string[]).includes(type)) out.push(`${sub}: Unknown plugin type specified: ${type}`);
      for (const [name, p] of Object.entries(plugins)) {
        if (!("plugin_cmd" in p)) out.push(`${sub}: plugin_cmd is a required field. ${name}`);
        if (!("plugin_checksum" in p)) out.push(`${sub}: plugin_checksum is a required field.`);
        for (const k of Object.keys(p)) if (!["plugin_cmd", "plugin_checksum", "plugin_data"].includes(k)) out.push(`${sub}: Unknown plugin setting specified: ${k}`);
      }
    }
  }
  const agent = values["spire-agent"]! as { customPlugins?: { nodeAttestor?: object }; nodeAttestor?: { k8sPSAT?: { enabled?: boolean } } };
  const used = Object.keys(agent.customPlugins?.nodeAttestor ?? {}).length + (agent.nodeAttestor?.k8sPSAT?.enabled === false ? 0 : 1);
  if (used !== 1) out.push(`You have to enable exactly one Node Attestor. There are ${used} enabled.`);
  return out;
}

describe("SPIRE admission by attestation (meridian_attest) in the dev plan", () => {
  it("replaces k8s_psat with the meridian_attest plugin on server and agents, in values the pinned chart accepts", () => {
    const values = spireValues(plan);
    expect(pinnedChart(CHARTS.spire.repo, "spire", "0.27.0")!.problems(values)).toEqual([]);
    expect(chartFails(values)).toEqual([]);
    const server = values["spire-server"] as { nodeAttestor: object; customPlugins: { nodeAttestor: Record<string, Plugin> }; initContainers: { image: string; command: string[] }[] };
    const agent = values["spire-agent"] as { nodeAttestor: object; customPlugins: { nodeAttestor: Record<string, Plugin> }; extraEnvVars: object[] };
    expect(server.nodeAttestor).toEqual({ k8sPSAT: { enabled: false } });
    expect(agent.nodeAttestor).toEqual({ k8sPSAT: { enabled: false } });
    expect(Object.keys(server.customPlugins.nodeAttestor)).toEqual(["meridian_attest"]);
    expect(server.customPlugins.nodeAttestor["meridian_attest"]!.plugin_data).toEqual({
      verifier_url: "https://attest.meridian.svc.cluster.local:8080",
      ca_bundle_path: "/run/meridian/spire-attest-tls/ca.crt",
      client_cert_path: "/run/meridian/spire-attest-tls/tls.crt",
      client_key_path: "/run/meridian/spire-attest-tls/tls.key",
      verifier_spiffe_id: "spiffe://dev.meridian.internal/ns/meridian/sa/attest",
    });
    // The agent quotes every PCR some endorsed reference names, as tpm2_quote -l takes them.
    expect(agent.customPlugins.nodeAttestor["meridian_attest"]!.plugin_data).toEqual({
      node_env: "MERIDIAN_NODE_NAME",
      ak_context: "0x81010002",
      pcr_list: "sha256:0,16",
      tcti: "device:/dev/tpmrm0",
      // tpm2_quote with its own loader and libraries: the spire-agent image has neither (tpm2-closure.sh).
      tpm2_tools_dir: "/run/meridian/spire-plugins/tpm2",
    });
    // SPIRE checks each binary's SHA-256 against the stack's pinned sums before starting it.
    expect(server.customPlugins.nodeAttestor["meridian_attest"]!.plugin_checksum).toBe(CHECKSUMS.server);
    expect(agent.customPlugins.nodeAttestor["meridian_attest"]!.plugin_checksum).toBe(CHECKSUMS.agent);
    expect(agent.extraEnvVars).toEqual([{ name: "MERIDIAN_NODE_NAME", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }]);
    // The binary comes from the runtime image by digest, copied into the volume plugin_cmd names.
    expect(server.initContainers[0]!.image).toMatch(/@sha256:[0-9a-f]{64}$/);
    expect(server.initContainers[0]!.command).toEqual(["cp", "-R", "/app/spire-plugins/meridian_attest", "/run/meridian/spire-plugins/"]);
    expect(server.customPlugins.nodeAttestor["meridian_attest"]!.plugin_cmd).toBe("/run/meridian/spire-plugins/meridian_attest");
    // The agent pod gets the plugin and the tpm2-tools bundle the image's spire-plugins stage made, and the node's TPM
    // through the device plugin's resource (no hostPath: a mounted device node is not an openable one).
    const agentPod = values["spire-agent"] as unknown as {
      initContainers: { command: string[]; volumeMounts: { name: string; mountPath: string }[] }[];
      extraVolumes: { name: string; hostPath?: { path: string; type: string } }[];
      extraVolumeMounts: { name: string; mountPath: string }[];
      resources: { limits: Record<string, number> };
      podSecurityContext: { supplementalGroups: number[] };
      securityContext?: { privileged?: boolean };
    };
    expect(agentPod.initContainers[0]!.command).toEqual(["cp", "-R", "/app/spire-plugins/meridian_attest_agent", "/app/spire-plugins/tpm2", "/run/meridian/spire-plugins/"]);
    expect(agentPod.extraVolumeMounts.map((m) => m.mountPath)).toEqual(["/run/meridian/spire-plugins"]);
    expect(agentPod.extraVolumes.filter((v) => v.hostPath)).toEqual([]);
    expect(agentPod.resources).toEqual({ limits: { "squat.ai/tpmrm": 1 } });
    expect(agentPod.securityContext?.privileged).toBeUndefined();
    // The stack's tss GID, for the device's 0660 root:tss mode; the chart's recommended 1000:1000 user stays.
    expect(agentPod.podSecurityContext).toEqual({ supplementalGroups: [59] });
    const dockerfile = readFileSync(new URL("../../../Dockerfile", import.meta.url), "utf8");
    expect(dockerfile).toMatch(/tpm2-closure\.sh \/out\/tpm2\n/);
    expect(dockerfile).toMatch(/COPY --from=spire-plugins \/out\/tpm2 \.\/spire-plugins\/tpm2\n/);
  });

  it("gives the server plugin a client certificate with the identity the verifier admits, issued only as approver-policy allows", () => {
    const region = (plan.outputs["regions"] as string[])[0]!;
    const server = spireValues(plan)["spire-server"] as {
      extraVolumes: { name: string; secret?: { secretName: string } }[];
      extraVolumeMounts: { name: string; mountPath: string; readOnly: boolean }[];
      customPlugins: { nodeAttestor: Record<string, Plugin> };
    };
    const data = server.customPlugins.nodeAttestor["meridian_attest"]!.plugin_data as Record<string, string>;
    // The Secret cert-manager writes is mounted where plugin_data reads the certificate, key and CA.
    const certificate = byName(plan, "kubernetes:cert-manager.io/v1:Certificate", `${region}-meridian-spire-attest-client`).inputs as {
      metadata: { namespace: string };
      spec: { secretName: string; uris: string[]; usages: string[]; duration: string; issuerRef: { name: string }; privateKey: { algorithm: string; size: number } };
    };
    const volume = server.extraVolumes.find((v) => v.secret?.secretName === certificate.spec.secretName)!;
    const mount = server.extraVolumeMounts.find((m) => m.name === volume.name)!;
    expect(mount.readOnly).toBe(true);
    for (const [k, file] of [
      ["ca_bundle_path", "ca.crt"],
      ["client_cert_path", "tls.crt"],
      ["client_key_path", "tls.key"],
    ] as const)
      expect(data[k]).toBe(`${mount.mountPath}/${file}`);
    expect(certificate.metadata.namespace).toBe("spire-system");
    expect(certificate.spec).toMatchObject({ uris: ["spiffe://dev.meridian.internal/spire/server"], usages: ["client auth", "digital signature"], issuerRef: { name: "meridian-intermediate" } });

    // The mesh admits exactly that ID to the verifier (its sidecar's AuthorizationPolicy) ...
    const ap = byName(plan, "kubernetes:security.istio.io/v1:AuthorizationPolicy", `${region}-meridian-authorizationpolicy-attest-callers`).inputs["spec"] as {
      rules: { from: { source: { principals: string[] } }[]; to: { operation: { notPaths?: string[] } }[] }[];
    };
    const principal = certificate.spec.uris[0]!.replace(/^spiffe:\/\//, "");
    expect(ap.rules.find((r) => r.from[0]!.source.principals.includes(principal))!.to[0]!.operation.notPaths).toEqual(["/v1/attest/revoke"]);

    // ... and approver-policy signs it: the one policy the controller may use for it allows every field it asks for.
    const policy = byName(plan, "kubernetes:policy.cert-manager.io/v1alpha1:CertificateRequestPolicy", `${region}-crp-meridian-spire-attest-client`).inputs as unknown as {
      apiVersion: string;
      kind: string;
      spec: {
        allowed: { uris: { values: string[] }; usages: string[] };
        constraints: { maxDuration: string; privateKey: { algorithm: string; minSize: number; maxSize: number } };
        selector: { issuerRef: { name: string }; namespace: { matchNames: string[] } };
      };
    };
    expect(crdProblems(policy)).toEqual([]);
    expect(policy.spec.allowed.uris.values).toEqual(certificate.spec.uris);
    expect(certificate.spec.usages.every((u) => policy.spec.allowed.usages.includes(u))).toBe(true);
    expect(policy.spec.selector).toMatchObject({ issuerRef: { name: certificate.spec.issuerRef.name }, namespace: { matchNames: [certificate.metadata.namespace] } });
    const hours = (d: string) => Number(/^(\d+)h$/.exec(d)![1]);
    expect(hours(certificate.spec.duration)).toBeLessThanOrEqual(hours(policy.spec.constraints.maxDuration));
    expect(certificate.spec.privateKey).toEqual({ algorithm: policy.spec.constraints.privateKey.algorithm, size: policy.spec.constraints.privateKey.minSize, rotationPolicy: "Always" });
  });

  it("registers workloads as ClusterStaticEntries under a node alias only a genuine node's verifier answer reaches", async () => {
    const all = entries(plan);
    for (const e of all) expect(crdProblems(e.inputs as unknown as { apiVersion: string; kind: string }), e.name).toEqual([]);
    expect(ofType(plan, "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID")).toEqual([]);
    const region = (plan.outputs["regions"] as string[])[0]!;
    const alias = `spiffe://dev.meridian.internal/meridian/attested-node/${region}`;
    const aliases = all.filter((e) => e.name.startsWith(`${region}-meridian-attested-node-`)).map((e) => e.inputs as unknown as Entry);
    expect(aliases.map((a) => a.spec.spiffeID)).toEqual([alias, alias]);
    const escrow = byName(plan, "kubernetes:spire.spiffe.io/v1alpha1:ClusterStaticEntry", `${region}-spiffeid-escrow`).inputs as unknown as Entry;
    expect(escrow.spec).toMatchObject({ spiffeID: "spiffe://dev.meridian.internal/ns/meridian/sa/escrow", parentID: alias, className: "meridian-spire" });
    expect(escrow.spec.selectors).toEqual(expect.arrayContaining(["k8s:ns:meridian", "k8s:sa:escrow"]));

    // SPIRE admits an agent to an alias when the entry's selectors are a subset of the agent's (type-prefixed).
    const clock = new ManualClock(Date.parse("2026-12-03T12:00:00Z"));
    const keys = generateKey("spire-attest-plan");
    const nonces: NonceStore = { issue: () => ({ nonce: "", expiresAt: 0 }), consume: () => ({ ok: true }) };
    const evidence = { message: tpmData("quote.msg"), signature: tpmData("quote.sig"), pcrs: tpmData("quote.pcrs") };
    const { note } = await verifyAttestation(
      { evidence, ak: NODES["node-1"].ak, nonce: "0011223344556677", reference: { sha256: { "16": PCR16 } }, node: "node-1" },
      { nonces, signerKey: keys.signerKey, clock },
    );
    const attrs = spireAgentAttributes(note, { verifierKey: keys.verifierKey, now: clock.now(), maxAgeMs: 600_000, node: "node-1", trustDomain: "dev.meridian.internal" });
    if ("refused" in attrs) throw new Error(attrs.refused);
    const agentSelectors = new Set(attrs.selector_values.map((v) => `meridian_attest:${v}`));
    const reaches = (a: Entry) => a.spec.selectors.every((s) => agentSelectors.has(s));
    expect(aliases.map(reaches)).toEqual([true, false]);
  });

  it("the policy pack refuses a spire release loading the plugins without their checksums: SPIRE would run any binary the image carries", async () => {
    const releases = (p: Plan) => ofType(p, "kubernetes:helm.sh/v3:Release").map((r) => ({ type: r.type, name: r.name, props: r.inputs }));
    const findings = (p: Plan) => releases(p).flatMap((r) => spirePluginChecksums.check(r, parsePackConfig({})));
    expect(findings(plan)).toEqual([]);
    expect(findings(plain)).toEqual([]);
    const runtime = loadStack("dev").runtime as Record<string, unknown>;
    const unpinned = await evaluateStack("dev", { areas: ["pki"], configOverrides: { "meridian:runtime": { ...runtime, attest: { nodes: NODES } } } });
    const found = findings(unpinned);
    expect(found.length).toBe(2 * (unpinned.outputs["regions"] as string[]).length);
    expect(found[0]).toMatch(/^spire-server nodeAttestor plugin meridian_attest has plugin_checksum "": .*pluginChecksums/);
    expect(found[1]).toMatch(/^spire-agent nodeAttestor plugin meridian_attest has plugin_checksum ""/);
  }, 120_000);

  it("leaves a stack without endorsed nodes on k8s_psat with ClusterSPIFFEIDs", () => {
    const values = spireValues(plain);
    expect(values["spire-server"]!["customPlugins"]).toBeUndefined();
    expect(values["spire-agent"]!["nodeAttestor"]).toBeUndefined();
    expect(entries(plain)).toEqual([]);
    expect(ofType(plain, "kubernetes:cert-manager.io/v1:Certificate").filter((c) => c.name.endsWith("spire-attest-client"))).toEqual([]);
    expect(ofType(plain, "kubernetes:policy.cert-manager.io/v1alpha1:CertificateRequestPolicy").filter((c) => c.name.endsWith("spire-attest-client"))).toEqual([]);
    expect(ofType(plain, "kubernetes:spire.spiffe.io/v1alpha1:ClusterSPIFFEID").length).toBeGreaterThan(0);
  });
});

// The TPM device plugin (components/pki/spire-tpm-device.ts) that lets the agent open the node's TPM: one per
// regional cluster in its own namespace, exactly the flags squat/generic-device-plugin documents, pinned by the
// stack's digest, admitted by the namespace's Pod Security level, with no token, no capability and no traffic.
describe("the TPM device plugin beside attested SPIRE admission", () => {
  const daemonSets = (p: Plan) => ofType(p, "kubernetes:apps/v1:DaemonSet").filter((d) => d.name.endsWith("-tpm-device-plugin"));
  type Pod = PodSpecLike & { serviceAccountName: string; automountServiceAccountToken: boolean; containers: { image: string; args: string[] }[] };
  const pod = (d: RecordedResource) => (d.inputs["spec"] as { template: { spec: Pod } }).template.spec;

  it("runs one per regional cluster, advertising /dev/tpmrm0 as squat.ai/tpmrm once per node, by digest", () => {
    const regions = plan.outputs["regions"] as string[];
    const ds = daemonSets(plan);
    expect(ds.map((d) => d.name).sort()).toEqual(regions.map((r) => `${r}-tpm-device-plugin`).sort());
    expect(new Set(ds.map((d) => d.provider)).size).toBe(regions.length);
    const c = pod(ds[0]!).containers[0]!;
    // The stack's digest for the tag (stacks/Pulumi.dev.yaml), never the moving tag.
    expect(c.image).toBe(`ghcr.io/squat/generic-device-plugin@${loadStack("dev").imageDigests["ghcr.io/squat/generic-device-plugin:latest"]}`);
    expect(c.args[0]).toBe("--device");
    expect(JSON.parse(c.args[1]!)).toEqual({ name: "tpmrm", groups: [{ count: 1, paths: [{ path: "/dev/tpmrm0" }] }] });
    expect(c.args.slice(2)).toEqual(["--domain=squat.ai", "--listen=127.0.0.1:8080", "--plugin-directory=/var/lib/kubelet/device-plugins/"]);
    // The agent's request names exactly the resource the plugin advertises: <domain>/<name>.
    expect(Object.keys((spireValues(plan)["spire-agent"] as { resources: { limits: object } }).resources.limits)).toEqual(["squat.ai/tpmrm"]);
  });

  it("is admitted at its namespace's level (privileged, for the host paths), not privileged itself, and audited at restricted", () => {
    const d = daemonSets(plan)[0]!;
    const ns = ofType(plan, "kubernetes:core/v1:Namespace").find((n) => n.provider === d.provider && (n.inputs["metadata"] as { name: string }).name === "meridian-tpm-devices")!;
    const labels = (ns.inputs["metadata"] as { labels: Record<string, string> }).labels;
    expect(labels["pod-security.kubernetes.io/enforce"]).toBe("privileged");
    expect(labels["pod-security.kubernetes.io/audit"]).toBe("restricted");
    expect(labels["istio-injection"]).toBe("disabled");
    const spec = pod(d);
    expect(podSecurityViolations("privileged", spec)).toEqual([]);
    // What audit reports at restricted: the host paths and root, nothing about privilege or capabilities.
    const restricted = podSecurityViolations("restricted", spec).join("\n");
    expect(restricted).toMatch(/hostPath/);
    expect(restricted).not.toMatch(/privileged|capabilit/i);
    const sc = spec.containers[0]!.securityContext;
    expect(sc).toMatchObject({ privileged: false, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ["ALL"] } });
    expect(spec.automountServiceAccountToken).toBe(false);
    const sa = ofType(plan, "kubernetes:core/v1:ServiceAccount").find((s) => s.provider === d.provider && (s.inputs["metadata"] as { name: string }).name === spec.serviceAccountName)!;
    expect(sa.inputs["automountServiceAccountToken"]).toBe(false);
    // No RBAC: the plugin talks to the kubelet's socket only.
    const bound = [...ofType(plan, "kubernetes:rbac.authorization.k8s.io/v1:RoleBinding"), ...ofType(plan, "kubernetes:rbac.authorization.k8s.io/v1:ClusterRoleBinding")];
    expect(bound.filter((b) => JSON.stringify(b.inputs["subjects"] ?? []).includes("meridian-tpm-devices"))).toEqual([]);
  });

  it("denies all traffic in its namespace, and SPIRE's release waits for it", () => {
    const d = daemonSets(plan)[0]!;
    const np = ofType(plan, "kubernetes:networking.k8s.io/v1:NetworkPolicy").filter(
      (n) => n.provider === d.provider && (n.inputs["metadata"] as { namespace: string }).namespace === "meridian-tpm-devices",
    );
    expect(np.map((n) => n.inputs["spec"])).toEqual([{ podSelector: {}, policyTypes: ["Ingress", "Egress"] }]);
    const release = ofType(plan, "kubernetes:helm.sh/v3:Release").find((r) => r.provider === d.provider && r.name.endsWith("-spire"))!;
    expect(release.dependencies).toContain(d.urn);
  });

  it("is absent, with its namespace, where SPIRE admits nodes by k8s_psat", () => {
    expect(daemonSets(plain)).toEqual([]);
    expect(ofType(plain, "kubernetes:core/v1:Namespace").filter((n) => (n.inputs["metadata"] as { name: string }).name === "meridian-tpm-devices")).toEqual([]);
    expect((spireValues(plain)["spire-agent"] as { resources?: object }).resources).toBeUndefined();
  });
});
