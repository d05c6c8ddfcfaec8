/**
 * One publisher round on the sandbox, the way an operator triggers one:
 * `kubectl create job --from=cronjob/nozzle-publisher`, then the Job's pod's
 * own log (the kubelet stand-in writes each pod's output to
 * <sandbox dir>/pods/<namespace>_<pod>.log), parsed as the JSON lines the
 * publisher writes.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchV1Api } from '@kubernetes/client-node';
import type { Sandbox } from '../testenv/sandbox/sandbox.js';
import { waitFor, type Installed } from './scenario.js';

const SYSTEM = 'nozzle-system';

export interface LogLine {
  readonly msg?: string;
  readonly level?: number;
  readonly [key: string]: unknown;
}

export interface PublisherRun {
  readonly job: string;
  readonly lines: readonly LogLine[];
  /** The `publisher round done` line: the round's report. */
  readonly report: LogLine;
  /** When the Job was created (ms). */
  readonly at: number;
}

export async function runPublisherJob(
  sandbox: Sandbox,
  installed: Installed,
  job: string,
): Promise<PublisherRun> {
  const at = Date.now();
  await installed.kubectl(['-n', SYSTEM, 'create', 'job', '--from=cronjob/nozzle-publisher', job]);
  const batch = sandbox.kubeConfig().makeApiClient(BatchV1Api);
  await waitFor(`Job ${job} to complete`, 90_000, async () => {
    const status = (await batch.readNamespacedJob({ name: job, namespace: SYSTEM })).status;
    if ((status?.failed ?? 0) > 0) throw new Error(`Job ${job} failed`);
    return (status?.succeeded ?? 0) >= 1;
  });
  const pods = await installed.kube.core.listNamespacedPod({
    namespace: SYSTEM,
    labelSelector: `job-name=${job}`,
  });
  const pod = pods.items[0]?.metadata?.name;
  if (pod === undefined) throw new Error(`Job ${job} has no pod`);
  const text = readFileSync(join(sandbox.dir, 'pods', `${SYSTEM}_${pod}.log`), 'utf8');
  const lines = text
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
  const report = lines.find((l) => l.msg === 'publisher round done');
  if (report === undefined) throw new Error(`Job ${job}: no round report in its log:\n${text}`);
  return { job, lines, report, at };
}
