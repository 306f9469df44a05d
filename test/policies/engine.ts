/**
 * The Pulumi engine's side of a policy pack, played from Pulumi's published protos
 * (test/testdata/pulumi-proto): start the pack the way the nodejs language host does for an analyzer
 * plugin (`node <@pulumi/pulumi/cmd/run-policy-pack> <engine-address> <pack-dir>`, cwd the pack dir,
 * the PULUMI_* environment, no NODE_OPTIONS), read its port from stdout, then Handshake, ConfigureStack,
 * GetAnalyzerInfo, GetPluginInfo, Configure, per resource Remediate + Analyze (inputs) and AnalyzeStack
 * (every resource) — unknown values sent as the engine's UnknownStringValue sentinel.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { RecordedResource } from "../../components/preview/mock-runtime.js";
import { ENGINE_UNKNOWN_SENTINELS, MOCK_COMPUTED } from "../../model/resources.js";

const PROTO_DIR = fileURLToPath(new URL("../testdata/pulumi-proto/", import.meta.url));
export const UNKNOWN_STRING = ENGINE_UNKNOWN_SENTINELS[0]!;

/** google.protobuf.Value as proto-loader's plain objects (keepCase, oneofs). */
type Value = { nullValue: "NULL_VALUE" } | { numberValue: number } | { stringValue: string } | { boolValue: boolean } | { structValue: Struct } | { listValue: { values: Value[] } };
interface Struct {
  fields: Record<string, Value>;
}

export function toValue(v: unknown): Value {
  if (v === null) return { nullValue: "NULL_VALUE" };
  if (typeof v === "number") return { numberValue: v };
  if (typeof v === "boolean") return { boolValue: v };
  // The mock runtime records computed values as "(computed)"; the engine marshals them as UnknownStringValue.
  if (typeof v === "string") return { stringValue: v === MOCK_COMPUTED ? UNKNOWN_STRING : v };
  if (Array.isArray(v)) return { listValue: { values: v.map(toValue) } };
  if (typeof v === "object") return { structValue: toStruct(v as Record<string, unknown>) };
  throw new Error(`cannot marshal ${typeof v}`);
}

export function toStruct(obj: Record<string, unknown>): Struct {
  const fields: Record<string, Value> = {};
  // The engine skips undefined (absent) properties.
  for (const [k, v] of Object.entries(obj)) if (v !== undefined) fields[k] = toValue(v);
  return { fields };
}

export interface Diagnostic {
  policyName: string;
  enforcementLevel: "ADVISORY" | "MANDATORY" | "DISABLED" | "REMEDIATE";
  message: string;
  urn: string;
}
export interface AnalyzeResponse {
  diagnostics: Diagnostic[];
  not_applicable: { policy_name: string; reason: string }[];
}

export interface StartOptions {
  packDir: string;
  project: string;
  stack: string;
  organization?: string;
  dryRun?: boolean;
  /** The stack's config as the engine holds it: `meridian:key` → string. */
  config?: Record<string, string>;
}

type Unary = (req: unknown, cb: (err: grpc.ServiceError | null, res: unknown) => void) => void;

export class Engine {
  readonly stderr: string[] = [];
  private constructor(
    private readonly child: ChildProcess,
    private readonly client: grpc.Client & Record<string, Unary>,
    private readonly engineServer: grpc.Server,
    readonly engineAddress: string,
    readonly opts: StartOptions,
  ) {}

  static async start(opts: StartOptions): Promise<Engine> {
    const def = protoLoader.loadSync("pulumi/analyzer.proto", { includeDirs: [PROTO_DIR], keepCase: true, enums: String, defaults: true, oneofs: true, longs: Number });
    const pkg = grpc.loadPackageDefinition(def) as unknown as { pulumirpc: { Analyzer: grpc.ServiceClientConstructor } };
    // The engine's own gRPC address (the pack may dial it back); nothing here needs a service on it.
    const engineServer = new grpc.Server();
    const enginePort = await new Promise<number>((resolve, reject) =>
      engineServer.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) => (err ? reject(err) : resolve(port))),
    );
    const engineAddress = `127.0.0.1:${enginePort}`;
    // locateModule: resolve the launcher from the pack directory, as the language host does.
    const runPolicyPack = createRequire(join(opts.packDir, "package.json")).resolve("@pulumi/pulumi/cmd/run-policy-pack");
    const env: NodeJS.ProcessEnv = { ...process.env };
    delete env["NODE_OPTIONS"]; // the engine does not pass tsx or any loader
    const dry = String(opts.dryRun ?? true);
    Object.assign(env, {
      PULUMI_CONFIG: JSON.stringify(opts.config ?? {}),
      PULUMI_NODEJS_PROJECT: opts.project,
      PULUMI_NODEJS_STACK: opts.stack,
      PULUMI_NODEJS_ORGANIZATION: opts.organization ?? "organization",
      PULUMI_NODEJS_DRY_RUN: dry,
      PULUMI_PROJECT: opts.project,
      PULUMI_STACK: opts.stack,
      PULUMI_ORGANIZATION: opts.organization ?? "organization",
      PULUMI_DRY_RUN: dry,
    });
    const child = spawn(process.execPath, [runPolicyPack, engineAddress, opts.packDir], { cwd: opts.packDir, env, stdio: ["ignore", "pipe", "pipe"] });
    const stderr: string[] = [];
    child.stderr!.on("data", (d: Buffer) => stderr.push(d.toString()));
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const m = /^\s*(\d+)\s*\n/.exec(out);
        if (m) resolve(Number(m[1]));
      });
      child.on("exit", (code) => reject(new Error(`policy pack exited ${code} before printing its port:\n${stderr.join("")}`)));
    });
    const client = new pkg.pulumirpc.Analyzer(`127.0.0.1:${port}`, grpc.credentials.createInsecure()) as unknown as grpc.Client & Record<string, Unary>;
    const engine = new Engine(child, client, engineServer, engineAddress, opts);
    engine.stderr.push(...stderr);
    return engine;
  }

  call<T>(method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => this.client[method]!(req, (err, res) => (err ? reject(err) : resolve(res as T))));
  }

  /** What NewPolicyAnalyzer does after boot: Handshake (UNIMPLEMENTED is tolerated), then ConfigureStack. */
  async boot(): Promise<{ handshake: "ok" | "unimplemented" }> {
    let handshake: "ok" | "unimplemented" = "ok";
    try {
      await this.call("Handshake", { engine_address: this.engineAddress, root_directory: this.opts.packDir, program_directory: this.opts.packDir });
    } catch (err) {
      if ((err as grpc.ServiceError).code !== grpc.status.UNIMPLEMENTED) throw err;
      handshake = "unimplemented";
    }
    await this.call("ConfigureStack", {
      stack: this.opts.stack,
      project: this.opts.project,
      organization: this.opts.organization ?? "organization",
      dry_run: this.opts.dryRun ?? true,
      config: this.opts.config ?? {},
      config_secret_keys: [],
      tags: { "pulumi:project": this.opts.project },
    });
    return { handshake };
  }

  /**
   * Configure: per policy, an enforcement level and properties (`--policy-pack-config`). Like the engine,
   * a policy whose config names no level keeps the level GetAnalyzerInfo declared for it.
   */
  async configure(config: Record<string, { enforcementLevel?: Diagnostic["enforcementLevel"]; properties: Record<string, unknown> }>): Promise<unknown> {
    const info = await this.call<{ policies: { name: string; enforcementLevel: Diagnostic["enforcementLevel"] }[] }>("GetAnalyzerInfo", {});
    const declared = new Map(info.policies.map((p) => [p.name, p.enforcementLevel]));
    const policyConfig = Object.fromEntries(
      Object.entries(config).map(([name, c]) => [name, { enforcementLevel: c.enforcementLevel ?? declared.get(name) ?? "ADVISORY", properties: toStruct(c.properties) }]),
    );
    return this.call("Configure", { policyConfig });
  }

  /** The step generator: Remediate, then Analyze on the resource's inputs. */
  async analyze(r: RecordedResource): Promise<AnalyzeResponse> {
    const req = { type: r.type, name: r.name, urn: r.urn, properties: toStruct(r.inputs), options: options(r), provider: null };
    await this.call("Remediate", req);
    return this.call<AnalyzeResponse>("Analyze", req);
  }

  /** AnalyzeStack over every resource of the deployment (outputs in preview = inputs plus unknowns). */
  analyzeStack(resources: RecordedResource[]): Promise<AnalyzeResponse> {
    return this.call<AnalyzeResponse>("AnalyzeStack", {
      resources: resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn,
        properties: toStruct(r.inputs),
        options: options(r),
        parent: r.parent ?? "",
        dependencies: [],
        propertyDependencies: {},
      })),
    });
  }

  async close(): Promise<void> {
    this.client.close();
    this.engineServer.forceShutdown();
    if (this.child.exitCode === null) {
      const exited = new Promise((resolve) => this.child.once("exit", resolve));
      this.child.kill("SIGTERM");
      await exited;
    }
  }
}

function options(r: RecordedResource) {
  return {
    protect: false,
    ignoreChanges: [],
    deleteBeforeReplace: false,
    deleteBeforeReplaceDefined: false,
    additionalSecretOutputs: [],
    aliases: [],
    customTimeouts: { create: 0, update: 0, delete: 0, read: 0 },
    parent: r.parent ?? "",
  };
}
