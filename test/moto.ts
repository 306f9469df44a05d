/**
 * A private S3 server for tests that need S3's conditional writes (`If-None-Match: *`, `If-Match`), which s3rver
 * ignores: moto's server (the Python package `moto`, in the machine image), on a port of its own on loopback.
 * Buckets are made with `bucket(name)`; SigV4 signatures are accepted as sent.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { AwsClient } from "aws4fetch";

export interface MotoServer {
  url: string;
  creds: { accessKeyId: string; secretAccessKey: string };
  /** Create a bucket; its base URL (path-style). */
  bucket(name: string): Promise<string>;
  close(): Promise<void>;
}

function launch(cmd: string, args: string[]): Promise<{ child: ChildProcess; url: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const seen = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /Running on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) resolve({ child, url: m[1]! });
    };
    child.stdout!.on("data", seen);
    child.stderr!.on("data", seen);
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`${cmd} exited with ${code} before serving: ${out.slice(-500)}`)));
  });
}

export async function startMoto(): Promise<MotoServer> {
  let started: { child: ChildProcess; url: string };
  try {
    started = await launch("moto_server", ["-H", "127.0.0.1", "-p", "0"]);
  } catch (e) {
    if ((e as { code?: string }).code !== "ENOENT") throw e;
    started = await launch("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", "0"]);
  }
  const { child, url } = started;
  const creds = { accessKeyId: "moto", secretAccessKey: "moto" };
  const s3 = new AwsClient({ ...creds, service: "s3", region: "us-east-1" });
  return {
    url,
    creds,
    async bucket(name) {
      const res = await s3.fetch(`${url}/${name}`, { method: "PUT" });
      if (!res.ok) throw new Error(`create bucket ${name}: HTTP ${res.status} ${await res.text()}`);
      return `${url}/${name}`;
    },
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGTERM");
      }),
  };
}
