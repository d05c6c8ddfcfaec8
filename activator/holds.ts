/**
 * The bound on held requests: at most `limit` per namespace wait for a wake
 * at once. A slot is released exactly once: when its request is forwarded,
 * answered, or abandoned by its client.
 */
import type { Gauge } from 'prom-client';

export interface HoldSlot {
  release(): void;
}

export class HoldSlots {
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly limit: number,
    private readonly gauge?: Gauge,
  ) {}

  /** A slot, or undefined when the namespace already holds `limit` requests. */
  tryAcquire(namespace: string): HoldSlot | undefined {
    const count = this.counts.get(namespace) ?? 0;
    if (count >= this.limit) return undefined;
    this.counts.set(namespace, count + 1);
    this.gauge?.inc();
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        const now = (this.counts.get(namespace) ?? 1) - 1;
        if (now <= 0) this.counts.delete(namespace);
        else this.counts.set(namespace, now);
        this.gauge?.dec();
      },
    };
  }

  held(namespace?: string): number {
    if (namespace !== undefined) return this.counts.get(namespace) ?? 0;
    let total = 0;
    for (const n of this.counts.values()) total += n;
    return total;
  }
}
