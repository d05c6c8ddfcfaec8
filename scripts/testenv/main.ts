/**
 * npm run testenv -- up [--e2e]          start the environment for a person; Ctrl-C stops it
 * npm run testenv -- run [--e2e] -- CMD  start it, run CMD with its variables, stop it
 * npm run testenv -- exec -- CMD         run CMD inside the running sandbox's network
 * npm run testenv -- binaries [--e2e]    build (once) and print the server binaries
 *
 * Without --e2e: etcd, kube-apiserver and nats-server on loopback (what `npm
 * test` needs). With --e2e: the sandbox cluster in a network namespace of its
 * own (sandbox/sandbox.ts): pods as real processes, cluster DNS, kube-proxy,
 * Traefik, Prometheus and KEDA; only its entry points reach this machine.
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { TestEnvironment } from './environment.js';
import { findBinaries } from './servers/binaries.js';
import { Sandbox, execInSandbox } from './sandbox/sandbox.js';

const progress = (line: string): void => void process.stderr.write(`[testenv] ${line}\n`);

/** The base environment or the sandbox, behind the little both offer. */
async function start(e2e: boolean): Promise<{
  env: Record<string, string>;
  dir: string;
  describe: string;
  stop(o: { keepLogs: boolean }): Promise<void>;
}> {
  if (!e2e) {
    const env = await TestEnvironment.start({ progress });
    return {
      env: env.env,
      dir: env.dir,
      describe: `kube-apiserver ${env.apiserver.url}`,
      stop: (o) => env.stop(o),
    };
  }
  const sandbox = await Sandbox.start({ progress });
  const kubectl = sandbox.binaries.kubectl;
  return {
    env: sandbox.env,
    dir: sandbox.dir,
    describe: [
      `the sandbox cluster (network namespace ${sandbox.namespace}). Try:`,
      `#   ${kubectl} get nodes,pods -A`,
      `#   curl -H 'Host: <an Ingress or HTTPRoute host>' $NOZZLE_GATEWAY_URL/`,
      `#   npm run testenv -- exec -- curl http://<service>.<namespace>.svc.cluster.local/`,
      `#   curl "$NOZZLE_PROMETHEUS_URL/api/v1/query?query=traefik_service_requests_total"`,
      '# Logs',
    ].join('\n'),
    stop: (o) => sandbox.stop(o),
  };
}

async function up(e2e: boolean): Promise<number> {
  const env = await start(e2e);
  console.log('# The Nozzle test environment is up. In another shell:');
  for (const [key, value] of Object.entries(env.env)) console.log(`export ${key}=${value}`);
  console.log(`# ${env.describe} in ${env.dir}. Ctrl-C stops everything.`);
  await new Promise<void>((resolve) => {
    // The first signal stops everything; more of them (a second Ctrl-C) must not cut the clean-up short.
    const stop = (): void => {
      if (stopping) progress('still stopping: the sandbox is being removed');
      stopping = true;
      resolve();
    };
    let stopping = false;
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  progress('stopping');
  await env.stop({ keepLogs: false });
  return 0;
}

async function run(command: readonly string[], e2e: boolean): Promise<number> {
  const [bin, ...args] = command;
  if (!bin) throw new Error('usage: testenv run [--e2e] -- COMMAND [ARGS...]');
  const env = await start(e2e);
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
  const found = e2e ? await findBinaries({ sandbox: true }) : await findBinaries();
  for (const [name, path] of Object.entries(found)) console.log(`${name}=${path}`);
  return 0;
}

const [verb, ...args] = process.argv.slice(2);
const dashes = args.indexOf('--');
const options = dashes < 0 ? args : args.slice(0, dashes);
const rest = dashes < 0 ? [] : args.slice(dashes + 1);
const e2e = options.includes('--e2e');
try {
  switch (verb) {
    case 'up':
      process.exitCode = await up(e2e);
      break;
    case 'run':
      process.exitCode = await run(rest, e2e);
      break;
    case 'exec':
      if (rest.length === 0) throw new Error('usage: testenv exec -- COMMAND [ARGS...]');
      process.exitCode = await execInSandbox(rest);
      break;
    case 'binaries':
      process.exitCode = await binaries(e2e);
      break;
    default:
      console.error(
        'usage: testenv up [--e2e] | run [--e2e] -- COMMAND... | exec -- COMMAND... | binaries [--e2e]',
      );
      process.exitCode = 2;
  }
} catch (err) {
  console.error(`[testenv] ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
  if (err instanceof Error && err.cause) console.error('caused by:', err.cause);
  process.exitCode = 1;
}
