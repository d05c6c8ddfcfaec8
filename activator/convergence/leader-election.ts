/**
 * One activator replica at a time runs convergence: leader election on the
 * coordination.k8s.io Lease `nozzle-system/nozzle-activator-leader`, the way
 * client-go's leaderelection does it. Every replica tries every retry period;
 * the Lease is taken when it is free, expired (renewTime + leaseDuration in
 * the past) or already ours, by a write conditional on the resourceVersion
 * read (two candidates: one 409s). The leader renews every retry period and
 * stops leading when it could not renew for the renew deadline (before the
 * lease duration lets another replica take over). On stop it releases the
 * Lease (holder cleared) so the next leader need not wait for it to expire.
 */
import { V1MicroTime, type V1Lease } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kube } from '../../lib/kube/client.js';
import { describeError, isConflict, isNotFound } from '../../lib/errors.js';
import type { Logger } from '../../lib/log.js';
import { FIELD_MANAGER } from '../../lib/names.js';

export const LEADER_LEASE = 'nozzle-activator-leader';

export interface LeaderTiming {
  readonly leaseDurationMs: number;
  readonly renewDeadlineMs: number;
  readonly retryPeriodMs: number;
}

/** Pure: whether `identity` may take or renew the Lease at `now`. */
export function mayHold(lease: V1Lease, identity: string, now: Date): boolean {
  const holder = lease.spec?.holderIdentity ?? '';
  if (holder === '' || holder === identity) return true;
  const renewed = lease.spec?.renewTime ?? lease.spec?.acquireTime;
  if (renewed === undefined) return true;
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 0) * 1000;
  return new Date(renewed).getTime() + durationMs < now.getTime();
}

/** Pure: the Lease `identity` writes to take or renew it. */
export function heldLease(
  current: V1Lease | undefined,
  identity: string,
  now: Date,
  leaseDurationMs: number,
): V1Lease {
  const spec = current?.spec ?? {};
  const taking = spec.holderIdentity !== identity;
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: {
      ...current?.metadata,
      name: current?.metadata?.name ?? LEADER_LEASE,
    },
    spec: {
      ...spec,
      holderIdentity: identity,
      leaseDurationSeconds: Math.max(1, Math.ceil(leaseDurationMs / 1000)),
      acquireTime: taking ? new V1MicroTime(now) : spec.acquireTime,
      renewTime: new V1MicroTime(now),
      leaseTransitions: (spec.leaseTransitions ?? 0) + (taking && current !== undefined ? 1 : 0),
    },
  };
}

export interface LeaderElectionOptions {
  readonly kube: Kube;
  readonly namespace: string;
  readonly identity: string;
  readonly timing: LeaderTiming;
  readonly log: Logger;
  readonly onStartedLeading: () => void;
  readonly onStoppedLeading: () => void;
  /** The Lease's name (LEADER_LEASE; tests use their own). */
  readonly name?: string;
}

export class LeaderElection {
  private leading = false;
  private lastRenewed = 0;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private readonly name: string;

  constructor(private readonly options: LeaderElectionOptions) {
    this.name = options.name ?? LEADER_LEASE;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  start(): this {
    this.loop ??= this.run();
    return this;
  }

  /** Stops trying; a leader stops leading and releases the Lease. */
  async stop(): Promise<void> {
    this.stopping.abort();
    await this.loop;
    if (this.leading) {
      this.setLeading(false);
      await this.release().catch((err: unknown) =>
        this.options.log.warn({ err: describeError(err) }, 'could not release the leader Lease'),
      );
    }
  }

  /** One attempt to take or renew the Lease; resolves to whether this replica holds it. */
  async tryAcquireOrRenew(now: Date = new Date()): Promise<boolean> {
    const { kube, namespace, identity, timing } = this.options;
    let current: V1Lease | undefined;
    try {
      current = await kube.coordination.readNamespacedLease({ namespace, name: this.name });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    if (current !== undefined && !mayHold(current, identity, now)) return false;
    const body = heldLease(current, identity, now, timing.leaseDurationMs);
    body.metadata = { ...body.metadata, name: this.name };
    try {
      if (current === undefined) {
        await kube.coordination.createNamespacedLease({ namespace, body, fieldManager: FIELD_MANAGER });
      } else {
        await kube.coordination.replaceNamespacedLease({
          namespace,
          name: this.name,
          body,
          fieldManager: FIELD_MANAGER,
        });
      }
      return true;
    } catch (err) {
      if (isConflict(err)) return false; // another candidate wrote first
      throw err;
    }
  }

  private async run(): Promise<void> {
    const { timing, log } = this.options;
    while (!this.stopping.signal.aborted) {
      try {
        if (await this.tryAcquireOrRenew()) {
          this.lastRenewed = Date.now();
          if (!this.leading) this.setLeading(true);
        } else if (this.leading) {
          log.warn('the leader Lease was taken by another replica');
          this.setLeading(false);
        }
      } catch (err) {
        log.warn({ err: describeError(err) }, 'leader election: could not read or write the Lease');
      }
      if (this.leading && Date.now() - this.lastRenewed > timing.renewDeadlineMs) {
        log.warn({ renewDeadlineMs: timing.renewDeadlineMs }, 'could not renew the leader Lease in time');
        this.setLeading(false);
      }
      await sleep(timing.retryPeriodMs, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
  }

  private setLeading(leading: boolean): void {
    this.leading = leading;
    this.options.log.info({ identity: this.options.identity }, leading ? 'leading' : 'no longer leading');
    if (leading) this.options.onStartedLeading();
    else this.options.onStoppedLeading();
  }

  /** Clears the holder (only if still ours), so another replica takes over at once. */
  private async release(): Promise<void> {
    const { kube, namespace, identity } = this.options;
    const current = await kube.coordination.readNamespacedLease({ namespace, name: this.name });
    if (current.spec?.holderIdentity !== identity) return;
    await kube.coordination.replaceNamespacedLease({
      namespace,
      name: this.name,
      body: { ...current, spec: { ...current.spec, holderIdentity: '', leaseDurationSeconds: 1 } },
      fieldManager: FIELD_MANAGER,
    });
  }
}
