/**
 * The command line of the people's commands (`nozzle status|wake|sleep`),
 * kubectl's way: positional arguments, `-o json|wide`, `--kubeconfig`,
 * `--context`, `--flag value` and `--flag=value`. Usage errors exit 2.
 */
import { KubeConfig } from '@kubernetes/client-node';
import { optIn as optInSettings } from '../../lib/config/nozzle.js';
import { ConfigError, load } from '../../lib/config/settings.js';
import { connectKube, type Kube } from '../../lib/kube/client.js';
import { optIn, type OptIn } from '../../lib/kube/opt-in.js';

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export interface Args {
  readonly positionals: readonly string[];
  readonly flags: ReadonlyMap<string, string>;
}

const SHORT: Record<string, string> = { '-o': '--output', '-h': '--help' };
/** Flags every people's command takes. */
export const COMMON_FLAGS = ['--kubeconfig', '--context', '--selector', '--help'];

/** `booleans` take no value; every other flag in `known` takes one. */
export function parseArgs(
  argv: readonly string[],
  known: readonly string[],
  booleans: readonly string[],
): Args {
  const positionals: string[] = [];
  const flags = new Map<string, string>();
  const all = new Set([...known, ...COMMON_FLAGS]);
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const raw = eq > 0 ? arg.slice(0, eq) : arg;
    const name = SHORT[raw] ?? raw;
    if (!all.has(name)) throw new UsageError(`unknown flag ${raw}`);
    if (booleans.includes(name) || name === '--help') {
      flags.set(name, eq > 0 ? arg.slice(eq + 1) : 'true');
    } else if (eq > 0) {
      flags.set(name, arg.slice(eq + 1));
    } else {
      const value = argv[i + 1];
      if (value === undefined) throw new UsageError(`${raw} needs a value`);
      flags.set(name, value);
      i++;
    }
  }
  return { positionals, flags };
}

export type Output = 'table' | 'wide' | 'json';

export function outputOf(args: Args): Output {
  const value = args.flags.get('--output') ?? 'table';
  if (value !== 'table' && value !== 'wide' && value !== 'json') {
    throw new UsageError(`-o ${value}: use -o json or -o wide`);
  }
  return value;
}

/** The kubeconfig the way kubectl picks it: --kubeconfig, else $KUBECONFIG, else ~/.kube/config; --context. */
export function kubeFrom(args: Args): Kube {
  const config = new KubeConfig();
  const file = args.flags.get('--kubeconfig');
  if (file !== undefined) config.loadFromFile(file);
  else config.loadFromDefault();
  const context = args.flags.get('--context');
  if (context !== undefined) {
    if (!config.getContexts().some((c) => c.name === context)) {
      throw new UsageError(`--context ${context}: no such context in the kubeconfig`);
    }
    config.setCurrentContext(context);
  }
  return connectKube(config);
}

/** The opt-in rules, from the same settings as the worker's (NOZZLE_NAMESPACE_SELECTOR or --selector). */
export function optInFrom(args: Args): OptIn {
  try {
    const values = load(optInSettings, { env: process.env, flags: args.flags });
    return optIn(values.namespaceSelector, values.systemNamespace);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** Loads settings of another component (the worker's activator Service, the publisher's idle-after). */
export function settingsFrom<S extends Parameters<typeof load>[0]>(
  settings: S,
  args: Args,
): ReturnType<typeof load<S>> {
  try {
    return load(settings, { env: process.env, flags: args.flags });
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

/** Exactly one namespace argument. */
export function oneNamespace(args: Args, command: string): string {
  if (args.positionals.length !== 1) {
    throw new UsageError(`usage: nozzle ${command} <namespace> (see nozzle ${command} --help)`);
  }
  return args.positionals[0]!;
}
