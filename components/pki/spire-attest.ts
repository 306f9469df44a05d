/**
 * SPIRE admission by attestation (#22): when the stack endorses TPM nodes (`runtime.attest.nodes`), SPIRE's agents
 * attest with Meridian's `meridian_attest` NodeAttestor (runtime/attest/spire-plugin) instead of k8s_psat, on the
 * server and on every agent, so a node the region's verifier refuses gets no agent SVID and no workload on it gets
 * one. Without endorsed nodes nothing changes: every agent would be refused.
 *
 * The pinned chart (spire 0.27) takes external plugins as `customPlugins.nodeAttestor.<name>` with
 * `plugin_cmd`, `plugin_checksum`, `plugin_data`; the binaries come from the Meridian runtime image through an init
 * container into an emptyDir, as the chart does for its own tpmDirect plugin. SPIRE checks an agent ID is under
 * `/spire/agent/meridian_attest/`, and spire-controller-manager parents the entries a ClusterSPIFFEID makes under
 * `/spire/agent/k8s_psat/<cluster>/<node UID>`, which no agent then has: so workloads are registered as
 * ClusterStaticEntries under a node alias that only agents with an endorsed node's `meridian_attest` selectors
 * (its node ID and reference PCR values) belong to.
 *
 * The verifier sits behind its sidecar with STRICT mTLS and admits only the SPIRE server's SPIFFE ID (Istio's
 * AuthorizationPolicy, then the kit's `callers`). The server's own SVID never leaves SPIRE, and an SVID fetched from
 * an agent would be circular (agents exist only once attestation works), so cert-manager issues the plugin a client
 * certificate with that ID from the region's intermediate — SPIRE's upstream authority, hence inside the trust
 * bundle every sidecar verifies against — renewed in place (the plugin reads it at every handshake). The plugin
 * verifies the verifier's SVID against the same chain and by its SPIFFE ID.
 */
import { NAMESPACES, type EstateSpec, type Region } from "../../model/estate.js";
import { INTERMEDIATE_ISSUER } from "../../model/rotation/issuers.js";
import { callerSpiffeId, runtimeService, serviceHost, spiffeId, SPIRE_SERVER_IDENTITY } from "../../model/services.js";
import type { CustomResourceShape } from "./charts.js";
import type { SpiffeWorkload } from "./spire.js";
import { TPM_DEVICE, TPM_RESOURCE } from "./spire-tpm-device.js";

/** The plugin name: SPIRE's selector type and agent path segment (runtime/attest/spire.ts answers with it). */
const ATTEST_PLUGIN = "meridian_attest";
/** Where the runtime image carries the plugin binaries (runtime/attest/spire-plugin/build.sh's bin/). */
const PLUGIN_IMAGE_DIR = "/app/spire-plugins";
/** The emptyDir the init container copies them into, mounted read-only in the SPIRE containers. */
const PLUGIN_DIR = "/run/meridian/spire-plugins";
const PLUGIN_VOLUME = "meridian-spire-plugins";
/** The persistent handle node provisioning makes the AK at (`tpm2_evictcontrol -C o -c ak.ctx 0x81010002`). */
const AK_HANDLE = "0x81010002";
/** The agent's node name, from the downward API: the verifier's node IDs are the Kubernetes node names. */
const NODE_ENV = "MERIDIAN_NODE_NAME";
/** The Certificate (and its Secret: tls.crt, tls.key, ca.crt) the server plugin presents to the verifier. */
export const ATTEST_CLIENT_CERTIFICATE = "meridian-spire-attest-client";
/** Its lifetime and renewal: an SVID-like short life; approver-policy allows no longer. */
export const ATTEST_CLIENT_TTL = "24h";
const ATTEST_CLIENT_RENEW_BEFORE = "8h";
const CLIENT_TLS_DIR = "/run/meridian/spire-attest-tls";
const CLIENT_TLS_VOLUME = "meridian-spire-attest-tls";

/** The SPIFFE ID the verifier admits: the SPIRE server's (model/services.ts catalogues it as attest's only caller). */
export function spireServerSpiffeId(spec: EstateSpec): string {
  return callerSpiffeId(spec.pki.trustDomain, { spire: SPIRE_SERVER_IDENTITY, description: "the region's SPIRE server" });
}

/** The client certificate cert-manager keeps for the server plugin in SPIRE's namespace. */
export function attestClientCertificate(spec: EstateSpec, region: Region): CustomResourceShape {
  return {
    apiVersion: "cert-manager.io/v1",
    kind: "Certificate",
    metadata: { name: ATTEST_CLIENT_CERTIFICATE, namespace: NAMESPACES.spire, labels: { "meridian.dev/region": region.id } },
    spec: {
      secretName: ATTEST_CLIENT_CERTIFICATE,
      uris: [spireServerSpiffeId(spec)],
      duration: ATTEST_CLIENT_TTL,
      renewBefore: ATTEST_CLIENT_RENEW_BEFORE,
      privateKey: { algorithm: "ECDSA", size: 256, rotationPolicy: "Always" },
      usages: ["client auth", "digital signature"],
      issuerRef: { name: INTERMEDIATE_ISSUER, kind: "ClusterIssuer", group: "cert-manager.io" },
    },
  };
}

export function attestedAdmission(spec: EstateSpec): boolean {
  return Object.keys(spec.runtime.attest.nodes).length > 0;
}

/**
 * tpm2_quote and tpm2_flushcontext with their own loader and libraries (runtime/attest/spire-plugin/tpm2-closure.sh,
 * in the image beside the plugins): the spire-agent image has no libc or tpm2-tools, and Debian packages no Go TPM
 * library the plugin could quote with natively.
 */
const TPM2_DIR = "tpm2";

/** An init container copying files (a binary, a directory) from the runtime image into the shared plugin volume. */
function delivery(spec: EstateSpec, binary: string, ...more: string[]) {
  return {
    initContainers: [
      {
        name: "meridian-attest-plugin",
        image: spec.runtime.image,
        command: ["cp", "-R", ...[binary, ...more].map((f) => `${PLUGIN_IMAGE_DIR}/${f}`), `${PLUGIN_DIR}/`],
        securityContext: { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ["ALL"] } },
        volumeMounts: [{ name: PLUGIN_VOLUME, mountPath: PLUGIN_DIR }],
      },
    ],
    extraVolumes: [{ name: PLUGIN_VOLUME, emptyDir: {} }],
    extraVolumeMounts: [{ name: PLUGIN_VOLUME, mountPath: PLUGIN_DIR, readOnly: true }],
  };
}

/**
 * The plugin entry. `plugin_checksum` is the stack's (`runtime.attest.pluginChecksums`, from the pinned image's
 * SHA256SUMS): SPIRE refuses to start a binary with another SHA-256, so an image that is not the one the checksums
 * were taken from fails closed instead of admitting nodes with other code.
 */
function plugin(binary: string, checksum: string | undefined, data: Record<string, unknown>) {
  // Missing, it renders empty, as SPIRE reads "unchecked"; the policy pack refuses that (meridian-spire-plugin-checksum).
  return { nodeAttestor: { [ATTEST_PLUGIN]: { plugin_cmd: `${PLUGIN_DIR}/${binary}`, plugin_checksum: checksum ?? "", plugin_data: data } } };
}

/** The PCR banks and indices every endorsed node's reference names: what the agent quotes (`tpm2_quote -l`). */
function quotedPcrs(spec: EstateSpec): string {
  const indices = new Set<number>();
  for (const n of Object.values(spec.runtime.attest.nodes)) for (const i of Object.keys(n.reference.sha256 ?? {})) indices.add(Number(i));
  if (indices.size === 0) throw new Error("runtime.attest.nodes: SPIRE admission quotes sha256 PCRs; no endorsed node's reference names one");
  return `sha256:${[...indices].sort((a, b) => a - b).join(",")}`;
}

/** The chart values admission adds to spire-server and spire-agent. */
export function attestValues(spec: EstateSpec): { server: Record<string, unknown>; agent: Record<string, unknown> } {
  const verifier = runtimeService("attest");
  const server = delivery(spec, "meridian_attest");
  const agent = delivery(spec, "meridian_attest_agent", TPM2_DIR);
  return {
    server: {
      nodeAttestor: { k8sPSAT: { enabled: false } },
      customPlugins: plugin("meridian_attest", spec.runtime.attest.pluginChecksums?.server, {
        verifier_url: `https://${serviceHost(verifier)}:${verifier.ports[0]!.port}`,
        // ca.crt: the top of the chain the intermediate ClusterIssuer signs with (the offline root, or the
        // intermediate itself); the verifier's SVID chains to it through SPIRE's CA, which that intermediate signs.
        ca_bundle_path: `${CLIENT_TLS_DIR}/ca.crt`,
        client_cert_path: `${CLIENT_TLS_DIR}/tls.crt`,
        client_key_path: `${CLIENT_TLS_DIR}/tls.key`,
        verifier_spiffe_id: spiffeId(spec.pki.trustDomain, verifier),
      }),
      ...server,
      extraVolumes: [...server.extraVolumes, { name: CLIENT_TLS_VOLUME, secret: { secretName: ATTEST_CLIENT_CERTIFICATE, defaultMode: 0o400 } }],
      extraVolumeMounts: [...server.extraVolumeMounts, { name: CLIENT_TLS_VOLUME, mountPath: CLIENT_TLS_DIR, readOnly: true }],
    },
    agent: {
      nodeAttestor: { k8sPSAT: { enabled: false } },
      customPlugins: plugin("meridian_attest_agent", spec.runtime.attest.pluginChecksums?.agent, {
        node_env: NODE_ENV,
        ak_context: AK_HANDLE,
        pcr_list: quotedPcrs(spec),
        tcti: `device:${TPM_DEVICE}`,
        tpm2_tools_dir: `${PLUGIN_DIR}/${TPM2_DIR}`,
      }),
      ...agent,
      // The node's TPM through the device plugin (spire-tpm-device.ts): the kubelet adds /dev/tpmrm0 and its device
      // cgroup rule to the container holding the resource. A hostPath mount would show the node, not let it open.
      resources: { limits: { [TPM_RESOURCE]: 1 } },
      // The chart's recommended pod context runs the agent as 1000:1000 (merged under these values); the device
      // keeps the node's owner and mode unless the runtime hands it to the pod's user.
      ...(spec.runtime.attest.tpmGroup !== undefined ? { podSecurityContext: { supplementalGroups: [spec.runtime.attest.tpmGroup] } } : {}),
      extraEnvVars: [{ name: NODE_ENV, valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
    },
  };
}

/** The node alias every admitted agent of the region belongs to; workloads are parented under it. */
function attestedNodeAlias(spec: EstateSpec, region: Region): string {
  return `spiffe://${spec.pki.trustDomain}/meridian/attested-node/${region.id}`;
}

/**
 * One alias entry per endorsed node: SPIRE puts an agent under the alias when the entry's selectors are a subset of
 * the agent's, here the node's ID and every reference PCR value the verifier answered with.
 */
export function nodeAliasEntries(spec: EstateSpec, region: Region, className: string): CustomResourceShape[] {
  return Object.entries(spec.runtime.attest.nodes).map(([node, n], i) => ({
    apiVersion: "spire.spiffe.io/v1alpha1",
    kind: "ClusterStaticEntry",
    metadata: { name: `meridian-attested-node-${i}` },
    spec: {
      className,
      spiffeID: attestedNodeAlias(spec, region),
      parentID: `spiffe://${spec.pki.trustDomain}/spire/server`,
      selectors: [
        `${ATTEST_PLUGIN}:node:${node}`,
        ...Object.entries(n.reference).flatMap(([bank, pcrs]) => Object.entries(pcrs ?? {}).map(([idx, v]) => `${ATTEST_PLUGIN}:pcr:${bank}:${idx}:${v.toLowerCase()}`)),
      ],
    },
  }));
}

/** A workload's registration under the alias: the same SPIFFE ID a ClusterSPIFFEID gives, by k8s workload selectors. */
export function attestedWorkloadEntry(spec: EstateSpec, region: Region, className: string, w: SpiffeWorkload): CustomResourceShape {
  return {
    apiVersion: "spire.spiffe.io/v1alpha1",
    kind: "ClusterStaticEntry",
    metadata: { name: `meridian-${w.name}` },
    spec: {
      className,
      spiffeID: spiffeId(spec.pki.trustDomain, w.identity),
      parentID: attestedNodeAlias(spec, region),
      selectors: [`k8s:ns:${w.identity.namespace}`, `k8s:sa:${w.identity.serviceAccount}`, ...Object.entries(w.selector).map(([k, v]) => `k8s:pod-label:${k}:${v}`)],
      x509SVIDTTL: spec.pki.svidTtl,
      ...(w.host ? { dnsNames: [w.host] } : {}),
    },
  };
}
