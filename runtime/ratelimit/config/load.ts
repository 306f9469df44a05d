/**
 * Config from a file or a directory (envoyproxy/ratelimit's runtime directory): every `*.yaml` / `*.yml`
 * in name order, dot files skipped; a domain defined in two files is merged when `mergeDomains` is on
 * (MERGE_DOMAIN_CONFIG) and refused otherwise. `watchConfig` reloads when a file changes (debounced);
 * a config that fails to load is reported and the running one kept.
 */
import { readdirSync, readFileSync, statSync, watch, type FSWatcher } from "node:fs";
import { join } from "node:path";
import { compileDomains, type CompiledDomain } from "./compile.js";
import { ConfigError, parseRateLimitConfig, type DomainConfig } from "./schema.js";

export interface LoadedConfig {
  domains: Map<string, CompiledDomain>;
  /** The parsed domains, file by file (for `validate`). */
  parsed: DomainConfig[];
  files: string[];
}

function configFiles(path: string): string[] {
  let st;
  try {
    st = statSync(path);
  } catch (err) {
    throw new ConfigError(`cannot read config ${path}: ${(err as Error).message}`);
  }
  if (!st.isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((f) => !f.startsWith(".") && /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
  if (files.length === 0) throw new ConfigError(`${path}: no *.yaml files in the config directory`);
  return files;
}

export function loadConfig(path: string, mergeDomains = false): LoadedConfig {
  const files = configFiles(path);
  const parsed: DomainConfig[] = [];
  const problems: string[] = [];
  for (const f of files) {
    try {
      parsed.push(...parseRateLimitConfig(readFileSync(f, "utf8"), f));
    } catch (err) {
      if (!(err instanceof ConfigError)) throw new ConfigError(`cannot read config ${f}: ${(err as Error).message}`);
      problems.push(err.message);
    }
  }
  if (problems.length) throw new ConfigError(problems.join("\n"));
  return { domains: compileDomains(parsed, mergeDomains), parsed, files };
}

/** Watch the config file or directory; `onChange` runs once per burst of changes. Returns a stop function. */
export function watchConfig(path: string, onChange: () => void, debounceMs = 200): () => void {
  let timer: NodeJS.Timeout | undefined;
  let watcher: FSWatcher | undefined;
  const fire = () => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs).unref();
  };
  try {
    // A directory watch sees files added, removed and rewritten (including editors' rename-over).
    const dir = statSync(path).isDirectory();
    watcher = watch(path, { persistent: false }, () => fire());
    if (!dir) {
      // Atomic replaces (ConfigMap symlink swaps, `mv new old`) end the watch on the old inode: poll too.
      let last = statSync(path).mtimeMs;
      const poll = setInterval(() => {
        try {
          const m = statSync(path).mtimeMs;
          if (m !== last) {
            last = m;
            fire();
          }
        } catch {
          /* the file is being replaced; the next tick sees the new one */
        }
      }, 1000).unref();
      const w = watcher;
      watcher = { close: () => (clearInterval(poll), w.close()) } as unknown as FSWatcher;
    }
  } catch {
    return () => {};
  }
  return () => {
    if (timer) clearTimeout(timer);
    watcher?.close();
  };
}
