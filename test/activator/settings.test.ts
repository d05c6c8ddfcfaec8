/** The activator's bounds settings: sizes, booleans, the bot list, and the verified wake's secret. */
import test from 'ava';
import { ConfigError, load } from '../../lib/config/settings.js';
import { activatorSettings, validateActivatorSettings } from '../../activator/settings.js';

const read = (env: Record<string, string>) => load(activatorSettings, { env, flags: new Map() });

test('the bounds have their documented defaults', (t) => {
  const config = read({});
  t.is(config.holdBudget, 64 * 1024 * 1024);
  t.is(config.wakeMinInterval, 5_000);
  t.is(config.wakeRate, 20);
  t.is(config.wakeBurst, 40);
  t.false(config.verifiedWake);
  t.is(config.wakeSecret, '');
  t.true(config.botAgents.some((r) => r.test('Googlebot/2.1')));
  t.is(activatorSettings.holdBudget.show(config.holdBudget), '64MiB');
  t.is(activatorSettings.wakeSecret.show('s3cret-s3cret-s3cret'), '(set)');
});

test('sizes take Kubernetes suffixes; booleans are true or false', (t) => {
  t.is(read({ NOZZLE_HOLD_BUDGET: '512Mi' }).holdBudget, 512 * 1024 * 1024);
  t.is(read({ NOZZLE_HOLD_BUDGET: '2097152' }).holdBudget, 2 * 1024 * 1024);
  const bad = t.throws(() => read({ NOZZLE_HOLD_BUDGET: '64MB', NOZZLE_VERIFIED_WAKE: 'yes' }), {
    instanceOf: ConfigError,
  });
  t.deepEqual(bad.settings, ['NOZZLE_HOLD_BUDGET', 'NOZZLE_VERIFIED_WAKE']);
  t.true(read({ NOZZLE_VERIFIED_WAKE: 'true' }).verifiedWake);
});

test('a verified wake without a secret of enough length stops start-up, naming NOZZLE_WAKE_SECRET', (t) => {
  const none = t.throws(() => validateActivatorSettings(read({ NOZZLE_VERIFIED_WAKE: 'true' })), {
    instanceOf: ConfigError,
  });
  t.deepEqual(none.settings, ['NOZZLE_WAKE_SECRET']);
  t.regex(none.message, /required when NOZZLE_VERIFIED_WAKE is true/);
  t.throws(
    () => validateActivatorSettings(read({ NOZZLE_VERIFIED_WAKE: 'true', NOZZLE_WAKE_SECRET: 'short' })),
    { instanceOf: ConfigError },
  );
  t.notThrows(() =>
    validateActivatorSettings(
      read({ NOZZLE_VERIFIED_WAKE: 'true', NOZZLE_WAKE_SECRET: '0123456789abcdef0123' }),
    ),
  );
  t.notThrows(() => validateActivatorSettings(read({})), 'off: no secret needed');
});
