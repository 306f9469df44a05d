/**
 * The AUTH password of a Memorystore for Redis Cluster with IAM authentication (AUTH_MODE_IAM_AUTH): an OAuth2 access
 * token of the pod's Google service account (GKE Workload Identity), from the metadata server through
 * google-auth-library's Compute client. Memorystore checks the token when a connection AUTHs: a new connection needs
 * an unexpired one (tokens last an hour), an authenticated connection stays authenticated after its token expires.
 * So the token is written to a file before the client starts and again before each one expires, and the credential
 * follower (cluster-access.ts followCredentials) hands the current one to every connection opened after its next read.
 *
 * The file is replaced by rename (a reader never sees half a token). A failed refresh keeps the last token (still valid
 * until its expiry, reported at warn) and is retried; the first one must succeed, or the start fails naming the server.
 */
import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { Compute } from "google-auth-library";

export interface GcpTokenSourceOptions {
  /** Where the token is written: the `redisAuth.passwordFile` the client follows. */
  file: string;
  report: (level: "info" | "warn", message: string) => void;
  /** Refresh this long before the token expires (default 5 min: the follower's reload and a reconnect fit well inside). */
  refreshBeforeMs?: number;
  /** After a failed refresh, try again this much later (default 10 s). */
  retryMs?: number;
  /** How long the first token may take before the start fails (default 60 s: the GKE metadata server may still be starting). */
  startupMs?: number;
}

export interface GcpTokenSource {
  /** When the token in the file expires (ms since the epoch). */
  expiry(): number;
  stop(): void;
}

/** Where the metadata server is: GCE_METADATA_HOST when set (how gcp-metadata is pointed elsewhere), else the link-local one. */
const metadataServer = () => process.env["GCE_METADATA_HOST"] ?? process.env["GCE_METADATA_IP"] ?? "169.254.169.254";

export async function startGcpTokenSource(o: GcpTokenSourceOptions): Promise<GcpTokenSource> {
  const refreshBeforeMs = o.refreshBeforeMs ?? 5 * 60_000;
  const retryMs = o.retryMs ?? 10_000;
  // The client hands back its cached token until it is within refreshBeforeMs of expiry, then asks the server again.
  const compute = new Compute({ eagerRefreshThresholdMillis: refreshBeforeMs });
  let written = "";
  let expiry = 0;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  async function fetchAndWrite(): Promise<void> {
    const { token } = await compute.getAccessToken();
    const expires = compute.credentials.expiry_date;
    if (!token || !expires) throw new Error(`the metadata server at ${metadataServer()} answered without an access token and its expiry`);
    expiry = expires;
    if (token === written) return;
    mkdirSync(dirname(o.file), { recursive: true, mode: 0o700 });
    writeFileSync(`${o.file}.new`, token, { mode: 0o600 });
    renameSync(`${o.file}.new`, o.file);
    written = token;
    o.report("info", `Redis IAM access token written to ${o.file}, valid until ${new Date(expires).toISOString()}`);
  }

  function schedule(ms: number) {
    if (stopped) return;
    timer = setTimeout(() => void refresh(), Math.max(0, ms));
    timer.unref();
  }
  async function refresh() {
    try {
      await fetchAndWrite();
      // Ask again when the client will no longer hand back this one; at least the retry interval apart, so a server
      // that keeps answering with a token near its end is not asked in a loop.
      schedule(Math.max(retryMs, expiry - Date.now() - refreshBeforeMs));
    } catch (e) {
      o.report("warn", `Redis IAM access token not refreshed (the one in ${o.file} expires ${new Date(expiry).toISOString()}): ${(e as Error).message}`);
      schedule(retryMs);
    }
  }

  const deadline = Date.now() + (o.startupMs ?? 60_000);
  for (;;) {
    try {
      await fetchAndWrite();
      break;
    } catch (e) {
      if (Date.now() + retryMs > deadline) throw new Error(`no Redis IAM access token from the metadata server at ${metadataServer()}: ${(e as Error).message}`, { cause: e });
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
  schedule(Math.max(retryMs, expiry - Date.now() - refreshBeforeMs));
  return {
    expiry: () => expiry,
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
