import { describe, expect, it } from "vitest";
import * as k8s from "@pulumi/kubernetes";
import { messages, refusals } from "./refuse.js";

describe("Kubernetes API server rules", () => {
  it("kubernetes-selector-matches-template, -volume-mounts, -labels", async () => {
    const v = await refusals(() => {
      new k8s.apps.v1.Deployment("d", {
        metadata: { name: "gw", namespace: "ns", labels: { app: "x".repeat(70) } },
        spec: {
          selector: { matchLabels: { app: "gateway" } },
          template: {
            metadata: { labels: { app: "other" } },
            spec: { containers: [{ name: "c", image: "i", ports: [{ name: "https-gateway-port", containerPort: 8443 }], volumeMounts: [{ name: "config", mountPath: "/etc/x" }] }] },
          },
        },
      });
    });
    expect(messages(v, "kubernetes-selector-matches-template")).toEqual([
      'Deployment "gw" is invalid: spec.template.metadata.labels: Invalid value: {"app":"other"}: `selector` does not match template `labels`',
    ]);
    expect(messages(v, "kubernetes-volume-mounts")).toEqual([
      'Deployment "gw" is invalid: spec.template.spec.containers[0].volumeMounts[0].name: Not found: "config"',
      'Deployment "gw" is invalid: spec.template.spec.containers[0].ports[0].name: Invalid value: "https-gateway-port": must be no more than 15 characters and contain only lower case alphanumerics or \'-\' (an IANA_SVC_NAME)',
    ]);
    expect(messages(v, "kubernetes-labels")).toHaveLength(1);
  });

  it("kubernetes-volume-mounts: a StatefulSet's claim templates are volumes of its pods, another name is not", async () => {
    const v = await refusals(() => {
      new k8s.apps.v1.StatefulSet("s", {
        metadata: { name: "clock", namespace: "ns" },
        spec: {
          serviceName: "clock",
          selector: { matchLabels: { app: "clock" } },
          template: {
            metadata: { labels: { app: "clock" } },
            spec: {
              containers: [
                {
                  name: "c",
                  image: "i",
                  volumeMounts: [
                    { name: "state", mountPath: "/var/lib/x" },
                    { name: "other", mountPath: "/o" },
                  ],
                },
              ],
            },
          },
          volumeClaimTemplates: [{ metadata: { name: "state" }, spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } } }],
        },
      });
    });
    expect(messages(v, "kubernetes-volume-mounts")).toEqual(['StatefulSet "clock" is invalid: spec.template.spec.containers[0].volumeMounts[1].name: Not found: "other"']);
  });

  it("kubernetes-job-restart-policy, -config-keys, -object-name, -schema", async () => {
    const v = await refusals(() => {
      new k8s.batch.v1.Job("j", { metadata: { name: "sub", namespace: "ns" }, spec: { template: { spec: { restartPolicy: "Always", containers: [{ name: "psql", image: "postgres" }] } } } });
      new k8s.core.v1.ConfigMap("cm", { metadata: { name: "Bad_Name", namespace: "ns" }, data: { "a/b": "x" } });
      new k8s.core.v1.Service("svc", { metadata: { name: "1gateway", namespace: "ns" }, spec: { ports: [{ port: "https" as unknown as number }] } });
    });
    expect(messages(v, "kubernetes-job-restart-policy")).toEqual(['Job "sub" is invalid: spec.template.spec.restartPolicy: Unsupported value: "Always": supported values: "OnFailure", "Never"']);
    expect(messages(v, "kubernetes-config-keys")[0]).toMatch(/data\[a\/b\]: Invalid value: "a\/b": a valid config key/);
    expect(messages(v, "kubernetes-object-name")).toEqual(
      expect.arrayContaining([expect.stringMatching(/"Bad_Name": a lowercase RFC 1123 subdomain/), expect.stringMatching(/"1gateway": a DNS-1035 label/)]),
    );
    expect(messages(v, "kubernetes-schema")[0]).toMatch(/Service "1gateway" is invalid: spec\.ports\.0\.port: must be integer/);
  });

  it("kubernetes-service-account-token: a token Secret must name its ServiceAccount", async () => {
    const v = await refusals(() => {
      new k8s.core.v1.Secret("orphan", { metadata: { name: "orphan-token", namespace: "ns" }, type: "kubernetes.io/service-account-token" });
      new k8s.core.v1.Secret("reader", {
        metadata: { name: "reader-token", namespace: "ns", annotations: { "kubernetes.io/service-account.name": "reader" } },
        type: "kubernetes.io/service-account-token",
      });
    });
    expect(messages(v, "kubernetes-service-account-token")).toEqual(['Secret "orphan-token" is invalid: metadata.annotations[kubernetes.io/service-account.name]: Required value']);
  });

  it("aws-load-balancer-eip-allocations: one Elastic IP per subnet", async () => {
    const v = await refusals(() => {
      new k8s.core.v1.Service("lb", {
        metadata: {
          name: "gw",
          namespace: "ns",
          annotations: {
            "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
            "service.beta.kubernetes.io/aws-load-balancer-subnets": "subnet-1,subnet-2",
            "service.beta.kubernetes.io/aws-load-balancer-eip-allocations": "eipalloc-1",
          },
        },
        spec: { type: "LoadBalancer", selector: { app: "gw" }, ports: [{ port: 443 }] },
      });
    });
    expect(messages(v, "aws-load-balancer-eip-allocations")).toEqual(["count of EIP allocations (1) and subnets (2) must match"]);
  });
});
