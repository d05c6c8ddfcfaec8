// Unit tests for the settings the stand-in app images read: durations, PORT, HOST.
import test from 'ava';
import { parseDuration, readSettings, SettingsError } from '../../../../scripts/testenv/images/startup.js';

test('parseDuration reads Go-style durations in milliseconds', (t) => {
  t.is(parseDuration('0'), 0);
  t.is(parseDuration('500ms'), 500);
  t.is(parseDuration('3s'), 3_000);
  t.is(parseDuration('1.5s'), 1_500);
  t.is(parseDuration('1m'), 60_000);
  t.is(parseDuration('1m30s'), 90_000);
  t.is(parseDuration('2h'), 7_200_000);
});

test('parseDuration rejects numbers without a unit and anything else malformed', (t) => {
  for (const text of ['', '3', 's', '-1s', '3 s', '3sec', '1d', '1.s', 's3', '3s ']) {
    t.is(parseDuration(text), undefined, text);
  }
});

test('readSettings defaults to 0.0.0.0, the image port and no delay', (t) => {
  t.deepEqual(readSettings({}, 8080), { host: '0.0.0.0', port: 8080, delayMs: 0, delayText: '' });
  t.deepEqual(readSettings({ PORT: '', STARTUP_DELAY: '', HOST: '' }, 9000), {
    host: '0.0.0.0',
    port: 9000,
    delayMs: 0,
    delayText: '',
  });
});

test('readSettings takes PORT, HOST and STARTUP_DELAY from the environment', (t) => {
  t.deepEqual(readSettings({ PORT: '1234', HOST: '127.0.0.1', STARTUP_DELAY: '3s' }, 8080), {
    host: '127.0.0.1',
    port: 1234,
    delayMs: 3_000,
    delayText: '3s',
  });
});

test('readSettings rejects a bad PORT and a bad or overlong STARTUP_DELAY', (t) => {
  t.throws(() => readSettings({ PORT: 'http' }, 8080), {
    instanceOf: SettingsError,
    message: /invalid PORT/,
  });
  t.throws(() => readSettings({ PORT: '70000' }, 8080), { instanceOf: SettingsError });
  t.throws(() => readSettings({ STARTUP_DELAY: 'soon' }, 8080), {
    instanceOf: SettingsError,
    message: /invalid STARTUP_DELAY "soon"/,
  });
  // Longer than setTimeout can wait: it would silently fire after 1 ms.
  t.throws(() => readSettings({ STARTUP_DELAY: '600h' }, 8080), { instanceOf: SettingsError });
});
