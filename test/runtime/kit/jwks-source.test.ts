// Where the kit takes an issuer's keys from decides whose tokens it believes: a JWKS fetched over plain HTTP
// from another machine is whatever the network between says it is, so anyone on that path could mint any
// identity. The schema says "an https URL"; plain http is for this machine's loopback only (tests, a local IdP).
import { describe, expect, it } from "vitest";
import { serverConfigSchema } from "../../../runtime/kit/config.js";
import { ConfigFileError, startService } from "../../../runtime/kit/index.js";
import { itemsService } from "./fixture.js";

const jwt = (jwks: string) => ({ auth: { jwt: { issuer: "https://idp.example", audience: "items", jwks } } });

describe("server.auth.jwt.jwks as a URL", () => {
  it("refuses plain http to another host, naming the key", () => {
    for (const url of ["http://idp.example/.well-known/jwks.json", "http://10.0.0.7:8080/jwks", "http://127.0.0.1.evil.example/jwks", "http://localhost.evil.example/jwks"]) {
      const r = serverConfigSchema.safeParse(jwt(url));
      expect({ url, ok: r.success }).toEqual({ url, ok: false });
      expect(r.error!.issues[0]!.path).toEqual(["auth", "jwt", "jwks"]);
      expect(r.error!.issues[0]!.message).toMatch(/https/);
    }
  });

  it("takes https anywhere, plain http to loopback, and files", () => {
    for (const jwks of [
      "https://idp.example/.well-known/jwks.json",
      "http://127.0.0.1:9999/jwks.json",
      "http://127.8.0.1/jwks",
      "http://localhost:8080/jwks",
      "http://[::1]:8080/jwks",
      "/etc/meridian/jwks.json",
    ])
      expect({ jwks, ok: serverConfigSchema.safeParse(jwt(jwks)).success }).toEqual({ jwks, ok: true });
  });

  it("a service configured with one does not start", async () => {
    const e = await startService(itemsService, { server: { port: 0, ...jwt("http://idp.example/jwks.json") } }, { processMetrics: false }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(ConfigFileError);
    expect(String((e as Error).message)).toMatch(/server\.auth\.jwt\.jwks: .*https/);
  });
});
