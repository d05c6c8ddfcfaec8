/**
 * The Dockerfile's own steps, run without a Docker engine (there is none on
 * the machines this project is built on): every stage in a clean temporary
 * directory, then each component started from the final stage's result, the
 * way the image's ENTRYPOINT starts it, against the real apiserver and NATS.
 */
import test from 'ava';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { promisify } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { entrypointCommand, runDockerfile, type Stage } from '../../scripts/image/dockerfile.js';
import { freePort } from '../../scripts/testenv/servers/ports.js';
import { TestEnvironment } from '../../scripts/testenv/environment.js';
import { repoRoot } from '../support/manifests.js';

const run = promisify(execFile);
let image: Stage;
let env: TestEnvironment;
const workspace = mkdtempSync(join(tmpdir(), 'nozzle-image-'));

test.before(async () => {
  image = runDockerfile({ dockerfile: join(repoRoot, 'Dockerfile'), context: repoRoot, workspace });
  env = await TestEnvironment.start();
});

test.after.always(async () => {
  await env?.stop({ keepLogs: false });
  rmSync(workspace, { recursive: true, force: true });
});

test('the final stage holds production dependencies and compiled runtime code only', (t) => {
  const app = join(image.root, 'app');
  const modules = readdirSync(join(app, 'node_modules'));
  t.true(modules.includes('pino'));
  for (const dev of ['typescript', 'ava', 'eslint', 'playwright-core', 'prettier'])
    t.false(modules.includes(dev), dev);
  t.true(existsSync(join(app, 'dist/cli/main.js')));
  t.false(existsSync(join(app, 'dist/test')), 'tests are not in the image');
  t.false(existsSync(join(app, 'dist/scripts')), 'dev scripts are not in the image');
  t.is(image.user, '1000:1000');
  t.is(image.env.NODE_ENV, 'production');
});

function component(name: string, extraArgs: string[], extraEnv: Record<string, string> = {}) {
  const [command, ...entry] = entrypointCommand(image);
  return spawn(command === 'node' ? process.execPath : command, [...entry, name, ...extraArgs], {
    env: { PATH: process.env.PATH, ...env.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

async function healthy(port: number, path: string): Promise<number> {
  for (let i = 0; i < 100; i++) {
    const status = await fetch(`http://127.0.0.1:${port}${path}`)
      .then((r) => r.status)
      .catch(() => 0);
    if (status === 200) return status;
    await sleep(100);
  }
  return 0;
}

test('`nozzle --help` lists every component', async (t) => {
  const [command, ...entry] = entrypointCommand(image);
  const { stdout } = await run(command === 'node' ? process.execPath : command, [...entry, '--help']);
  for (const name of ['setup', 'publish', 'worker', 'activator'])
    t.regex(stdout, new RegExp(`\\b${name}\\b`));
});

test('setup and publish --once run to completion from the built image', async (t) => {
  for (const argv of [['setup'], ['publish', '--once']]) {
    const child = component(argv[0]!, argv.slice(1));
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    t.is(code, 0, `${argv.join(' ')}: ${output}`);
  }
});

for (const [name, portEnv] of [
  ['worker', 'NOZZLE_WORKER_PORT'],
  ['activator', 'NOZZLE_ACTIVATOR_PORT'],
] as const) {
  test(`${name} starts from the built image, gets ready, and exits 0 on SIGTERM`, async (t) => {
    const port = await freePort();
    const child = component(name, [], { [portEnv]: String(port) });
    let output = '';
    child.stdout.on('data', (c: Buffer) => (output += c.toString()));
    child.stderr.on('data', (c: Buffer) => (output += c.toString()));
    t.is(await healthy(port, '/readyz'), 200, output);
    child.kill('SIGTERM');
    const [code] = (await once(child, 'exit')) as [number];
    t.is(code, 0, output);
  });
}
