/**
 * The memory store's slot table: a Map from counter key to a slot, four numbers of one Float64Array
 * holding the counter's state (expiry, state length, its first two numbers; longer sliding states
 * beside), so a decision reads one cache line instead of an entry object and boxed numbers. The in-place
 * decision path on it is memory-slots.ts.
 *
 * A level object reused across requests (a plan's, marked by `reusedLevel`) remembers its slot, so a
 * repeated counter is found without hashing its key; the memo is trusted only while this store's slot of
 * that number holds that key (a sweep, reset or close frees it, and the next decision looks the key up
 * again), so a memo from another store or of a reused slot is never read as this key's. Such a level's
 * key never changes (a ReusedLevel's is readonly): the level that last found a slot is its owner, whose
 * memo is trusted without comparing keys. A slot changes key only by being freed (drop, clear), which
 * renews the table's stamp: memos of whole hierarchies (memory-slots.ts) hold the stamp they were made under.
 */
import type { Level } from "../core/hierarchy.js";
import type { State } from "../core/limit.js";

/**
 * A slot's four numbers in `nums`. A const enum, so its members are literals in the compiled code (a
 * module-level const is a context slot TurboFan loads and checks at every use); memory-slots.ts has its
 * own, held equal to this one by SlotLayout.
 */
const enum Slot {
  STRIDE = 4,
  EXPIRES = 0,
  LENGTH = 1,
  S0 = 2,
  S1 = 3,
}
export type SlotLayout = [stride: 4, expires: 0, length: 1, s0: 2, s1: 3];
void ([Slot.STRIDE, Slot.EXPIRES, Slot.LENGTH, Slot.S0, Slot.S1] satisfies SlotLayout);

/** The last stamp given to a table (SlotTable.stamp). */
let stamps = 0;

/** The counters by slot; MemorySlots (memory-slots.ts) steps decisions on them. */
export class SlotTable {
  /** Renewed whenever a slot is freed: LevelsMemos of another stamp are stale. */
  protected stamp = ++stamps;
  protected readonly index = new Map<string, number>();
  protected nums = new Float64Array(1024 * Slot.STRIDE);
  /** The key held by each slot (undefined: free). */
  protected readonly keys: (string | undefined)[] = [];
  /**
   * The reused level that last found each slot: while it is that slot's owner its memo needs no string
   * comparison (keys are not interned, so === on two of them calls a builtin).
   */
  protected readonly owners: (Level | undefined)[] = [];
  /** States of more than two numbers, by slot. */
  protected readonly long: (State | undefined)[] = [];
  private readonly freeSlots: number[] = [];

  /** The slot holding `lv`'s counter (−1: none), looked up by key and remembered on a reused level. */
  private slotOf(lv: Level): number {
    const s = this.index.get(lv.key) ?? -1;
    if (lv.slot !== undefined) {
      lv.slot = s;
      if (s !== -1) this.owners[s] = lv;
    }
    return s;
  }

  /**
   * The slot holding `lv`'s counter (−1: none yet). A reused level's memo is trusted while this store's
   * slot of that number holds its key: at once if this level object found it last (its owner), else by
   * comparing keys (a level of the same key from another plan cache, which then takes the slot over).
   */
  protected slotFor(lv: Level): number {
    const memo = lv.slot as number | undefined;
    if (memo !== undefined && memo >= 0) {
      if (this.owners[memo] === lv) return memo;
      if (this.keys[memo] === lv.key) return ((this.owners[memo] = lv), memo);
    }
    return this.slotOf(lv);
  }

  /** A slot for a level's new counter, remembered on a reused level. */
  protected newSlotFor(lv: Level): number {
    const s = this.newSlot(lv.key);
    if (lv.slot !== undefined) {
      lv.slot = s;
      this.owners[s] = lv;
    }
    return s;
  }

  private newSlot(key: string): number {
    let s = this.freeSlots.pop();
    if (s === undefined) {
      s = this.keys.length;
      if ((s + 1) * Slot.STRIDE > this.nums.length) this.grow();
    }
    this.keys[s] = key;
    this.nums[s * Slot.STRIDE + Slot.LENGTH] = 0;
    this.index.set(key, s);
    return s;
  }

  private grow(): void {
    const grown = new Float64Array(this.nums.length * 2);
    grown.set(this.nums);
    this.nums = grown;
  }

  protected drop(key: string, slot: number): void {
    this.stamp = ++stamps;
    this.index.delete(key);
    this.keys[slot] = undefined;
    this.owners[slot] = undefined;
    this.long[slot] = undefined;
    this.freeSlots.push(slot);
  }

  protected write(key: string, state: State, expiresAt: number): void {
    const s = this.index.get(key) ?? this.newSlot(key);
    const nums = this.nums;
    const b = s * Slot.STRIDE;
    nums[b + Slot.EXPIRES] = expiresAt;
    nums[b + Slot.LENGTH] = state.length;
    if (state.length > 2) {
      this.long[s] = state;
      return;
    }
    this.long[s] = undefined;
    nums[b + Slot.S0] = state.length > 0 ? state[0]! : 0;
    nums[b + Slot.S1] = state.length > 1 ? state[1]! : 0;
  }

  protected read(key: string, nowMs: number): State | undefined {
    const s = this.index.get(key);
    if (s === undefined) return undefined;
    const nums = this.nums;
    const b = s * Slot.STRIDE;
    if (!(nums[b + Slot.EXPIRES]! > nowMs)) return undefined;
    const len = nums[b + Slot.LENGTH]!;
    return len > 2 ? this.long[s] : len === 2 ? [nums[b + Slot.S0]!, nums[b + Slot.S1]!] : len === 1 ? [nums[b + Slot.S0]!] : [];
  }

  /** Drop expired states. */
  sweep(nowMs: number): void {
    for (const [k, s] of this.index) if (this.nums[s * Slot.STRIDE + Slot.EXPIRES]! <= nowMs) this.drop(k, s);
  }

  get size(): number {
    return this.index.size;
  }

  /** Forget every counter. */
  protected clear(): void {
    this.stamp = ++stamps;
    this.index.clear();
    this.keys.length = 0;
    this.owners.length = 0;
    this.long.length = 0;
    this.freeSlots.length = 0;
  }
}
