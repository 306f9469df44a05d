// The real CrossGuard pack: start policies/index.ts as `pulumi preview --policy-pack` would (it prints
// its gRPC port), then call the analyzer protocol directly — listing the policies and analyzing resources.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { spawn, type ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { buildEstateSpec } from "../../model/estate.js";
import { loadStack } from "../../stacks/load.js";

const require = createRequire(import.meta.url);
/* eslint-disable @typescript-eslint/no-explicit-any -- generated CommonJS protobuf stubs */
const grpc = require("@grpc/grpc-js") as typeof import("@grpc/grpc-js");
const services = require("@pulumi/pulumi/proto/analyzer_grpc_pb.js") as any;
const messages = require("@pulumi/pulumi/proto/analyzer_pb.js") as any;
const { Struct } = require("google-protobuf/google/protobuf/struct_pb.js") as any;
const { Empty } = require("google-protobuf/google/protobuf/empty_pb.js") as any;

const POLICIES_DIR = fileURLToPath(new URL("../../policies/", import.meta.url));
let pack: ChildProcess;
let client: any;

const call = <T>(method: string, request: unknown): Promise<T> =>
  new Promise((resolve, reject) => client[method](request, (err: Error | null, res: T) => (err ? reject(err) : resolve(res))));

function resource(type: string, name: string, props: Record<string, unknown>, Message = messages.AnalyzeRequest) {
  const r = new Message();
  r.setType(type);
  r.setName(name);
  r.setUrn(`urn:pulumi:prod::meridian::${type}::${name}`);
  r.setProperties(Struct.fromJavaScript(props));
  // The CLI always sends resource options; the policy SDK refuses requests without them.
  r.setOptions(new messages.AnalyzerResourceOptions());
  return r;
}

beforeAll(async () => {
  pack = spawn(process.execPath, ["--import", "tsx", "index.ts"], { cwd: POLICIES_DIR, stdio: ["ignore", "pipe", "pipe"] });
  const port = await new Promise<string>((resolve, reject) => {
    let out = "";
    pack.stdout!.on("data", (d: Buffer) => {
      out += d.toString();
      const m = /^(\d+)\s/.exec(out);
      if (m) resolve(m[1]!);
    });
    pack.on("exit", (code) => reject(new Error(`policy pack exited ${code}`)));
  });
  client = new services.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
});

afterAll(() => {
  client?.close();
  pack?.kill();
});

describe("policies/index.ts under the analyzer protocol", () => {
  it("serves every rule as a CrossGuard policy", async () => {
    const info = await call<any>("getAnalyzerInfo", new Empty());
    expect(info.getName()).toBe("meridian");
    expect(info.getPoliciesList().map((p: any) => p.getName()).sort()).toEqual([
      "meridian-certificate-bounds",
      "meridian-cost-table",
      "meridian-egress-topology",
      "meridian-failover-ttl",
      "meridian-health-check-sanity",
      "meridian-mtls-mesh-wide",
      "meridian-mtls-strict",
      "meridian-no-public-databases",
      "meridian-stack-budget",
    ]);
  });

  it("denies a public database and passes a private one", async () => {
    const bad = await call<any>("analyze", resource("aws:rds/clusterInstance:ClusterInstance", "db", { publiclyAccessible: true }));
    expect(bad.getDiagnosticsList().map((d: any) => [d.getPolicyname(), d.getMessage()])).toEqual([["meridian-no-public-databases", expect.stringContaining("publiclyAccessible is true")]]);
    const good = await call<any>("analyze", resource("aws:rds/clusterInstance:ClusterInstance", "db", { publiclyAccessible: false }));
    expect(good.getDiagnosticsList()).toEqual([]);
  });

  it("stack analysis reads the estate ConfigMap and denies a full mesh", async () => {
    const spec = buildEstateSpec("prod", loadStack("prod"));
    const estate = { ...spec, replication: { ...spec.replication, topology: "full-mesh" } };
    const cm = resource("kubernetes:core/v1:ConfigMap", "meridian-replication", { metadata: { name: "meridian-replication" }, data: { "estate.json": JSON.stringify(estate) } }, messages.AnalyzerResource);
    const req = new messages.AnalyzeStackRequest();
    req.setResourcesList([cm]);
    const res = await call<any>("analyzeStack", req);
    const diags = res.getDiagnosticsList().map((d: any) => [d.getPolicyname(), d.getEnforcementlevel(), d.getMessage()]);
    expect(diags).toContainEqual(["meridian-egress-topology", messages.EnforcementLevel.MANDATORY, expect.stringMatching(/full-mesh replication over 6 regions \(limit 4\).*use star/)]);
    // A full mesh ($4,104.14 of links) plus the traffic area's DNS and health checks ($716.84).
    expect(diags).toContainEqual(["meridian-cost-table", messages.EnforcementLevel.ADVISORY, expect.stringMatching(/monthly cost estimate \$4,820\.98/)]);
  });

  it("cost rules are not applicable to a stack without the estate ConfigMap", async () => {
    const req = new messages.AnalyzeStackRequest();
    req.setResourcesList([resource("kubernetes:core/v1:Namespace", "ns", { metadata: { name: "x" } }, messages.AnalyzerResource)]);
    const res = await call<any>("analyzeStack", req);
    expect(res.getDiagnosticsList()).toEqual([]);
    const notApplicable = res.getNotApplicableList().map((n: any) => n.getPolicyName());
    expect(notApplicable).toEqual(expect.arrayContaining(["meridian-stack-budget", "meridian-egress-topology", "meridian-cost-table"]));
  });
});
