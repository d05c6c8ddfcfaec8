/**
 * The figures every fault of the sandbox fault matrix reports (issue 11,
 * "Faults"), measured the way a user meets them: replica counts lost (a
 * workload that runs another count after the wake than before the sleep),
 * workloads stranded at 0 without a wake path (polled all through the fault:
 * at 0 replicas while its Service has no takeover endpoints), and the
 * outage (from a user's first request to the first 200 from the app's own
 * pod). Shared by test/e2e/faults.test.ts; the table goes to
 * test-results/faults.md.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Kube } from '../../lib/kube/client.js';
import { isNotFound } from '../../lib/errors.js';
import { annotations } from '../../lib/names.js';
import type { HttpAnswer } from '../testenv/servers/http.js';
import { APP_NAMESPACE, podOf } from './scenario.js';
import { takeoverAddresses, takeoverSlicesIn } from './takeover.js';

/** What each workload of scripts/e2e/app.yaml runs awake; each is selected by the Service of its own name. */
export const APP_REPLICAS = { web: 2, api: 1, tcp: 1 } as const;
export type AppWorkload = keyof typeof APP_REPLICAS;
export type Replicas = Record<AppWorkload, number>;
const WORKLOADS = Object.keys(APP_REPLICAS) as AppWorkload[];

export interface WorkloadState {
  readonly replicas: number | undefined;
  readonly ready: number;
  /** `nozzle.io/replicas`, while asleep. */
  readonly backup: string | undefined;
}

/** Each app workload as it is now; undefined for one that does not exist (deleted by the fault). */
export async function appWorkloads(kube: Kube): Promise<Record<AppWorkload, WorkloadState | undefined>> {
  const read = async (name: AppWorkload): Promise<WorkloadState | undefined> => {
    try {
      const object =
        name === 'tcp'
          ? await kube.apps.readNamespacedStatefulSet({ name, namespace: APP_NAMESPACE })
          : await kube.apps.readNamespacedDeployment({ name, namespace: APP_NAMESPACE });
      return {
        replicas: object.spec?.replicas,
        ready: object.status?.readyReplicas ?? 0,
        backup: object.metadata?.annotations?.[annotations.replicas],
      };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };
  const [web, api, tcp] = await Promise.all(WORKLOADS.map(read));
  return { web, api, tcp };
}

/** The workloads whose replicas differ from `want`, as "web 1 (want 2)". */
export function lostReplicas(now: Record<AppWorkload, WorkloadState | undefined>, want: Replicas): string[] {
  return WORKLOADS.filter((w) => now[w]?.replicas !== want[w]).map(
    (w) => `${w} ${now[w]?.replicas ?? 'missing'} (want ${want[w]})`,
  );
}

/**
 * Awake again: every workload at `want` replicas, all ready, no backup left
 * and no takeover slice in the namespace. Waits up to `timeoutMs`, then
 * returns what it saw last (the caller reports what did not settle).
 */
export async function settleAwake(
  kube: Kube,
  want: Replicas,
  timeoutMs: number,
): Promise<{ settled: boolean; seconds: number; last: string }> {
  const started = performance.now();
  let last = 'nothing read';
  while (performance.now() - started < timeoutMs) {
    try {
      const [now, slices] = await Promise.all([appWorkloads(kube), takeoverSlicesIn(kube)]);
      const waiting = WORKLOADS.filter((w) => {
        const s = now[w];
        return s?.replicas !== want[w] || s.ready !== want[w] || s.backup !== undefined;
      });
      last =
        waiting
          .map(
            (w) => `${w} ${now[w]?.replicas ?? '-'}/${now[w]?.ready ?? '-'} backup ${now[w]?.backup ?? '-'}`,
          )
          .join(', ') + (slices.length > 0 ? `; ${slices.length} takeover slice(s) left` : '');
      if (waiting.length === 0 && slices.length === 0)
        return { settled: true, seconds: (performance.now() - started) / 1000, last: '' };
    } catch (err) {
      last = String(err);
    }
    await sleep(250);
  }
  return { settled: false, seconds: timeoutMs / 1000, last };
}

/** How long each workload was seen at 0 without a wake path, at its longest (ms), and how many checks ran. */
export interface StrandedReport {
  readonly checks: number;
  readonly longestMs: Partial<Record<AppWorkload, number>>;
}

/**
 * Polls every `periodMs` until stopped: a workload at 0 replicas whose
 * Service (the same name) has no takeover slice with endpoints has no wake
 * path (a Service that is gone gives none either).
 */
export function watchStranded(kube: Kube, periodMs = 500): { stop(): Promise<StrandedReport> } {
  const since: Partial<Record<AppWorkload, number>> = {};
  const longestMs: Partial<Record<AppWorkload, number>> = {};
  let checks = 0;
  let stopped = false;
  const close = (w: AppWorkload, now: number): void => {
    const start = since[w];
    if (start === undefined) return;
    longestMs[w] = Math.max(longestMs[w] ?? 0, now - start, 1);
    delete since[w];
  };
  const loop = (async () => {
    while (!stopped) {
      try {
        const [now, slices] = await Promise.all([appWorkloads(kube), takeoverSlicesIn(kube)]);
        const at = performance.now();
        checks += 1;
        for (const w of WORKLOADS) {
          if (now[w]?.replicas === 0 && takeoverAddresses(slices, w) === '') since[w] ??= at;
          else close(w, at);
        }
      } catch {
        // A failed read is no check; the next one counts.
      }
      await sleep(periodMs);
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      for (const w of WORKLOADS) close(w, performance.now());
      return { checks, longestMs };
    },
  };
}

export interface Outage {
  /** From the first request to the first 200 from the app's own pod. */
  readonly seconds: number;
  readonly attempts: number;
  /** The answers before the 200, in order, as statuses or errors ("503", "ECONNREFUSED"). */
  readonly before: readonly string[];
  readonly pod: string;
}

/** `answer`, or a rejection once `ms` have passed (the request itself is left to its own timeout). */
function within<T>(answer: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer in ${Math.round(ms)} ms`)), ms);
  });
  return Promise.race([answer, late]).finally(() => clearTimeout(timer));
}

/**
 * A user retrying `request` until the app's own pod (its name matches
 * `pod`) answers 200, for at most `timeoutMs`; every attempt is bounded by
 * what is left. Throws with every answer seen when the app never answers.
 */
export async function untilTheAppAnswers(
  what: string,
  request: () => Promise<HttpAnswer>,
  pod: RegExp,
  timeoutMs: number,
): Promise<Outage> {
  const started = performance.now();
  const before: string[] = [];
  for (;;) {
    const left = timeoutMs - (performance.now() - started);
    if (left <= 0) break;
    try {
      const answer = await within(request(), left);
      if (answer.status === 200 && pod.test(podOf(answer)))
        return {
          seconds: (performance.now() - started) / 1000,
          attempts: before.length + 1,
          before,
          pod: podOf(answer),
        };
      before.push(`${answer.status}${answer.status === 200 ? ` from ${podOf(answer)}` : ''}`);
    } catch (err) {
      before.push((err as NodeJS.ErrnoException).code ?? (err as Error).message);
    }
    await sleep(250);
  }
  throw new Error(
    `no 200 from the app (${pod.source}) ${what} within ${timeoutMs / 1000}s; answers: ${summarize(before)}`,
  );
}

/** "503 x4, ECONNREFUSED x2": repeated answers counted. */
export function summarize(answers: readonly string[]): string {
  const runs: [string, number][] = [];
  for (const a of answers) {
    const last = runs.at(-1);
    if (last?.[0] === a) last[1] += 1;
    else runs.push([a, 1]);
  }
  return runs.map(([a, n]) => (n > 1 ? `${a} x${n}` : a)).join(', ') || 'none';
}

/** One row of the fault table. */
export interface FaultRow {
  readonly fault: string;
  readonly lost: number | string;
  readonly stranded: number | string;
  readonly outage: string;
  readonly notes: string;
}

export function faultTable(rows: readonly FaultRow[]): string {
  const cell = (s: string | number): string => String(s).replaceAll('|', '\\|').replaceAll('\n', ' ');
  return [
    '| fault | replicas lost | stranded at 0 without a wake path | outage (s) | notes |',
    '| ----- | ------------- | --------------------------------- | ---------- | ----- |',
    ...rows.map((r) => `| ${[r.fault, r.lost, r.stranded, r.outage, r.notes].map(cell).join(' | ')} |`),
  ].join('\n');
}
