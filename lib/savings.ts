/**
 * What Nozzle saves: the CPU and memory requests of the pods that are not
 * running because their workload sleeps (backed-up replicas x the pod
 * template's requests), now and summed over the time asleep. Pure: the facts
 * and the clock go in. `nozzle status` shows it; a component that lists the
 * workloads anyway (the publisher's round) can export it as metrics.
 */
import type { V1PodSpec } from '@kubernetes/client-node';

export interface Requests {
  /** CPU cores. */
  readonly cpu: number;
  /** Bytes. */
  readonly memory: number;
}

export const NO_REQUESTS: Requests = { cpu: 0, memory: 0 };

const suffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** A Kubernetes resource quantity (`250m`, `1.5`, `128Mi`, `1G`, `5e3`) as a number; undefined when it is not one. */
export function parseQuantity(text: string): number | undefined {
  const match = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(
    text.trim(),
  );
  if (!match) return undefined;
  const value = Number(match[1]! + (match[2] ?? ''));
  return value * (suffixes[match[3] ?? '']! ?? 1);
}

/**
 * What one pod of this template requests, as the scheduler counts it: the sum
 * over the containers, or the largest init container's when that is more.
 * A missing or unreadable request counts as 0.
 */
export function podRequests(spec: V1PodSpec | undefined): Requests {
  const of = (c: { resources?: { requests?: Record<string, string> } }, name: string): number =>
    parseQuantity(c.resources?.requests?.[name] ?? '0') ?? 0;
  const sum = (name: string): number => (spec?.containers ?? []).reduce((total, c) => total + of(c, name), 0);
  const init = (name: string): number => Math.max(0, ...(spec?.initContainers ?? []).map((c) => of(c, name)));
  return { cpu: Math.max(sum('cpu'), init('cpu')), memory: Math.max(sum('memory'), init('memory')) };
}

export interface SleepingWorkload {
  /** The backed-up replica count (nozzle.io/replicas). */
  readonly replicas: number;
  readonly perPod: Requests;
  /** When it went to sleep; unknown: counted in `notRunning`, not in the sums over time. */
  readonly since: Date | undefined;
}

export interface Savings {
  /** Requests not running right now. */
  readonly notRunning: Requests;
  /** Summed over the time asleep so far. */
  readonly cpuCoreSeconds: number;
  readonly memoryByteSeconds: number;
}

export function savings(workloads: readonly SleepingWorkload[], now: Date): Savings {
  let cpu = 0;
  let memory = 0;
  let cpuCoreSeconds = 0;
  let memoryByteSeconds = 0;
  for (const w of workloads) {
    const rateCpu = w.replicas * w.perPod.cpu;
    const rateMemory = w.replicas * w.perPod.memory;
    cpu += rateCpu;
    memory += rateMemory;
    if (w.since === undefined) continue;
    const seconds = Math.max(0, (now.getTime() - w.since.getTime()) / 1000);
    cpuCoreSeconds += rateCpu * seconds;
    memoryByteSeconds += rateMemory * seconds;
  }
  return { notRunning: { cpu, memory }, cpuCoreSeconds, memoryByteSeconds };
}

/** A sleeping workload as a long-running exporter tracks it between rounds. */
export interface TrackedSleep extends SleepingWorkload {
  /** `Kind/namespace/name`: the same workload from one round to the next. */
  readonly key: string;
  readonly namespace: string;
}

/** What the previous round saw asleep, and when; undefined before a process's first round. */
export interface SavingsLedger {
  readonly at: Date;
  readonly asleep: ReadonlyMap<string, { readonly namespace: string; readonly rate: Requests }>;
}

export interface Accrued {
  /** Per namespace, what was not running between the previous round and this one. */
  readonly added: ReadonlyMap<
    string,
    { readonly cpuCoreSeconds: number; readonly memoryByteSeconds: number }
  >;
  readonly ledger: SavingsLedger;
}

/**
 * The requests not running between two rounds, for counters summed over
 * time. Counts only time this process saw: the first round adds nothing (a
 * restarted exporter must not count again what its predecessor exported).
 * A workload asleep at both rounds counts the whole interval, or from its
 * sleep when it was woken and put back to sleep in between. One asleep at
 * the previous round and awake now counts until its namespace's wake
 * (`wokeAt`) when that fell in the interval, else nothing: savings are never
 * overstated, at worst one interval per wake is missed.
 */
export function accrue(
  ledger: SavingsLedger | undefined,
  asleep: readonly TrackedSleep[],
  wokeAt: ReadonlyMap<string, Date>,
  now: Date,
): Accrued {
  const added = new Map<string, { cpuCoreSeconds: number; memoryByteSeconds: number }>();
  const next: SavingsLedger['asleep'] = new Map(
    asleep.map((w) => [
      w.key,
      {
        namespace: w.namespace,
        rate: { cpu: w.replicas * w.perPod.cpu, memory: w.replicas * w.perPod.memory },
      },
    ]),
  );
  const add = (namespace: string, rate: Requests, from: number, to: number): void => {
    const seconds = (to - from) / 1000;
    if (!(seconds > 0)) return;
    const sum = added.get(namespace) ?? { cpuCoreSeconds: 0, memoryByteSeconds: 0 };
    added.set(namespace, {
      cpuCoreSeconds: sum.cpuCoreSeconds + rate.cpu * seconds,
      memoryByteSeconds: sum.memoryByteSeconds + rate.memory * seconds,
    });
  };
  /** The end of a sleep under way at `previous`: its namespace's wake, when that fell before `limit`. */
  const wokeUntil = (namespace: string, previous: number, limit: number): number => {
    const woke = wokeAt.get(namespace)?.getTime();
    return woke !== undefined && woke > previous && woke <= limit ? woke : previous;
  };
  if (ledger !== undefined) {
    const previous = ledger.at.getTime();
    const end = now.getTime();
    for (const w of asleep) {
      const rate = next.get(w.key)!.rate;
      const since = w.since?.getTime();
      const was = ledger.asleep.get(w.key);
      if (was !== undefined && (since === undefined || since <= previous)) {
        add(w.namespace, rate, previous, end); // asleep all along
        continue;
      }
      if (was !== undefined) add(w.namespace, was.rate, previous, wokeUntil(w.namespace, previous, since!));
      if (since !== undefined) add(w.namespace, rate, Math.max(since, previous), end);
    }
    for (const [key, was] of ledger.asleep) {
      if (!next.has(key)) add(was.namespace, was.rate, previous, wokeUntil(was.namespace, previous, end));
    }
  }
  return { added, ledger: { at: now, asleep: next } };
}
