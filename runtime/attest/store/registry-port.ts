/**
 * The registry store port (core/registry.ts): `load` the whole registry at start, `write` each change durably
 * before it is acknowledged. Adapters: memory (the default: a restart forgets, as before), a file
 * (registry-file.ts) and PostgreSQL (registry-postgres.ts); `attest serve` picks one from its `store` config.
 */
import { applyChange, emptyRegistry, type RegistryChange, type RegistryState } from "../core/registry.js";

export interface RegistryStore {
  readonly description: string;
  load(): Promise<RegistryState>;
  write(change: RegistryChange): Promise<void>;
  close(): Promise<void>;
}

export class MemoryRegistryStore implements RegistryStore {
  readonly description = "memory (forgotten on restart)";
  private readonly state = emptyRegistry();

  async load(): Promise<RegistryState> {
    return copyRegistry(this.state);
  }

  async write(change: RegistryChange): Promise<void> {
    applyChange(this.state, change);
  }

  async close(): Promise<void> {}
}

export function copyRegistry(s: RegistryState): RegistryState {
  return { enrolled: new Map(s.enrolled), revoked: new Map(s.revoked), clocks: new Map(s.clocks), results: new Map(s.results), logSize: s.logSize };
}
