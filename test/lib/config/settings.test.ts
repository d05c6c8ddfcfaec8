import test from 'ava';
import {
  ConfigError,
  duration,
  integer,
  keyValues,
  load,
  oneOf,
  url,
  type Settings,
} from '../../../lib/config/settings.js';
import { formatDuration, parseDuration, DurationError } from '../../../lib/duration.js';
import { parseFlags, FlagError } from '../../../cli/flags.js';
import { groups } from '../../../cli/settings.js';

test('durations read the way people write them and reject bare numbers', (t) => {
  t.is(parseDuration('250ms'), 250);
  t.is(parseDuration('30s'), 30_000);
  t.is(parseDuration('1h30m'), 5_400_000);
  t.is(parseDuration('1.5s'), 1_500);
  t.is(parseDuration(' 2d '), 172_800_000);
  for (const bad of ['', '30', 'abc', '5 m', '-5m', '1h30'])
    t.throws(() => parseDuration(bad), { instanceOf: DurationError });
  t.is(formatDuration(5_400_000), '1h30m');
  t.is(formatDuration(2_500), '2.5s');
  t.is(formatDuration(120_000), '2m');
});

test('a flag wins over the env var, which wins over the default', (t) => {
  const settings = {
    port: integer({ env: 'PORT', flag: '--port', default: 8080, min: 0, max: 65535, doc: 'port' }),
  };
  t.is(load(settings, { env: {}, flags: new Map() }).port, 8080);
  t.is(load(settings, { env: { PORT: '9000' }, flags: new Map() }).port, 9000);
  t.is(load(settings, { env: { PORT: '9000' }, flags: new Map([['--port', '9100']]) }).port, 9100);
});

test('every bad setting is named in one error, with what is wrong', (t) => {
  const settings = {
    port: integer({ env: 'PORT', default: 8080, min: 1, max: 65535, doc: 'port' }),
    timeout: duration({ env: 'TIMEOUT', default: 1_000, min: 1_000, doc: 'timeout' }),
    level: oneOf({ env: 'LEVEL', default: 'info', values: ['info', 'debug'], doc: 'level' }),
    nats: url({ env: 'NATS', default: 'nats://x:4222', protocols: ['nats:'], doc: 'nats' }),
    required: url({ env: 'REQUIRED', protocols: ['nats:'], doc: 'a server' }),
  };
  const error = t.throws(
    () =>
      load(settings, {
        env: { PORT: '70000', TIMEOUT: '10ms', LEVEL: 'loud', NATS: 'http://x' },
        flags: new Map(),
      }),
    { instanceOf: ConfigError },
  );
  t.deepEqual(error?.settings, ['PORT', 'TIMEOUT', 'LEVEL', 'NATS', 'REQUIRED']);
  t.regex(error?.message ?? '', /PORT: 70000 is out of range 1\.\.65535/);
  t.regex(error?.message ?? '', /TIMEOUT: 10ms is shorter than the minimum 1s/);
  t.regex(error?.message ?? '', /LEVEL: "loud" is not one of info, debug/);
  t.regex(error?.message ?? '', /REQUIRED: required/);
});

test('key=value lists are checked item by item', (t) => {
  const overrides = keyValues({
    env: 'O',
    default: new Map(),
    doc: 'overrides',
    check: (k) => {
      if (!k.includes('/')) throw new Error(`"${k}" is not namespace/service`);
    },
  });
  t.deepEqual(
    [...overrides.parse('a/b=127.0.0.1:80, c/d=localhost:81')],
    [
      ['a/b', '127.0.0.1:80'],
      ['c/d', 'localhost:81'],
    ],
  );
  t.throws(() => overrides.parse('nope=1'), { message: /not namespace\/service/ });
  t.throws(() => overrides.parse('novalue'), { message: /not key=value/ });
});

test('flags: --name value, --name=value and bare --name', (t) => {
  t.deepEqual(
    [...parseFlags(['--a', '1', '--b=2', '--once'])],
    [
      ['--a', '1'],
      ['--b', '2'],
      ['--once', 'true'],
    ],
  );
  t.throws(() => parseFlags(['stray']), { instanceOf: FlagError });
});

test('every declared setting has a unique env var, a doc and a default that parses back', (t) => {
  const seen = new Set<string>();
  for (const settings of Object.values(groups)) {
    for (const setting of Object.values(settings as Settings)) {
      t.false(seen.has(setting.env), `${setting.env} is declared twice`);
      seen.add(setting.env);
      t.true(setting.doc.length > 10, `${setting.env} has no doc`);
      const shown = setting.default === undefined ? '' : setting.show(setting.default);
      // The documented default, written out and read back, is the default itself
      // (an empty default, like no overrides, means "unset" and is not parsed).
      if (shown !== '') t.deepEqual(setting.parse(shown), setting.default, setting.env);
    }
  }
});
