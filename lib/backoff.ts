/** Exponential backoff, the one rule for every retry loop: the delay doubles from `first` up to `max`. */

/** The delay before retry number `attempt` (1 waits `first`). */
export function backoffDelay(attempt: number, first: number, max: number): number {
  return Math.min(max, first * 2 ** Math.min(Math.max(attempt - 1, 0), 30));
}

/** The delays of one retry loop: `next()` for each failure, `reset()` after progress. */
export class Backoff {
  #attempt = 0;
  constructor(
    readonly first: number,
    readonly max: number,
  ) {}

  next(): number {
    return backoffDelay(++this.#attempt, this.first, this.max);
  }

  reset(): void {
    this.#attempt = 0;
  }
}
