/**
 * The operator commands a rotation wave and the certificate-expiry runbook print, per region: how to
 * reach the region's cluster (its kubeconfig source), back up the gateway certificate, force a renewal
 * with cmctl, watch it, and restore the backup (the rollback). One place, so the plan and the runbook
 * never disagree on a command.
 */
import { NAMESPACES, kubeconfigSource, type Region } from "../estate.js";
import { GATEWAY_CERTIFICATE } from "./issuers.js";

/** `--context <ctx>` or `--kubeconfig kubeconfig-<id>` (fetched from the secret config key first). */
export function clusterFlag(region: Region): string {
  const source = kubeconfigSource(region);
  return source.kind === "context" ? `--context ${source.context}` : `--kubeconfig kubeconfig-${region.id}`;
}

/** Commands to run once before touching a region whose kubeconfig lives in secret config. */
export function fetchKubeconfig(region: Region): string | undefined {
  const source = kubeconfigSource(region);
  return source.kind === "secret" ? `pulumi config get --secret meridian:${source.key} > kubeconfig-${region.id}` : undefined;
}

export interface WaveCommands {
  backup: string;
  renew: string;
  watch: string;
  rollback: string;
}

export function waveCommands(region: Region, certificate = GATEWAY_CERTIFICATE, namespace: string = NAMESPACES.gateway): WaveCommands {
  const flag = clusterFlag(region);
  const backup = `backup-${region.id}-${certificate}.yaml`;
  // Ready stays True while a renewal is in flight, so wait for the Certificate's revision to move on.
  const rev = `rev_${region.id.replace(/-/g, "_")}`;
  return {
    backup: `kubectl ${flag} -n ${namespace} get secret ${certificate} -o yaml > ${backup}; ${rev}=$(kubectl ${flag} -n ${namespace} get certificate ${certificate} -o jsonpath='{.status.revision}')`,
    renew: `cmctl ${flag} renew -n ${namespace} ${certificate}`,
    watch: `kubectl ${flag} -n ${namespace} wait certificate/${certificate} --for=jsonpath='{.status.revision}'=$((${rev}+1)) --timeout=10m`,
    // The gateway reads the Secret through SDS and picks the restored certificate up without a restart.
    rollback: `kubectl ${flag} -n ${namespace} replace --force -f ${backup}`,
  };
}
