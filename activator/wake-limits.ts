/**
 * Rate limits on starting wakes, on this replica: at most one new wake per
 * namespace per NOZZLE_WAKE_MIN_INTERVAL (a wake in progress or just finished
 * is shared anyway: this bounds failed and repeated ones) and, over every
 * namespace, a token bucket of NOZZLE_WAKE_RATE per second with a burst of
 * NOZZLE_WAKE_BURST. A refused start throws WakeRefused; the caller answers
 * like over the hold limit (503 with Retry-After, or a close) and nothing
 * starts.
 */
import type { Counter } from 'prom-client';
import { TokenBucket } from './token-bucket.js';

export type WakeRefusal = 'wake-interval' | 'wake-rate';

export class WakeRefused extends Error {
  override readonly name = 'WakeRefused';

  constructor(
    readonly reason: WakeRefusal,
    readonly namespace: string,
    readonly retryAfterMs: number,
  ) {
    super(
      reason === 'wake-interval'
        ? `namespace ${namespace} started a wake less than the minimum interval ago`
        : 'too many wakes are starting on this activator',
    );
  }
}

export interface WakeLimitSettings {
  readonly minIntervalMs: number;
  readonly ratePerSecond: number;
  readonly burst: number;
}

export class WakeLimits {
  private readonly lastStart = new Map<string, number>();
  private readonly bucket: TokenBucket;

  constructor(
    private readonly settings: WakeLimitSettings,
    private readonly refused?: Counter<'reason'>,
    private readonly now: () => number = () => performance.now(),
  ) {
    this.bucket = new TokenBucket(settings.ratePerSecond, settings.burst, now);
  }

  /** Records a wake start of `namespace`, or throws WakeRefused when a limit forbids it. */
  start(namespace: string): void {
    const now = this.now();
    this.forget(now);
    const last = this.lastStart.get(namespace);
    if (last !== undefined && now - last < this.settings.minIntervalMs) {
      throw this.refuse('wake-interval', namespace, this.settings.minIntervalMs - (now - last));
    }
    const token = this.bucket.take();
    if (!token.ok) throw this.refuse('wake-rate', namespace, token.retryAfterMs);
    this.lastStart.set(namespace, now);
  }

  private refuse(reason: WakeRefusal, namespace: string, retryAfterMs: number): WakeRefused {
    this.refused?.inc({ reason });
    return new WakeRefused(reason, namespace, retryAfterMs);
  }

  /** Drops starts older than the interval, so the map holds only recent namespaces. */
  private forget(now: number): void {
    if (this.lastStart.size < 1024) return;
    for (const [namespace, at] of this.lastStart) {
      if (now - at >= this.settings.minIntervalMs) this.lastStart.delete(namespace);
    }
  }
}
