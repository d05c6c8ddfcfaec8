/**
 * A command for people (`nozzle status|wake|sleep`), and how each runs: parse
 * the arguments kubectl's way, connect with the person's kubeconfig, run, and
 * turn any failure into one line on stderr. Exit codes: 0 done, 1 failed,
 * 2 usage error.
 */
import type { Kube } from '../../lib/kube/client.js';
import { UsageError, kubeFrom, parseArgs, type Args } from './args.js';
import { personMessage, type Need } from './errors.js';

export interface PersonCommand {
  readonly summary: string;
  /** The --help text after the summary. */
  readonly usage: string;
  /** Flags it takes besides --kubeconfig, --context, --selector, --help. */
  readonly flags: readonly string[];
  readonly booleans: readonly string[];
  /** The ClusterRole (k8s/rbac-user.yaml) it needs: named in a "no rights" error. */
  readonly need: Need;
  /** Writes its output to `out`; throws to fail (PersonError, API errors, UsageError). */
  run(args: Args, kube: Kube, out: (line: string) => void): Promise<number>;
}

const COMMON_HELP = [
  '',
  'Flags of every command:',
  '  --kubeconfig <file>   the kubeconfig to use (default $KUBECONFIG, else ~/.kube/config)',
  '  --context <name>      the kubeconfig context to use',
  '  --selector <labels>   the opt-in selector, as the worker has it (NOZZLE_NAMESPACE_SELECTOR, default nozzle=true)',
];

export async function runPerson(
  name: string,
  command: PersonCommand,
  argv: readonly string[],
): Promise<number> {
  let args: Args;
  let kube: Kube;
  try {
    args = parseArgs(argv, command.flags, command.booleans);
    if (args.flags.has('--help')) {
      console.log([`Usage: ${command.usage}`, '', command.summary, ...COMMON_HELP].join('\n'));
      return 0;
    }
    kube = kubeFrom(args);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    console.error(`error: ${(err as Error).message}`);
    return 1;
  }
  try {
    return await command.run(args, kube, (line) => console.log(line));
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`error: ${err.message}`);
      return 2;
    }
    console.error(`error: ${personMessage(err, kube, command.need)}`);
    return 1;
  }
}
