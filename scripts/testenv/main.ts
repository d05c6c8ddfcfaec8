/**
 * npm run testenv -- up          start the environment for a person; Ctrl-C stops it
 * npm run testenv -- run -- CMD  start it, run CMD with its variables, stop it
 * npm run testenv -- binaries    build (once) and print the server binaries
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { TestEnvironment } from './environment.js';
import { findBinaries } from './binaries.js';

const progress = (line: string): void => void process.stderr.write(`[testenv] ${line}\n`);

async function up(): Promise<number> {
  const env = await TestEnvironment.start({ progress });
  console.log('# The Nozzle test environment is up. In another shell:');
  for (const [key, value] of Object.entries(env.env)) console.log(`export ${key}=${value}`);
  console.log(`# kube-apiserver ${env.apiserver.url}, logs in ${env.dir}. Ctrl-C stops everything.`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  progress('stopping');
  await env.stop({ keepLogs: false });
  return 0;
}

async function run(command: readonly string[]): Promise<number> {
  const [bin, ...args] = command;
  if (!bin) throw new Error('usage: testenv run -- COMMAND [ARGS...]');
  const env = await TestEnvironment.start({ progress });
  const child = spawn(bin, args, { stdio: 'inherit', env: { ...process.env, ...env.env } });
  const forward = (signal: NodeJS.Signals): void => void child.kill(signal);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  const failed = code !== 0;
  await env.stop({ keepLogs: failed });
  if (failed) progress(`${bin} failed (${signal ?? code}); server logs kept in ${env.dir}`);
  return code ?? 1;
}

async function binaries(e2e: boolean): Promise<number> {
  const found = e2e ? await findBinaries({ e2e: true }) : await findBinaries();
  for (const [name, path] of Object.entries(found)) console.log(`${name}=${path}`);
  return 0;
}

const [verb, ...rest] = process.argv.slice(2);
try {
  switch (verb) {
    case 'up':
      process.exitCode = await up();
      break;
    case 'run':
      process.exitCode = await run(rest[0] === '--' ? rest.slice(1) : rest);
      break;
    case 'binaries':
      process.exitCode = await binaries(rest.includes('--e2e'));
      break;
    default:
      console.error('usage: testenv up | run -- COMMAND... | binaries [--e2e]');
      process.exitCode = 2;
  }
} catch (err) {
  console.error(`[testenv] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  if (err instanceof Error && err.cause) console.error('caused by:', err.cause);
  process.exitCode = 1;
}
