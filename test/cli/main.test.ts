/**
 * The `nozzle` executable as a user starts it: the Node version check comes
 * before any dependency is loaded, and the commands are assembled in cli/.
 */
import test from 'ava';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const main = fileURLToPath(new URL('../../cli/main.js', import.meta.url));
// Stands in for an older Node: the check reads process.versions.node.
const asNode20 = `data:text/javascript,Object.defineProperty(process.versions, "node", { value: "20.20.2" })`;

test('on an older Node, nozzle says which Node it needs and how to get it, and loads nothing', async (t) => {
  const err = await t.throwsAsync(run(process.execPath, ['--import', asNode20, main, 'worker']));
  const { code, stderr, stdout } = err as Error & { code: number; stderr: string; stdout: string };
  t.is(code, 1);
  t.is(stdout, '');
  t.regex(stderr, /needs Node 22\.19 or newer .* this is Node 20\.20\.2/);
  t.regex(stderr, /scripts\/node24/);
  t.notRegex(stderr, /TypeError|undici/);
});

test('--help lists every command', async (t) => {
  const { stdout } = await run(process.execPath, [main, '--help']);
  for (const name of ['activator', 'setup', 'nats-credentials', 'publish', 'worker'])
    t.regex(stdout, new RegExp(`^  ${name} `, 'm'));
});

test('an unknown command is refused with the usage', async (t) => {
  const err = await t.throwsAsync(run(process.execPath, [main, 'nap']));
  const { code, stderr } = err as Error & { code: number; stderr: string };
  t.is(code, 2);
  t.regex(stderr, /unknown command "nap"/);
});
