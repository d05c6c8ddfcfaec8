/**
 * `nozzle wake <namespace> [--wait] [--for 2h] [--timeout 5m]`: the worker's
 * wake (lib/wake/wake-namespace.ts: stamp woke-at, restore the workloads and
 * Ingresses) under the person's rights. `--for` writes
 * nozzle.io/keep-awake-until; `--wait` follows readiness (wait-ready.ts).
 */
import { DurationError, parseDuration } from '../../lib/duration.js';
import { mergePatch } from '../../lib/kube/patch.js';
import { FIELD_MANAGER, annotations } from '../../lib/names.js';
import { wakeNamespace } from '../../lib/wake/wake-namespace.js';
import { UsageError, oneNamespace, optInFrom, type Args } from './args.js';
import { readOptedIn } from './errors.js';
import { waitReady } from './wait-ready.js';
import type { PersonCommand } from './command.js';

function durationFlag(args: Args, flag: string, fallback?: number): number | undefined {
  const text = args.flags.get(flag);
  if (text === undefined) return fallback;
  try {
    const ms = parseDuration(text);
    if (ms <= 0) throw new DurationError('must be more than 0');
    return ms;
  } catch (err) {
    if (err instanceof DurationError) throw new UsageError(`${flag} ${text}: ${err.message}`);
    throw err;
  }
}

const command: PersonCommand = {
  summary:
    'Wake the namespace: restore every sleeping workload. --wait shows progress per workload until all are Ready (or --timeout, default 5m, then exit 1); --for keeps it awake that long (nozzle.io/keep-awake-until).',
  usage: 'nozzle wake <namespace> [--wait] [--timeout 5m] [--for 2h]',
  flags: ['--wait', '--timeout', '--for'],
  booleans: ['--wait'],
  need: 'user',
  async run(args, kube, out) {
    const namespace = oneNamespace(args, 'wake');
    const keepFor = durationFlag(args, '--for');
    const timeout = durationFlag(args, '--timeout', 5 * 60_000)!;
    const rules = optInFrom(args);
    await readOptedIn(kube, namespace, rules);
    const at = new Date();
    const result = await wakeNamespace(kube, namespace, rules, at);
    out(
      result.workloads.length === 0
        ? `namespace "${namespace}" was awake: nothing to restore`
        : `woke ${namespace}: ${result.workloads.map((w) => `${w.name} -> ${w.replicas}`).join(', ')}`,
    );
    if (keepFor !== undefined) {
      const until = new Date(at.getTime() + keepFor).toISOString();
      await kube.core.patchNamespace(
        {
          name: namespace,
          fieldManager: FIELD_MANAGER,
          body: { metadata: { annotations: { [annotations.keepAwakeUntil]: until } } },
        },
        mergePatch,
      );
      out(`kept awake until ${until} (${annotations.keepAwakeUntil})`);
    }
    if (args.flags.get('--wait') !== 'true') return 0;
    return waitReady(kube, namespace, timeout, out);
  },
};

export default command;
