// CA bundles for the managed databases: the plan gives every pod that connects to a database (the lag
// monitor, the logical-replication Jobs) the ConfigMap `meridian-db-ca` with the bundle of that database's
// cloud and the sslmode its server certificate supports; the runtime's own connection code (the monitor's
// pg pool, from the rendered URL) and psql (the Jobs) then verify a real PostgreSQL server with them.
import { execFileSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import { join } from "node:path";
import pg from "pg";
import { parseIntoClientConfig } from "pg-connection-string";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evaluateStack, ofType, type Plan, type RecordedResource } from "../../harness.js";
import { DB_CA_CONFIGMAP, DB_CA_DIR, fetchBundle, parseBundle, rdsBundleUrl } from "../../../components/replication/ca.js";
import { AZURE_POSTGRES_ROOTS } from "../../../components/replication/azure-roots.js";
import { buildEstateSpec, regionById } from "../../../model/estate.js";
import { loadStack } from "../../../stacks/load.js";
import { PrivatePg, pgRoot, removeRoot, type TestCa } from "./private-pg.js";

const props = (r: RecordedResource) => r.inputs as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const spec = buildEstateSpec("prod", loadStack("prod"));
const regionOf = (name: string) => name.split("-").slice(0, 2).join("-");
const EXPECTED_SSLMODE = { aws: "verify-full", gcp: "verify-ca", azure: "verify-full" } as const;

describe("the plan: every database client trusts its database's cloud CA (prod, replication area only)", () => {
  let plan: Plan;
  const caMap = (region: string) => ofType(plan, "kubernetes:core/v1:ConfigMap").find((c) => c.name === `${region}-${DB_CA_CONFIGMAP}`);
  beforeAll(async () => {
    plan = await evaluateStack("prod", { areas: ["replication"] });
  }, 120_000);

  it("each cluster has meridian-db-ca with the Azure roots and a bundle per Aurora region and Cloud SQL instance", () => {
    for (const r of spec.regions) {
      const map = caMap(r.id);
      expect(map, `${r.id}: no ${DB_CA_CONFIGMAP}`).toBeDefined();
      const keys = Object.keys(props(map!)["data"]);
      if (spec.regions.some((x) => x.cloud === "azure")) expect(props(map!)["data"]["azure-postgres-roots.pem"]).toBe(AZURE_POSTGRES_ROOTS);
      for (const aws of spec.regions.filter((x) => x.cloud === "aws")) expect(keys).toContain(`rds-${aws.region}.pem`);
      expect(keys.some((k) => k.startsWith("cloudsql-"))).toBe(spec.regions.some((x) => x.cloud === "gcp"));
    }
    expect(
      parseBundle(AZURE_POSTGRES_ROOTS, "azure")
        .map((c) => c.subject.split("\n").find((l) => l.startsWith("CN=")))
        .sort(),
    ).toEqual(["CN=DigiCert Global Root G2", "CN=Microsoft RSA Root Certificate Authority 2017"]);
  });

  it("every Job verifies each database with a bundle in the mounted ConfigMap and its cloud's sslmode", () => {
    const jobs = ofType(plan, "kubernetes:batch/v1:Job");
    expect(jobs.length).toBeGreaterThan(0);
    for (const j of jobs) {
      const pod = props(j)["spec"]["template"]["spec"];
      const c = pod.containers[0];
      expect(c.volumeMounts).toContainEqual({ name: "db-ca", mountPath: DB_CA_DIR, readOnly: true });
      expect(pod.volumes).toContainEqual({ name: "db-ca", configMap: { name: DB_CA_CONFIGMAP } });
      const env = Object.fromEntries((c.env as { name: string; value?: string }[]).filter((e) => e.value !== undefined).map((e) => [e.name, e.value!]));
      const sides =
        "PGSSLROOTCERT" in env
          ? [["PGSSLROOTCERT", "PGSSLMODE", "PGHOST"]]
          : [
              ["SOURCE_SSLROOTCERT", "SOURCE_SSLMODE", "SOURCE_HOST"],
              ["TARGET_SSLROOTCERT", "TARGET_SSLMODE", "TARGET_HOST"],
            ];
      expect(
        sides.every(([cert]) => env[cert!] !== undefined),
        `${j.name}: ${JSON.stringify(env)}`,
      ).toBe(true);
      const keys = Object.keys(props(caMap(regionOf(j.name))!)["data"]);
      for (const [cert, mode] of sides) {
        expect(env[cert!]!.startsWith(`${DB_CA_DIR}/`)).toBe(true);
        expect(keys, `${j.name} ${cert}`).toContain(env[cert!]!.slice(DB_CA_DIR.length + 1));
        const cloud = env[cert!]!.includes("/rds-") ? "aws" : env[cert!]!.includes("/cloudsql-") ? "gcp" : "azure";
        expect(env[mode!]).toBe(EXPECTED_SSLMODE[cloud]);
      }
    }
  });

  it("every monitor URL names its copy's sslmode and a bundle the monitor mounts", () => {
    for (const map of ofType(plan, "kubernetes:core/v1:ConfigMap").filter((c) => c.name.endsWith("-replication-monitor"))) {
      const region = regionOf(map.name);
      const cfg = JSON.parse(props(map)["data"]["monitor.json"] as string) as { writes?: { url: string }; copies: { url: string }[] };
      const keys = Object.keys(props(caMap(region)!)["data"]);
      for (const db of [...(cfg.writes ? [cfg.writes] : []), ...cfg.copies]) {
        const q = new URL(db.url).searchParams;
        expect(q.get("sslrootcert")!.startsWith(`${DB_CA_DIR}/`)).toBe(true);
        expect(keys).toContain(q.get("sslrootcert")!.slice(DB_CA_DIR.length + 1));
        expect(q.get("sslmode")).toBe(EXPECTED_SSLMODE[regionById(spec, region).cloud]);
        expect(q.get("uselibpqcompat")).toBe("true");
      }
    }
  });
});

describe("the rendered TLS settings against a real PostgreSQL server", () => {
  let root = "";
  let server: PrivatePg;
  let instanceCa = "";
  let wrongCa = "";
  const PASSWORD = "ca-test";

  /** A CA that signs one server certificate naming an instance, not its address — as Cloud SQL's per-instance CA does. */
  function instanceCertificate(dir: string, san: string): TestCa {
    mkdirSync(dir, { recursive: true });
    const at = (f: string) => join(dir, f);
    const ssl = (args: string[]) => execFileSync("openssl", args, { stdio: "pipe" });
    ssl(["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-subj", "/CN=Google Cloud SQL Server CA", "-keyout", at("ca.key"), "-out", at("ca.crt")]);
    ssl(["req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-subj", "/CN=project:instance", "-keyout", at("server.key"), "-out", at("server.csr")]);
    writeFileSync(at("san.ext"), `subjectAltName = ${san}\n`);
    ssl(["x509", "-req", "-in", at("server.csr"), "-CA", at("ca.crt"), "-CAkey", at("ca.key"), "-CAcreateserial", "-days", "2", "-extfile", at("san.ext"), "-out", at("server.crt")]);
    return { dir, bundle: at("ca.crt"), cert: at("server.crt"), key: at("server.key") };
  }

  beforeAll(async () => {
    root = pgRoot();
    const ca = instanceCertificate(join(root, "instance-ca"), "DNS:project-instance.internal");
    instanceCa = ca.bundle;
    wrongCa = join(root, "azure-roots.pem");
    writeFileSync(wrongCa, AZURE_POSTGRES_ROOTS);
    server = await PrivatePg.start(root, "cloudsql", ca, PASSWORD);
  }, 120_000);
  afterAll(() => {
    server?.stop();
    if (root) removeRoot(root);
  });

  /** Connects as the monitor's pool does: the rendered URL through pg-connection-string, then pg. */
  async function monitorConnects(sslmode: string, bundle: string): Promise<string> {
    const url = `postgres://127.0.0.1:${server.port}/postgres?sslmode=${sslmode}&sslrootcert=${bundle}&uselibpqcompat=true`;
    const client = new pg.Client({ ...parseIntoClientConfig(url), user: "postgres", password: PASSWORD });
    try {
      await client.connect();
      const r = await client.query<{ ssl: boolean }>("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()");
      return r.rows[0]!.ssl ? "verified" : "plaintext";
    } catch (err) {
      return `refused: ${(err as Error).message}`;
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  it("Cloud SQL's verify-ca with the instance's CA connects by private IP; verify-full (name check) and another cloud's CA are refused", async () => {
    expect(await monitorConnects("verify-ca", instanceCa)).toBe("verified");
    expect(await monitorConnects("verify-full", instanceCa)).toMatch(/^refused: .*(IP|altnames|match)/i);
    expect(await monitorConnects("verify-ca", wrongCa)).toMatch(/^refused: .*(certificate|issuer)/i);
  });

  it("psql (the Jobs) with the same settings: verify-ca passes with the instance's CA, fails with another", () => {
    const psql = (sslmode: string, bundle: string) => {
      try {
        execFileSync("psql", ["-X", "-At", "-c", "SELECT 1", `host=127.0.0.1 port=${server.port} dbname=postgres user=postgres sslmode=${sslmode} sslrootcert=${bundle}`], {
          env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", PGPASSWORD: PASSWORD },
          stdio: "pipe",
        });
        return 0;
      } catch (err) {
        return (err as { status: number }).status;
      }
    };
    expect(psql("verify-ca", instanceCa)).toBe(0);
    expect(psql("verify-full", instanceCa)).not.toBe(0);
    expect(psql("verify-ca", wrongCa)).not.toBe(0);
  });
});

describe("fetching a provider's published bundle (Aurora: the region's RDS bundle at `pulumi up`)", () => {
  let http: Server;
  let base = "";
  beforeAll(async () => {
    http = createServer((req, res) => {
      if (req.url === "/bundle.pem") res.end(AZURE_POSTGRES_ROOTS);
      else if (req.url === "/html") res.end("<html>maintenance</html>");
      else res.writeHead(404).end();
    });
    await new Promise<void>((ok) => http.listen(0, "127.0.0.1", ok));
    const a = http.address();
    base = `http://127.0.0.1:${typeof a === "object" && a ? a.port : 0}`;
  });
  afterAll(() => new Promise<void>((ok) => http.close(() => ok())));

  it("accepts a PEM bundle of CA certificates and refuses anything else, naming the URL", async () => {
    expect(await fetchBundle(`${base}/bundle.pem`)).toBe(AZURE_POSTGRES_ROOTS);
    await expect(fetchBundle(`${base}/html`)).rejects.toThrow(`${base}/html: not a PEM CA bundle`);
    await expect(fetchBundle(`${base}/missing`)).rejects.toThrow(`${base}/missing: HTTP 404`);
    expect(rdsBundleUrl("eu-west-1")).toBe("https://truststore.pki.rds.amazonaws.com/eu-west-1/eu-west-1-bundle.pem");
  });
});
