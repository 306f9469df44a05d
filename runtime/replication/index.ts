/** runtime/replication: replication lag by heartbeat, and the per-region monitor that reports it. */
export { HEARTBEAT_DDL, HEARTBEAT_TABLE } from "./heartbeat.js";
export { type CopyLag } from "./lag.js";
export { replicationMonitorConfigSchema, replicationMonitorService, type ReplicationMonitorConfig } from "./monitor.js";
export { rotateConfigSchema, rotateLogins, type RotateConfig } from "./rotate.js";
export { FEDERATION_AUDIENCE, openSecretStore, type Federation } from "./cloud-secrets.js";
export { loginSchema, parseSecretRef, replicationLoginSchema } from "./secret-store.js";
export { credentialsConfigSchema, writeCredentials, type CredentialsConfig } from "./credentials.js";
