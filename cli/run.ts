/** `nozzle <command>`: parses flags and settings, then runs the command until a signal stops it. */
import { readFileSync } from 'node:fs';
import { createLogger } from '../lib/log.js';
import { common } from '../lib/config/nozzle.js';
import { ConfigError, describe, load } from '../lib/config/settings.js';
import { commands, peopleCommands } from './commands.js';
import { runPerson } from './people/command.js';
import type { PersonCommand } from './people/command.js';
import type { Command } from '../lib/config/command.js';
import { FlagError, parseFlags } from './flags.js';

async function usage(): Promise<string> {
  const all = { ...peopleCommands, ...commands };
  const width = Math.max(...Object.keys(all).map((name) => name.length));
  const line = async ([name, load]: [string, () => Promise<{ summary: string }>]) =>
    `  ${name.padEnd(width)}  ${(await load()).summary}`;
  return [
    'Usage: nozzle <command> [flags]',
    '',
    'Commands for people (kubeconfig and your own rights, like kubectl):',
    ...(await Promise.all(Object.entries(peopleCommands).map(line))),
    '',
    'Components (run in the cluster):',
    ...(await Promise.all(Object.entries(commands).map(line))),
    '',
    'Run `nozzle <command> --help` for its settings. Every flag also has an environment variable.',
  ].join('\n');
}

function help(name: string, command: Command): string {
  const settings = { ...common, ...command.settings };
  const aliases = Object.entries(command.aliases ?? {}).map(
    ([alias, [flag, value]]) => `  ${alias}\n      same as ${flag} ${value}`,
  );
  return [
    `Usage: nozzle ${name} [flags]`,
    '',
    command.summary,
    '',
    'Settings:',
    ...describe(settings),
    ...aliases,
  ].join('\n');
}

export async function main(
  argv: readonly string[],
  available: Record<string, () => Promise<Command>> = commands,
  people: Record<string, () => Promise<PersonCommand>> = peopleCommands,
): Promise<number> {
  const [name, ...rest] = argv;
  const loadPerson = name === undefined ? undefined : people[name];
  if (loadPerson !== undefined) return runPerson(name!, await loadPerson(), rest);
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(await usage());
    return name === undefined ? 2 : 0;
  }
  if (name === '--version') {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    console.log(pkg.version);
    return 0;
  }
  const loadCommand = available[name];
  if (!loadCommand) {
    console.error(`nozzle: unknown command "${name}"\n\n${await usage()}`);
    return 2;
  }
  const command = await loadCommand();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(help(name, command));
    return 0;
  }

  let base, config;
  try {
    const flags = parseFlags(rest);
    for (const [alias, [flag, value]] of Object.entries(command.aliases ?? {})) {
      if (flags.delete(alias)) flags.set(flag, value);
    }
    const known = new Set(
      Object.values({ ...common, ...command.settings }).flatMap((s) => (s.flag ? [s.flag] : [])),
    );
    const unknown = [...flags.keys()].filter((f) => !known.has(f));
    if (unknown.length > 0)
      throw new FlagError(`unknown flag ${unknown.join(', ')} (see nozzle ${name} --help)`);
    base = load(common, { env: process.env, flags });
    config = load(command.settings, { env: process.env, flags });
    command.validate?.(config);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof FlagError) {
      console.error(`nozzle ${name}: ${err.message}`);
      return 2;
    }
    throw err;
  }

  const log = createLogger({ name: `nozzle-${name}`, level: base.logLevel, format: base.logFormat });
  const stop = new AbortController();
  const onSignal = (signal: NodeJS.Signals): void => {
    if (stop.signal.aborted) {
      log.warn({ signal }, 'second signal: exiting now');
      process.exit(130);
    }
    log.info({ signal }, 'shutting down');
    stop.abort(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  try {
    return await command.run(config, log, stop.signal);
  } catch (err) {
    log.fatal({ err }, `nozzle ${name} failed`);
    return 1;
  }
}
