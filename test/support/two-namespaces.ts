/**
 * Two sleeping namespaces side by side for the bad-input runs, against the
 * real apiserver: `a` and `b`, each with a Service `web` under takeover
 * (its port Lease in one system namespace of the run's own, so each has its
 * own activator port), a recording pod of its own (recording-pod.ts), and
 * one real `nozzle activator` process serving both ports. `ready(side)`
 * writes what the EndpointSlice controller would once the pod is Ready.
 */
import type { ExecutionContext } from 'ava';
import type { Kube } from '../../lib/kube/client.js';
import { controllerSlice, podIp, takeOver } from './activator.js';
import { spawnActivator, type ActivatorProcess } from './activator-process.js';
import { uniqueName } from './env.js';
import { startRecordingPod, type RecordingPod } from './recording-pod.js';

export interface Side {
  /** `a` or `b`: the label of its probe marks. */
  readonly label: string;
  readonly namespace: string;
  /** Its activator port. */
  readonly port: number;
  readonly pod: RecordingPod;
}

export interface TwoNamespaces {
  readonly system: string;
  readonly a: Side;
  readonly b: Side;
  readonly activator: ActivatorProcess;
  /** Writes the ready controller slice of `side`'s Service (its pod is Ready). */
  ready(side: Side): Promise<void>;
  /** Every name that is not the client's to see: the system namespace, the pods' address, port Lease and pod names. */
  readonly internalNames: readonly string[];
}

export async function twoNamespaces(
  t: ExecutionContext | undefined,
  kube: Kube,
  env: Record<string, string> = {},
): Promise<TwoNamespaces> {
  const system = uniqueName('bad-sys');
  const side = async (label: string): Promise<Side> => {
    const namespace = uniqueName(`bad-${label}`);
    const pod = await startRecordingPod(t, namespace);
    const web = await takeOver(kube, {
      namespace,
      systemNamespace: system,
      name: 'web',
      ports: [{ name: 'http', port: 80, targetPort: pod.port }],
    });
    return { label, namespace, port: web.ports.get('http')!, pod };
  };
  const a = await side('a');
  const b = await side('b');
  const activator = await spawnActivator({ NOZZLE_SYSTEM_NAMESPACE: system, ...env });
  t?.teardown(() => activator.stop('SIGKILL'));
  return {
    system,
    a,
    b,
    activator,
    ready: (s) => controllerSlice(kube, s.namespace, 'web', { port: s.pod.port }),
    internalNames: [system, podIp(), 'nozzle-port-', 'nozzle-activator-0'],
  };
}

/**
 * The internal names in an answer `body` to a request sent to `side`: the
 * run's internal names and the other namespace, unless the request itself
 * carried them (a Host header the waiting page shows back is not a leak).
 */
export function leakedNames(run: TwoNamespaces, side: Side, request: Buffer, body: string): string[] {
  const other = side === run.a ? run.b : run.a;
  const sent = request.toString('latin1');
  return [...run.internalNames, other.namespace].filter(
    (name) => body.includes(name) && !sent.includes(name),
  );
}
