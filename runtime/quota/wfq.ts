/**
 * Weighted fair queuing with virtual time (self-clocked fair queuing, Golestani): each arriving item of
 * a flow gets a finish tag F = max(V, F_last(flow)) + size / weight, where the virtual time V is the
 * finish tag of the item last sent; the scheduler always sends the smallest finish tag (ties: arrival
 * order). Invariants: backlogged flows receive service in proportion to their weights (within one
 * maximum item per flow); a flow that was idle earns no credit for it (V has moved on).
 */

interface Item<T> {
  flow: string;
  size: number;
  finish: number;
  seq: number;
  value: T;
}

export class WeightedFairQueue<T> {
  private readonly weights = new Map<string, number>();
  private readonly lastFinish = new Map<string, number>();
  private readonly heap: Item<T>[] = [];
  private virtualTime = 0;
  private seq = 0;

  setWeight(flow: string, weight: number): void {
    if (!(weight > 0) || !Number.isFinite(weight)) throw new RangeError(`weight of flow "${flow}" is ${weight}; expected a positive number`);
    this.weights.set(flow, weight);
  }

  enqueue(flow: string, size: number, value: T): number {
    if (!(size > 0) || !Number.isFinite(size)) throw new RangeError(`size is ${size}; expected a positive number`);
    const weight = this.weights.get(flow) ?? 1;
    const start = Math.max(this.virtualTime, this.lastFinish.get(flow) ?? 0);
    const finish = start + size / weight;
    this.lastFinish.set(flow, finish);
    this.push({ flow, size, finish, seq: this.seq++, value });
    return finish;
  }

  dequeue(): { flow: string; size: number; value: T } | undefined {
    const top = this.pop();
    if (!top) return undefined;
    this.virtualTime = top.finish;
    return { flow: top.flow, size: top.size, value: top.value };
  }

  get length(): number {
    return this.heap.length;
  }

  get now(): number {
    return this.virtualTime;
  }

  private less(a: Item<T>, b: Item<T>): boolean {
    return a.finish < b.finish || (a.finish === b.finish && a.seq < b.seq);
  }

  private push(x: Item<T>): void {
    const h = this.heap;
    h.push(x);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.less(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private pop(): Item<T> | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}
