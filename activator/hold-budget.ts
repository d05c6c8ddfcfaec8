/**
 * The global bound on what held connections cost (NOZZLE_HOLD_BUDGET), across
 * every namespace: each held connection is charged a fixed estimate of what
 * holding it costs (socket, buffers, promises: HELD_CONNECTION_BYTES) plus
 * the bytes it has buffered (held-bytes.ts). A new connection that would take
 * the total past the budget is refused, whatever its namespace; one already
 * held is never cut off, its buffer being capped anyway. A charge is
 * released exactly once.
 */
import type { Gauge } from 'prom-client';

/**
 * What one held connection costs besides its buffered bytes. Measured by
 * bench/activator-held.ts (docs/benchmarks.md, "10,000 held connections"):
 * VmRSS 136 MiB idle, 253 MiB holding 10,000, so about 12 KiB each.
 */
export const HELD_CONNECTION_BYTES = 12 * 1024;

export interface BudgetCharge {
  /** Charges `bytes` more (bytes the connection buffered). */
  add(bytes: number): void;
  release(): void;
}

export class HoldBudget {
  private usedBytes = 0;

  constructor(
    private readonly budgetBytes: number,
    private readonly gauge?: Gauge,
    private readonly perConnectionBytes = HELD_CONNECTION_BYTES,
  ) {}

  /** A charge of the per-connection estimate plus `bytes`, or undefined when that would pass the budget. */
  tryCharge(bytes: number): BudgetCharge | undefined {
    const first = this.perConnectionBytes + bytes;
    if (this.usedBytes + first > this.budgetBytes) return undefined;
    let charged = 0;
    let released = false;
    const add = (n: number): void => {
      if (released) return;
      charged += n;
      this.change(n);
    };
    add(first);
    return {
      add,
      release: () => {
        if (released) return;
        released = true;
        this.change(-charged);
      },
    };
  }

  /** Bytes charged now. */
  get used(): number {
    return this.usedBytes;
  }

  private change(n: number): void {
    this.usedBytes += n;
    this.gauge?.set(this.usedBytes);
  }
}
