/**
 * The regional health signals the DNS providers probe (`/healthz/<signal>`), decided from the services'
 * own readiness: a signal passes when every one of its probes answered 2xx within the timeout. Pure:
 * the probe results come in, the verdict goes out; the transport (service.ts) does the probing.
 * Invariant: a signal with no probes passes (the gateway answering it is the signal), and a probe that
 * timed out or errored counts as failing, so a hung service never reads as healthy.
 */
export interface ProbeResult {
  name: string;
  /** The HTTP status the service answered, or null when it did not answer (timeout, refused). */
  status: number | null;
  /** Why it failed: the service's own error body, or the transport error. */
  detail?: string;
}

export interface SignalVerdict {
  signal: string;
  healthy: boolean;
  /** Per probe: "pass" or why it failed. */
  checks: Record<string, string>;
}

export function verdict(signal: string, results: readonly ProbeResult[]): SignalVerdict {
  const checks: Record<string, string> = {};
  for (const r of results) {
    const ok = r.status !== null && r.status >= 200 && r.status < 300;
    checks[r.name] = ok ? "pass" : r.status === null ? `no answer${r.detail ? `: ${r.detail}` : ""}` : `HTTP ${r.status}${r.detail ? `: ${r.detail}` : ""}`;
  }
  return { signal, healthy: results.every((r) => r.status !== null && r.status >= 200 && r.status < 300), checks };
}
