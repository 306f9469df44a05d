/**
 * Prometheus's own rule checker and rule unit-test runner (`promtool`, Debian `prometheus`) over the rule
 * groups the estate renders into PrometheusRules. A PrometheusRule's `spec` is a Prometheus rule file, so it
 * is written out as one and handed to `promtool check rules` / `promtool test rules` unchanged.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";

export interface PromtoolResult {
  ok: boolean;
  output: string;
}

/** One `promtool test rules` test group (the file format's `tests[]` entry). */
export interface RuleTest {
  name: string;
  interval: string;
  input_series: { series: string; values: string }[];
  alert_rule_test?: { eval_time: string; alertname: string; exp_alerts: { exp_labels: Record<string, string>; exp_annotations?: Record<string, string> }[] }[];
  promql_expr_test?: { expr: string; eval_time: string; exp_samples: { labels: string; value: number }[] }[];
}

function run(args: string[], files: Record<string, unknown>): PromtoolResult {
  const dir = mkdtempSync(join(tmpdir(), "meridian-promtool-"));
  try {
    for (const [name, content] of Object.entries(files)) writeFileSync(join(dir, name), stringify(content));
    const r = spawnSync("promtool", args, { cwd: dir, encoding: "utf8" });
    if (r.error) throw new Error(`promtool could not run (Debian package prometheus): ${r.error.message}`);
    return { ok: r.status === 0, output: `${r.stdout}${r.stderr}` };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `promtool check rules` on one rule file (a PrometheusRule's spec). */
export function checkRules(ruleFile: unknown): PromtoolResult {
  return run(["check", "rules", "rules.yaml"], { "rules.yaml": ruleFile });
}

/**
 * `promtool check rules` on many rule files in one run (one process instead of one per file), each file's result
 * apart: its own section of promtool's stdout ("Checking <file>" … "SUCCESS") and its own lines of stderr.
 */
export function checkRulesEach(ruleFiles: unknown[]): PromtoolResult[] {
  const names = ruleFiles.map((_, i) => `rules-${i}.yaml`);
  const dir = mkdtempSync(join(tmpdir(), "meridian-promtool-"));
  try {
    names.forEach((name, i) => writeFileSync(join(dir, name), stringify(ruleFiles[i])));
    const r = spawnSync("promtool", ["check", "rules", ...names], { cwd: dir, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
    if (r.error) throw new Error(`promtool could not run (Debian package prometheus): ${r.error.message}`);
    const sections = new Map(r.stdout.split(/^(?=Checking )/m).map((s) => [/^Checking (\S+)/.exec(s)?.[1], s] as const));
    const errors = r.stderr.split("\n");
    const results = names.map((name) => {
      const section = sections.get(name);
      if (section === undefined) throw new Error(`promtool check rules printed no section for ${name}:\n${r.stdout}${r.stderr}`);
      const own = errors.filter((l) => l.startsWith(`${name}:`));
      return { ok: /^ {2}SUCCESS\b/m.test(section) && own.length === 0, output: `${section}${own.join("\n")}` };
    });
    // promtool's status is the files' together: a failure it reports must be some file's.
    if ((r.status === 0) !== results.every((x) => x.ok)) throw new Error(`promtool check rules exited ${r.status}, unlike its per-file results:\n${r.stdout}${r.stderr}`);
    return results;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Rule {
  alert?: string;
  record?: string;
  expr?: string;
}
type Group = { rules: Rule[] } & Record<string, unknown>;

/**
 * The groups of `file` an alert is evaluated with: its own group and, transitively, every group recording a series
 * those groups' expressions read. Prometheus evaluates each group on its own, so the alert sees the same values as
 * with the whole file; promtool evaluates every rule of its rule files at every step of every test group, so the
 * other groups' rules only cost time (the prod PKI file: 29 rules, 44 test groups, ~11 of promtool's ~14 CPU s).
 */
function groupsFor(file: { groups: Group[] }, alert: string): Group[] {
  const own = file.groups.find((g) => g.rules.some((r) => r.alert === alert));
  if (!own) throw new Error(`no alert ${alert} in the rule file`);
  const recordedIn = file.groups.flatMap((g) => g.rules.flatMap((r) => (r.record ? [{ record: r.record, group: g }] : [])));
  const reads = (g: Group, record: string) => g.rules.some((r) => new RegExp(`(?<![\\w:])${record.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}(?![\\w:])`).test(r.expr ?? ""));
  const chosen = new Set<Group>([own]);
  for (let grew = true; grew;) {
    grew = false;
    for (const { record, group } of recordedIn)
      if (!chosen.has(group) && [...chosen].some((g) => reads(g, record))) {
        chosen.add(group);
        grew = true;
      }
  }
  return file.groups.filter((g) => chosen.has(g)); // in the file's order
}

/**
 * `promtool test rules` with the given test groups against one rule file, in one promtool run: each test group
 * (every one tests one alert, as ruleTests writes them) with the rule file's groups that alert is evaluated with
 * (groupsFor), one rule and test file per such set. Passes when promtool passes every test group.
 */
export function testRules(ruleFile: unknown, tests: RuleTest[]): PromtoolResult {
  const file = ruleFile as { groups: Group[] };
  const sets = new Map<string, { groups: Group[]; tests: RuleTest[] }>();
  for (const t of tests) {
    const alerts = new Set((t.alert_rule_test ?? []).map((a) => a.alertname));
    // A test group of no alert or several (or of recorded series) is evaluated with the whole file.
    const groups = alerts.size === 1 && !t.promql_expr_test ? groupsFor(file, [...alerts][0]!) : file.groups;
    const key = groups.map((g) => file.groups.indexOf(g)).join(",");
    const set = sets.get(key) ?? sets.set(key, { groups, tests: [] }).get(key)!;
    set.tests.push(t);
  }
  if (sets.size === 0) sets.set("", { groups: file.groups, tests: [] });
  const files: Record<string, unknown> = {};
  [...sets.values()].forEach((set, i) => {
    files[`rules-${i}.yaml`] = { ...file, groups: set.groups };
    files[`tests-${i}.yaml`] = { rule_files: [`rules-${i}.yaml`], evaluation_interval: "1m", tests: set.tests };
  });
  return run(["test", "rules", ...Object.keys(files).filter((f) => f.startsWith("tests-"))], files);
}
