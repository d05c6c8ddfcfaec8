/**
 * What Nozzle saves, per opted-in namespace, exported at each round: the
 * requests not running now (gauges) and their sum over time (counters that
 * this process accrues from round to round, lib/savings.ts). A CronJob run
 * is one round of a fresh process: its gauges are never scraped and its
 * counters add nothing, so it reports the totals in its round log; the
 * metrics need the loop mode (docs/decisions.md, "Savings").
 */
import { parseRfc3339 } from '../lib/rfc3339.js';
import { annotations } from '../lib/names.js';
import { accrue, savings, type Requests, type SavingsLedger, type TrackedSleep } from '../lib/savings.js';
import type { PublisherMetrics } from './metrics.js';
import type { NamespaceFacts } from './policy.js';

export interface SavedNow {
  /** Requests not running now, all opted-in namespaces together. */
  readonly notRunning: Requests;
  /** Summed over the current sleeps (since each workload went to sleep), as `nozzle status` shows. */
  readonly cpuCoreSeconds: number;
  readonly memoryByteSeconds: number;
}

export class SavingsMeter {
  #ledger: SavingsLedger | undefined;
  readonly #counted = new Set<string>();

  constructor(private readonly metrics?: PublisherMetrics) {}

  record(namespaces: readonly NamespaceFacts[], asleep: readonly TrackedSleep[], now: Date): SavedNow {
    const wokeAt = new Map<string, Date>();
    for (const ns of namespaces) {
      const text = ns.annotations?.[annotations.wokeAt];
      const at = text === undefined ? undefined : parseRfc3339(text);
      if (at !== undefined) wokeAt.set(ns.name, new Date(at));
    }
    const { added, ledger } = accrue(this.#ledger, asleep, wokeAt, now);
    this.#ledger = ledger;
    const m = this.metrics;
    if (m !== undefined) {
      m.savedCpuCores.reset();
      m.savedMemoryBytes.reset();
      const names = new Set(namespaces.map((ns) => ns.name));
      const byNamespace = new Map<string, TrackedSleep[]>();
      for (const w of asleep) {
        const list = byNamespace.get(w.namespace);
        if (list === undefined) byNamespace.set(w.namespace, [w]);
        else list.push(w);
      }
      for (const name of this.#counted) {
        if (names.has(name)) continue; // opted out or deleted: its series end
        m.savedCpuCoreSeconds.remove({ namespace: name });
        m.savedMemoryByteSeconds.remove({ namespace: name });
        this.#counted.delete(name);
      }
      for (const name of names) {
        const own = savings(byNamespace.get(name) ?? [], now).notRunning;
        m.savedCpuCores.set({ namespace: name }, own.cpu);
        m.savedMemoryBytes.set({ namespace: name }, own.memory);
        const sum = added.get(name);
        m.savedCpuCoreSeconds.inc({ namespace: name }, sum?.cpuCoreSeconds ?? 0);
        m.savedMemoryByteSeconds.inc({ namespace: name }, sum?.memoryByteSeconds ?? 0);
        this.#counted.add(name);
      }
    }
    const total = savings(asleep, now);
    return {
      notRunning: total.notRunning,
      cpuCoreSeconds: total.cpuCoreSeconds,
      memoryByteSeconds: total.memoryByteSeconds,
    };
  }
}
