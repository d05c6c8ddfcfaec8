import test from 'ava';
import { checkTimeZone, CronError, fires, lastFire, nextFire, parseCron } from '../../publisher/cron.js';

const utc = (s: string): number => Date.parse(s);
const iso = (t: number | undefined): string | undefined =>
  t === undefined ? undefined : new Date(t).toISOString();
const all = (cron: string, zone: string, from: string, to: string): string[] =>
  [...fires(parseCron(cron), zone, utc(from), utc(to))].map((t) => new Date(t).toISOString());

test('fields: *, lists, ranges, steps and names', (t) => {
  const c = parseCron('*/15 8-18/5 1,15 JAN-MAR mon-fri');
  t.deepEqual([...c.minutes], [0, 15, 30, 45]);
  t.deepEqual([...c.hours], [8, 13, 18]);
  t.deepEqual([...c.daysOfMonth], [1, 15]);
  t.deepEqual([...c.months], [1, 2, 3]);
  t.deepEqual([...c.daysOfWeek], [1, 2, 3, 4, 5]);
  t.deepEqual([...parseCron('5/20 * * * 7').minutes], [5, 25, 45]);
  t.deepEqual([...parseCron('0 0 * * 7').daysOfWeek], [0], '7 is Sunday');
  t.is(parseCron('  0  20   * * 1-5 ').text, '0 20 * * 1-5');
});

test('invalid expressions say which field and why', (t) => {
  const message = (text: string) => t.throws(() => parseCron(text), { instanceOf: CronError })?.message;
  t.is(message('0 20 * *'), '"0 20 * *" has 4 fields, not 5 (minute hour day-of-month month day-of-week)');
  t.is(message('60 * * * *'), '"60 * * * *": minute "60": 60 is out of range 0-59');
  t.is(message('0 * 0 * *'), '"0 * 0 * *": day of month "0": 0 is out of range 1-31');
  t.is(message('0 * * 13 *'), '"0 * * 13 *": month "13": 13 is out of range 1-12');
  t.is(
    message('0 * * * FRI-MON'),
    '"0 * * * FRI-MON": day of week "FRI-MON": range FRI-MON runs backwards (write it as a list, e.g. FRI-SAT,SUN)',
  );
  t.is(message('*/0 * * * *'), '"*/0 * * * *": minute "*/0": step "0" is not a positive number');
  t.is(message('x * * * *'), '"x * * * *": minute "x": "x" is not a number');
  t.is(message('0 * * FOO *'), '"0 * * FOO *": month "FOO": "FOO" is not a number or a name (JAN..DEC)');
  t.truthy(message('1,,2 * * * *'));
  t.truthy(message(''));
  t.truthy(message('@daily'));
});

test('weekdays at 20:00 in UTC', (t) => {
  // 2025-06-06 is a Friday.
  t.deepEqual(all('0 20 * * MON-FRI', 'UTC', '2025-06-05T00:00:00Z', '2025-06-09T23:59:00Z'), [
    '2025-06-05T20:00:00.000Z',
    '2025-06-06T20:00:00.000Z',
    '2025-06-09T20:00:00.000Z',
  ]);
});

test('day-of-month and day-of-week both restricted: either matches (Vixie cron)', (t) => {
  // June 2025: the 13th is a Friday; Fridays are 6, 13, 20, 27.
  t.deepEqual(
    all('0 0 13 * FRI', 'UTC', '2025-06-01T00:00:00Z', '2025-06-30T00:00:00Z').map((s) => s.slice(8, 10)),
    ['06', '13', '20', '27'],
  );
  t.deepEqual(
    all('0 0 13 * *', 'UTC', '2025-06-01T00:00:00Z', '2025-06-30T00:00:00Z').map((s) => s.slice(8, 10)),
    ['13'],
  );
});

test('time zones: the wall clock of the namespace, including half-hour offsets', (t) => {
  const wake = parseCron('30 7 * * *');
  t.is(iso(nextFire(wake, 'Europe/Paris', utc('2025-01-10T00:00:00Z'))), '2025-01-10T06:30:00.000Z'); // UTC+1
  t.is(iso(nextFire(wake, 'Europe/Paris', utc('2025-07-10T00:00:00Z'))), '2025-07-10T05:30:00.000Z'); // UTC+2
  t.is(iso(nextFire(wake, 'Asia/Kolkata', utc('2025-07-10T00:00:00Z'))), '2025-07-10T02:00:00.000Z'); // UTC+5:30
  t.is(iso(nextFire(wake, 'America/New_York', utc('2025-07-10T12:00:00Z'))), '2025-07-11T11:30:00.000Z');
});

test('DST gap: a wall-clock time that does not exist that day does not fire', (t) => {
  // 2025-03-09, America/New_York: 02:00 EST jumps to 03:00 EDT.
  t.deepEqual(all('30 2 * * *', 'America/New_York', '2025-03-08T00:00:00Z', '2025-03-11T00:00:00Z'), [
    '2025-03-08T07:30:00.000Z',
    '2025-03-10T06:30:00.000Z',
  ]);
  // The hour after the gap fires as usual.
  t.deepEqual(all('30 3 * * *', 'America/New_York', '2025-03-09T00:00:00Z', '2025-03-10T00:00:00Z'), [
    '2025-03-09T07:30:00.000Z',
  ]);
});

test('DST overlap: a wall-clock time that happens twice fires once, the first time', (t) => {
  // 2025-11-02, America/New_York: 02:00 EDT falls back to 01:00 EST; 01:30 happens at 05:30Z and 06:30Z.
  t.deepEqual(all('30 1 * * *', 'America/New_York', '2025-11-02T00:00:00Z', '2025-11-03T00:00:00Z'), [
    '2025-11-02T05:30:00.000Z',
  ]);
  // Every 30 minutes through the night: 00:00, 00:30, 01:00, 01:30 (EDT), then 02:00 EST onwards; no repeats.
  t.deepEqual(all('*/30 0-2 * * *', 'America/New_York', '2025-11-02T03:59:00Z', '2025-11-02T08:00:00Z'), [
    '2025-11-02T04:00:00.000Z',
    '2025-11-02T04:30:00.000Z',
    '2025-11-02T05:00:00.000Z',
    '2025-11-02T05:30:00.000Z',
    '2025-11-02T07:00:00.000Z',
    '2025-11-02T07:30:00.000Z',
  ]);
});

test('lastFire looks in (from, to]; nextFire strictly after', (t) => {
  const c = parseCron('0 12 * * *');
  t.is(
    iso(lastFire(c, 'UTC', utc('2025-06-01T11:55:00Z'), utc('2025-06-01T12:00:00Z'))),
    '2025-06-01T12:00:00.000Z',
  );
  t.is(lastFire(c, 'UTC', utc('2025-06-01T12:00:00Z'), utc('2025-06-01T12:05:00Z')), undefined);
  t.is(iso(nextFire(c, 'UTC', utc('2025-06-01T12:00:00Z'))), '2025-06-02T12:00:00.000Z');
  t.is(
    iso(nextFire(parseCron('0 0 29 FEB *'), 'UTC', utc('2025-03-01T00:00:00Z'))),
    undefined,
    'beyond 400 days',
  );
  t.is(
    iso(nextFire(parseCron('0 0 29 FEB *'), 'UTC', utc('2027-03-01T00:00:00Z'), 400 * 86_400_000)),
    '2028-02-29T00:00:00.000Z',
  );
});

test('time zone names are checked', (t) => {
  t.is(checkTimeZone('Europe/Paris'), 'Europe/Paris');
  t.is(checkTimeZone('UTC'), 'UTC');
  t.throws(() => checkTimeZone('Europe/Atlantis'), { instanceOf: CronError });
  t.throws(() => checkTimeZone(''), { instanceOf: CronError });
});
