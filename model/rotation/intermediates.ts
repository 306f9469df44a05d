/**
 * Renewing the regional intermediates from the offline root: the ceremony per region, in the rotation plan's
 * wave order (canary first), with the gate each wave must pass before the next. cert-manager cannot renew an
 * intermediate (the root's key is offline), so these are operator steps, printed with this stack's names:
 *   online   make the region's new key and CSR;
 *   offline  sign the CSR with the root on the offline machine (constraints and lifetime from the stack);
 *   online   store chain and key in secret config, `pulumi up`, verify, then the next wave.
 * Old and new intermediates chain to the same root, so SVIDs from either verify during the switch; SPIRE takes
 * the new one at its next CA preparation. Pure: no clock, no I/O.
 */
import { NAMESPACES, type EstateSpec, type Region } from "../estate.js";
import { INTERMEDIATE_SECRETS } from "./alerts.js";
import { clusterFlag, fetchKubeconfig } from "./commands.js";
import { intermediateKeys, intermediateProfile, intermediateSecret } from "./issuers.js";
import { planRotation } from "./plan.js";

export interface CeremonyStep {
  where: "online" | "offline";
  command: string;
}

export interface RegionCeremony {
  region: string;
  steps: CeremonyStep[];
  /** After `pulumi up`: the region's Secret holds the new chain. */
  verify: string[];
}

export interface IntermediateWave {
  name: string;
  regions: RegionCeremony[];
  apply: string;
  gate: { name: string; check: string; pass: string }[];
}

export interface IntermediateRenewal {
  stack: string;
  /** When to start: renewBefore ahead of the earliest expiry (the IntermediateCaExpiring alert fires then). */
  renewBefore: string;
  waves: IntermediateWave[];
}

const dir = (region: Region) => `pki-${region.id}`;

export function regionCeremony(spec: EstateSpec, region: Region): RegionCeremony {
  const keys = intermediateKeys(region);
  const d = dir(region);
  const fetch = fetchKubeconfig(region);
  return {
    region: region.id,
    steps: [
      { where: "online", command: `npx meridian pki csr --stack ${spec.stack} --region ${region.id} --out ${d}` },
      {
        where: "offline",
        command: `npx meridian pki sign --stack ${spec.stack} --region ${region.id} --csr ${d}/intermediate.csr --root-cert root-ca.pem --root-key root-ca-key.pem > ${d}/intermediate-chain.pem`,
      },
      { where: "online", command: `pulumi config set --stack ${spec.stack} --secret meridian:${keys.cert} < ${d}/intermediate-chain.pem` },
      { where: "online", command: `pulumi config set --stack ${spec.stack} --secret meridian:${keys.key} < ${d}/intermediate-key.pem && shred -u ${d}/intermediate-key.pem` },
    ],
    verify: [
      ...(fetch ? [fetch] : []),
      `kubectl ${clusterFlag(region)} -n ${NAMESPACES.certManager} get secret ${intermediateSecret(region)} -o jsonpath='{.data.tls\\.crt}' | base64 -d | openssl x509 -noout -subject -enddate`,
    ],
  };
}

export function planIntermediateRenewal(spec: EstateSpec): IntermediateRenewal {
  const byId = new Map(spec.regions.map((r) => [r.id, r]));
  const waves = planRotation(spec, 0).waves.map((w): IntermediateWave => {
    const ids = w.regions.join("|");
    return {
      name: w.name,
      regions: w.regions.map((id) => regionCeremony(spec, byId.get(id) as Region)),
      apply: `pulumi up --stack ${spec.stack}`,
      gate: [
        {
          name: "new intermediate served from the Secret",
          check: `min by (secret_name) (x509_cert_not_after{${INTERMEDIATE_SECRETS},secret_key="tls.crt",secret_name=~"meridian-intermediate-(${ids})"}) - time()`,
          pass: `above ${intermediateProfile(spec, byId.get(w.regions[0] as string) as Region).renewBefore} for every region of the wave`,
        },
        {
          name: "SPIRE prepares CAs from the new intermediate",
          check: `count(ALERTS{alertstate="firing",alertname=~"SpireServerCaPrepareFailing|IntermediateCaExpiring|CertificateNotReady",cluster=~"${ids}"})`,
          pass: "empty (no firing alerts)",
        },
      ],
    };
  });
  return { stack: spec.stack, renewBefore: spec.pki.privateCa.intermediateRenewBefore, waves };
}

/** The ceremony as text (CLI `meridian pki plan` and the cert-expiry runbook print the same). */
export function renderIntermediateRenewal(plan: IntermediateRenewal): string {
  const out = [
    `Intermediate renewal for stack ${plan.stack}: start ${plan.renewBefore} before the earliest expiry (IntermediateCaExpiring fires then).`,
    "The root's key never leaves the offline machine: only `offline` steps touch it; carry CSRs in and chains out.",
    "",
  ];
  for (const w of plan.waves) {
    out.push(`── ${w.name}`);
    for (const r of w.regions) {
      out.push(`  ${r.region}:`);
      for (const s of r.steps) out.push(`    [${s.where}] ${s.command}`);
    }
    out.push(`  apply: ${w.apply}`, "  verify:");
    for (const r of w.regions) for (const v of r.verify) out.push(`    ${v}`);
    out.push("  gate, every check must pass before the next wave:");
    for (const g of w.gate) out.push(`    • ${g.name} — pass: ${g.pass}`, `        ${g.check}`);
    out.push("");
  }
  return out.join("\n");
}
