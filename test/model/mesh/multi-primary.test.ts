import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { stringify } from "yaml";
import {
  MultiPrimaryError,
  eastWestGatewayValues,
  eastWestSourceRanges,
  kubeconfigServer,
  meshMember,
  meshPeerUrls,
  multiPrimaryMesh,
  multiPrimaryProblems,
  remoteKubeconfig,
  renderedMeshProblems,
} from "../../../model/mesh/multi-primary.js";
import { parseEstateConfig, readStackConfigMap } from "../../../stacks/load.js";
import { StackConfigError } from "../../../model/config/errors.js";

const egressOf = (id: string) => [`198.51.100.${id.length}/32`, `203.0.113.${id.charCodeAt(0)}/32`];
const regions = (...ids: string[]) => ids.map((id) => ({ id, mesh: { apiServer: `https://api.${id}.example.internal`, egress: egressOf(id) } }));

describe("multi-primary mesh: who is in it", () => {
  it("one region is no multi-cluster mesh: nothing to render, nothing to check", () => {
    expect(multiPrimaryMesh({ environment: "prod", regions: [{ id: "aws-use1" }] })).toBeUndefined();
    expect(multiPrimaryProblems({ environment: "prod", regions: [{ id: "aws-use1" }] })).toEqual([]);
  });

  it("two or more regions: one meshID, clusterName = region id (SPIRE's clusterName), a network per region", () => {
    const mesh = multiPrimaryMesh({ environment: "prod", regions: regions("aws-use1", "gcp-usc1") })!;
    expect(mesh).toEqual({
      meshID: "meridian-prod",
      members: [
        { region: "aws-use1", clusterName: "aws-use1", network: "aws-use1", apiServer: { kind: "setting", url: "https://api.aws-use1.example.internal" }, egress: egressOf("aws-use1") },
        { region: "gcp-usc1", clusterName: "gcp-usc1", network: "gcp-usc1", apiServer: { kind: "setting", url: "https://api.gcp-usc1.example.internal" }, egress: egressOf("gcp-usc1") },
      ],
    });
  });

  it("refuses two regions on one network, naming both", () => {
    const config = { environment: "prod" as const, regions: [...regions("aws-use1"), { id: "gcp-usc1", mesh: { apiServer: "https://x.internal", network: "aws-use1", egress: ["192.0.2.1/32"] } }] };
    expect(multiPrimaryProblems(config)).toEqual([
      expect.objectContaining({ keyPath: "meridian:regions[1].mesh.network", value: "aws-use1", expected: expect.stringContaining("aws-use1 is on aws-use1") }),
    ]);
    expect(() => multiPrimaryMesh(config)).toThrow(MultiPrimaryError);
  });

  it("without mesh.apiServer, a region deployed with a kubeconfig secret takes its server from that kubeconfig; the setting overrides", () => {
    const mesh = multiPrimaryMesh({
      environment: "prod",
      regions: [
        ...regions("aws-use1"),
        { id: "gcp-usc1", mesh: { egress: ["192.0.2.2/32"] } },
        { id: "azure-weu", kubeconfig: { secret: "weu-admin" }, mesh: { network: "weu", egress: ["192.0.2.3/32"] } },
      ],
    })!;
    expect(mesh.members.map((m) => m.apiServer)).toEqual([
      { kind: "setting", url: "https://api.aws-use1.example.internal" },
      { kind: "kubeconfig", key: "kubeconfig-gcp-usc1" },
      { kind: "kubeconfig", key: "weu-admin" },
    ]);
  });

  it("refuses a multi-region stack with a region deployed by kube context and no API server for its peers", () => {
    const rs = [...regions("aws-use1"), { id: "gcp-usc1", kubeconfig: { context: "kind-usc1" }, mesh: { egress: ["192.0.2.2/32"] } }];
    const problems = multiPrimaryProblems({ environment: "prod", regions: rs });
    expect(problems).toEqual([expect.objectContaining({ keyPath: "meridian:regions[1].mesh.apiServer", value: "(missing)", expected: expect.stringContaining("context") })]);
    expect(() => meshMember({ environment: "prod", regions: rs }, "aws-use1")).toThrow(/regions\[1\]\.mesh\.apiServer/);
  });

  it("the stack loader reports the same problems with the stack file's key paths", () => {
    const map = readStackConfigMap("staging") as Record<string, unknown>;
    const rs = (map["meridian:regions"] as Record<string, unknown>[]).map((r) => ({ ...r }));
    rs[1] = { ...rs[1], mesh: { ...(rs[1]!["mesh"] as object), network: rs[0]!["id"] } };
    const err = (() => {
      try {
        parseEstateConfig({ ...map, "meridian:regions": rs }, "staging");
      } catch (e) {
        return e;
      }
    })();
    expect(err).toBeInstanceOf(StackConfigError);
    expect(String((err as Error).message)).toMatch(/regions\[1\]\.mesh\.network/);
    // And each committed multi-region stack loads.
    for (const stack of ["dev", "staging", "prod", "local"]) expect(() => parseEstateConfig(readStackConfigMap(stack), stack)).not.toThrow();
  });
});

describe("remote secrets and the rendered values", () => {
  const mesh = multiPrimaryMesh({ environment: "prod", regions: regions("aws-use1", "gcp-usc1", "azure-weu") })!;
  const [use1, usc1] = mesh.members as [ReturnType<typeof meshMember> & object, ReturnType<typeof meshMember> & object];
  const global = { meshID: "meridian-prod", multiCluster: { clusterName: "aws-use1" }, network: "aws-use1" };

  it("the kubeconfig is istioctl create-remote-secret's: cluster, context and user named by the peer, bearer token", () => {
    const k = parse(remoteKubeconfig(usc1, "https://api.gcp-usc1.example.internal", "Q0E=", "tok")) as Record<string, unknown>;
    expect(k).toEqual({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "gcp-usc1", cluster: { server: "https://api.gcp-usc1.example.internal", "certificate-authority-data": "Q0E=" } }],
      contexts: [{ name: "gcp-usc1", context: { cluster: "gcp-usc1", user: "gcp-usc1" } }],
      "current-context": "gcp-usc1",
      preferences: {},
      users: [{ name: "gcp-usc1", user: { token: "tok" } }],
    });
    expect(() => remoteKubeconfig(usc1, "https://x", "", "tok")).toThrow(/no ca.crt/);
    expect(() => remoteKubeconfig(usc1, "https://x", "Q0E=", "")).toThrow(/no token/);
  });

  // A kubeconfig as `aws eks update-kubeconfig` writes it: an exec user, several contexts, the current one chosen.
  const eks = (server: string, current = "arn:aws:eks:us-east-1:111122223333:cluster/use1") =>
    stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "arn:aws:eks:eu-west-1:111122223333:cluster/euw1", cluster: { server: "https://B0B.gr7.eu-west-1.eks.amazonaws.com", "certificate-authority-data": "Q0E=" } },
        { name: "arn:aws:eks:us-east-1:111122223333:cluster/use1", cluster: { server, "certificate-authority-data": "Q0E=" } },
      ],
      contexts: [
        { name: "arn:aws:eks:eu-west-1:111122223333:cluster/euw1", context: { cluster: "arn:aws:eks:eu-west-1:111122223333:cluster/euw1", user: "u" } },
        { name: "arn:aws:eks:us-east-1:111122223333:cluster/use1", context: { cluster: "arn:aws:eks:us-east-1:111122223333:cluster/use1", user: "u" } },
      ],
      "current-context": current,
      users: [{ name: "u", user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["eks", "get-token"] } } }],
    });

  it("refuses a multi-region stack with a region that names no egress addresses for its peers' east-west load balancers", () => {
    const rs = [...regions("aws-use1"), { id: "gcp-usc1", mesh: { apiServer: "https://x.internal" } }];
    expect(multiPrimaryProblems({ environment: "prod", regions: rs })).toEqual([expect.objectContaining({ keyPath: "meridian:regions[1].mesh.egress", value: "(missing)" })]);
  });

  it("each east-west load balancer admits its peers' egress CIDRs, never its own or anyone else's", () => {
    const m = multiPrimaryMesh({ environment: "prod", regions: [...regions("aws-use1", "gcp-usc1", "azure-weu")] })!;
    const [use1] = m.members;
    expect(eastWestSourceRanges(m, use1!)).toEqual([...egressOf("gcp-usc1"), ...egressOf("azure-weu")].sort());
    for (const member of m.members) for (const own of member.egress) if (!m.members.some((p) => p !== member && p.egress.includes(own))) expect(eastWestSourceRanges(m, member)).not.toContain(own);
    const aws = eastWestGatewayValues(m, use1!, { cloud: "aws", gateway: { subnets: ["subnet-0a1b2c3d4e5f60001"] } }) as {
      service: { type: string; loadBalancerSourceRanges: string[]; annotations: Record<string, string> };
    };
    expect(aws.service).toEqual({
      type: "LoadBalancer",
      loadBalancerSourceRanges: eastWestSourceRanges(m, use1!),
      annotations: {
        "service.beta.kubernetes.io/aws-load-balancer-type": "external",
        "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip",
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-subnets": "subnet-0a1b2c3d4e5f60001",
      },
    });
    expect((eastWestGatewayValues(m, use1!, { cloud: "gcp" }) as { service: { annotations: object } }).service.annotations).toEqual({});
  });

  it("the loader refuses a malformed egress CIDR", () => {
    const map = readStackConfigMap("dev") as Record<string, unknown>;
    const rs = (map["meridian:regions"] as Record<string, unknown>[]).map((r) => ({ ...r }));
    for (const bad of ["203.0.113.7", "203.0.113.256/32", "203.0.113.7/33"]) {
      rs[0] = { ...rs[0], mesh: { egress: [bad] } };
      expect(() => parseEstateConfig({ ...map, "meridian:regions": rs }, "dev"), bad).toThrow(/regions\[0\]\.mesh\.egress/);
    }
  });

  it("kubeconfigServer reads the current context's cluster server", () => {
    expect(kubeconfigServer(eks("https://A1B2.gr7.us-east-1.eks.amazonaws.com"), "meridian:kubeconfig-aws-use1")).toBe("https://A1B2.gr7.us-east-1.eks.amazonaws.com");
    expect(kubeconfigServer(eks("https://A1B2.gr7.us-east-1.eks.amazonaws.com", "arn:aws:eks:eu-west-1:111122223333:cluster/euw1"), "k")).toBe("https://B0B.gr7.eu-west-1.eks.amazonaws.com");
  });

  it("kubeconfigServer refuses what peers could not reach or verify, naming the key and the override", () => {
    expect(() => kubeconfigServer(eks("https://127.0.0.1:40123"), "meridian:kubeconfig-aws-use1")).toThrow(
      /meridian:kubeconfig-aws-use1: server https:\/\/127\.0\.0\.1:40123 is a loopback address[^]*mesh\.apiServer/,
    );
    expect(() => kubeconfigServer(eks("https://localhost:6443"), "k")).toThrow(/loopback/);
    expect(() => kubeconfigServer(eks("http://10.0.0.1:8080"), "k")).toThrow(/not https/);
    expect(() => kubeconfigServer(eks("https://x", "gone"), "k")).toThrow(/no current context named "gone"/);
    expect(() => kubeconfigServer("<secret kubeconfig-aws-use1>", "k")).toThrow(/no current context/);
    expect(() => kubeconfigServer("a: [", "k")).toThrow(/not a kubeconfig/);
  });

  it("agreeing values and a secret per peer pass", () => {
    expect(renderedMeshProblems(mesh, use1, { istiodGlobal: global, spireClusterName: "aws-use1", remoteSecretKeys: ["gcp-usc1", "azure-weu"] })).toEqual([]);
  });

  it("refuses istiod's clusterName differing from SPIRE's, a wrong network or meshID", () => {
    expect(renderedMeshProblems(mesh, use1, { istiodGlobal: global, spireClusterName: "use1", remoteSecretKeys: ["gcp-usc1", "azure-weu"] })).toEqual([
      `aws-use1: istiod's global.multiCluster.clusterName "aws-use1" is not SPIRE's clusterName "use1"`,
    ]);
    expect(renderedMeshProblems(mesh, use1, { istiodGlobal: { ...global, network: "n1", meshID: "mesh1" }, spireClusterName: "aws-use1", remoteSecretKeys: ["gcp-usc1", "azure-weu"] })).toEqual([
      `aws-use1: istiod's global.network "n1" is not "aws-use1"`,
      `aws-use1: istiod's global.meshID "mesh1" is not "meridian-prod"`,
    ]);
  });

  it("refuses a remote secret for the cluster itself or a stranger, and a missing peer", () => {
    expect(renderedMeshProblems(mesh, use1, { istiodGlobal: global, spireClusterName: "aws-use1", remoteSecretKeys: ["aws-use1", "gcp-usc2"] })).toEqual([
      "aws-use1: a remote secret for its own cluster aws-use1",
      'aws-use1: a remote secret keyed "gcp-usc2", which is no peer\'s clusterName (gcp-usc1, azure-weu)',
      "aws-use1: no remote secret for peer gcp-usc1, so its istiod never sees gcp-usc1's endpoints",
      "aws-use1: no remote secret for peer azure-weu, so its istiod never sees azure-weu's endpoints",
    ]);
  });
});

describe("region-addressed services (escrow's peers)", () => {
  it("each region's peers are the other regions' escrow-<region> Services; one region has none", () => {
    const config = { environment: "prod" as const, regions: regions("aws-use1", "gcp-usc1", "azure-weu") };
    expect(meshPeerUrls(config, "escrow", "gcp-usc1")).toEqual({
      "aws-use1": "http://escrow-aws-use1.meridian.svc.cluster.local:8080",
      "azure-weu": "http://escrow-azure-weu.meridian.svc.cluster.local:8080",
    });
    expect(meshPeerUrls({ environment: "prod", regions: [{ id: "aws-use1" }] }, "escrow", "aws-use1")).toEqual({});
  });
});
