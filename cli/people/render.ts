/**
 * Output of the people's commands: kubectl-like tables (columns padded, a
 * header in capitals, ages as `5m`, `3h`) and `-o json` for scripts.
 */
import type { NamespaceView, WorkloadView } from './view.js';
import type { Output } from './args.js';

/** Columns padded to the widest cell, separated by three spaces, like kubectl. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('   ')
        .trimEnd(),
    )
    .join('\n');
}

/** kubectl's age: `45s`, `12m`, `3h`, `2d`. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 120) return `${s}s`;
  if (s < 2 * 3600) return `${Math.floor(s / 60)}m`;
  if (s < 2 * 86400) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

/** `web 2/3` (ready/desired) awake, `web 0 (3)` asleep with 3 replicas backed up, `web - (excluded)`. */
export function workloadCell(w: WorkloadView): string {
  if (w.backedUp !== undefined && w.replicas === 0) return `${w.name} 0 (${w.backedUp})`;
  if (w.excluded !== undefined) return `${w.name} ${w.readyReplicas}/${w.replicas} excluded`;
  return `${w.name} ${w.readyReplicas}/${w.replicas}`;
}

export const cores = (n: number): string => `${Number(n.toFixed(3))}`;

export function bytes(n: number): string {
  for (const [unit, size] of [
    ['Gi', 2 ** 30],
    ['Mi', 2 ** 20],
    ['Ki', 2 ** 10],
  ] as const) {
    if (n >= size) return `${Number((n / size).toFixed(1))}${unit}`;
  }
  return `${Math.round(n)}`;
}

function savedCell(v: NamespaceView): string {
  const { cpuCoreSeconds, memoryByteSeconds } = v.savings;
  if (cpuCoreSeconds === 0 && memoryByteSeconds === 0) return '-';
  return `${cores(cpuCoreSeconds / 3600)} cpu-h, ${bytes(memoryByteSeconds / 3600)}-h`;
}

function nextCell(v: NamespaceView, now: Date): string {
  const e = v.explanation;
  switch (e.next) {
    case 'wake-on-request':
      return 'wake on request';
    case 'wake':
      return e.at === undefined ? 'wake next round' : `wake in ${age(e.at.getTime() - now.getTime())}`;
    case 'never':
      return 'never';
    case 'sleep':
      return e.at === undefined ? 'sleep next round' : `sleep in ${age(e.at.getTime() - now.getTime())}`;
  }
}

export function statusTable(views: readonly NamespaceView[], output: 'table' | 'wide', now: Date): string {
  const wide = output === 'wide';
  const header = [
    'NAMESPACE',
    'STATE',
    'SINCE',
    'LAST-ACTIVITY',
    'NEXT',
    'WORKLOADS',
    'SAVED',
    ...(wide ? ['NOT-RUNNING'] : []),
    'WHY',
  ];
  const rows = views.map((v) => {
    const activity = v.explanation.lastActivity;
    return [
      v.name,
      v.state,
      v.since ? age(now.getTime() - v.since.at.getTime()) : '-',
      activity ? `${activity.source} ${age(now.getTime() - activity.at.getTime())} ago` : '-',
      nextCell(v, now),
      v.workloads.length === 0 ? '-' : v.workloads.map(workloadCell).join(', '),
      savedCell(v),
      ...(wide ? [`${cores(v.savings.notRunning.cpu)} cpu, ${bytes(v.savings.notRunning.memory)}`] : []),
      v.explanation.why,
    ];
  });
  return table([header, ...rows]);
}

/** The same facts for scripts: dates in RFC 3339, CPU in cores, memory in bytes. */
export function statusJson(views: readonly NamespaceView[]): string {
  return JSON.stringify(
    {
      namespaces: views.map((v) => ({
        namespace: v.name,
        state: v.state,
        since: v.since ? { at: v.since.at.toISOString(), how: v.since.how } : null,
        lastActivity: v.explanation.lastActivity
          ? { at: v.explanation.lastActivity.at.toISOString(), source: v.explanation.lastActivity.source }
          : null,
        next: {
          action: v.explanation.next,
          at: v.explanation.at?.toISOString() ?? null,
          why: v.explanation.why,
        },
        workloads: v.workloads.map((w) => ({
          kind: w.kind,
          name: w.name,
          replicas: w.replicas,
          readyReplicas: w.readyReplicas,
          backedUpReplicas: w.backedUp ?? null,
          sleptAt: w.sleptAt?.toISOString() ?? null,
          excluded: w.excluded ?? null,
          requestsPerPod: { cpu: w.perPod.cpu, memoryBytes: w.perPod.memory },
        })),
        saved: {
          notRunning: { cpu: v.savings.notRunning.cpu, memoryBytes: v.savings.notRunning.memory },
          cpuCoreSeconds: v.savings.cpuCoreSeconds,
          memoryByteSeconds: v.savings.memoryByteSeconds,
        },
      })),
    },
    null,
    2,
  );
}

export function render(views: readonly NamespaceView[], output: Output, now: Date): string {
  return output === 'json' ? statusJson(views) : statusTable(views, output, now);
}
