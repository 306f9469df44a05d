import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { runCli } from "../cli.js";

const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };

describe("meridian usage", () => {
  it("--version and -V print the package version and exit 0", () => {
    for (const flag of ["--version", "-V"]) {
      const r = runCli([flag]);
      expect(r.status).toBe(0);
      expect(r.stdout.trim()).toBe(pkg.version);
    }
  });

  it("--help exits 0", () => {
    const r = runCli(["--help"]);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/Usage: meridian/);
  });

  it.each([
    ["an unknown option", ["runbook", "--no-such-flag"], /unknown option '--no-such-flag'/],
    ["an unknown command", ["no-such-command"], /unknown command 'no-such-command'/],
    ["an option missing its value", ["plan", "--stack"], /option '-s, --stack <name>' argument missing/],
    ["a missing required option", ["log", "proof", "--index", "0"], /required option '--log <url>' not specified/],
    ["a missing argument", ["time", "query"], /missing required argument .server./],
  ])("%s is a usage error: the message, the help hint, exit 2", (_what, args, message) => {
    const r = runCli(args);
    expect(r.stderr).toMatch(message);
    expect(r.status).toBe(2);
  });
});
