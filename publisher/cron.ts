/**
 * A 5-field cron evaluator (minute hour day-of-month month day-of-week) in an
 * IANA time zone, for nozzle.io/sleep-schedule and nozzle.io/wake-schedule.
 * Pure and dependency-free: wall-clock fields come from Intl.DateTimeFormat.
 *
 * Syntax: `*`, numbers, lists `1,15`, ranges `1-5`, steps `*\/15` `8-18/2`
 * `5/10`, names JAN-DEC and SUN-SAT (day-of-week 0-7, 7 is Sunday). When both
 * day-of-month and day-of-week are restricted (neither starts with `*`), a day
 * matches when either does, as in Vixie cron.
 *
 * Daylight saving time (docs/activity.md): a schedule fires at wall-clock
 * times that exist. A time inside a spring-forward gap does not exist that
 * day, so it does not fire; a time inside a fall-back overlap happens twice
 * and fires once, at its first occurrence.
 */

export class CronError extends Error {
  override readonly name = 'CronError';
}

export interface Cron {
  readonly text: string;
  readonly minutes: ReadonlySet<number>;
  readonly hours: ReadonlySet<number>;
  readonly daysOfMonth: ReadonlySet<number>;
  readonly months: ReadonlySet<number>;
  readonly daysOfWeek: ReadonlySet<number>;
  readonly domRestricted: boolean;
  readonly dowRestricted: boolean;
}

const MONTHS = ['JAN', 'FEB', 'MAR', 'APR', 'MAY', 'JUN', 'JUL', 'AUG', 'SEP', 'OCT', 'NOV', 'DEC'];
const DAYS = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];

interface FieldSpec {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
  readonly namesFrom?: number;
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS, namesFrom: 1 },
  { name: 'day of week', min: 0, max: 7, names: DAYS, namesFrom: 0 },
];

/** Parses a 5-field cron expression; throws CronError naming the field and what is wrong. */
export function parseCron(text: string): Cron {
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 5 || parts[0] === '') {
    throw new CronError(
      `"${text}" has ${parts[0] === '' ? 0 : parts.length} fields, not 5 (minute hour day-of-month month day-of-week)`,
    );
  }
  const sets = parts.map((part, i) => parseField(part, FIELDS[i]!, text));
  const dow = new Set([...sets[4]!].map((d) => (d === 7 ? 0 : d)));
  return {
    text: parts.join(' '),
    minutes: sets[0]!,
    hours: sets[1]!,
    daysOfMonth: sets[2]!,
    months: sets[3]!,
    daysOfWeek: dow,
    domRestricted: !parts[2]!.startsWith('*'),
    dowRestricted: !parts[4]!.startsWith('*'),
  };
}

function parseField(part: string, spec: FieldSpec, text: string): Set<number> {
  const fail = (why: string): never => {
    throw new CronError(`"${text}": ${spec.name} "${part}": ${why}`);
  };
  const value = (token: string): number => {
    const upper = token.toUpperCase();
    const named = spec.names?.indexOf(upper) ?? -1;
    if (named >= 0) return named + (spec.namesFrom ?? 0);
    if (!/^\d+$/.test(token)) {
      return fail(
        `"${token}" is not a number${spec.names ? ` or a name (${spec.names[0]}..${spec.names.at(-1)})` : ''}`,
      );
    }
    const n = Number(token);
    if (n < spec.min || n > spec.max) fail(`${n} is out of range ${spec.min}-${spec.max}`);
    return n;
  };
  const out = new Set<number>();
  for (const item of part.split(',')) {
    if (item === '') fail('empty list item');
    const [range, stepText, extra] = item.split('/');
    if (extra !== undefined) fail(`"${item}" has more than one "/"`);
    let step = 1;
    if (stepText !== undefined) {
      if (!/^\d+$/.test(stepText) || Number(stepText) === 0)
        fail(`step "${stepText}" is not a positive number`);
      step = Number(stepText);
    }
    let from: number;
    let to: number;
    if (range === '*') {
      [from, to] = [spec.min, spec.max];
    } else if (range!.includes('-')) {
      const [a, b, more] = range!.split('-');
      if (more !== undefined || a === '' || b === '') fail(`"${range}" is not a range a-b`);
      [from, to] = [value(a!), value(b!)];
      if (from > to) fail(`range ${range} runs backwards (write it as a list, e.g. FRI-SAT,SUN)`);
    } else {
      from = value(range!);
      // `5/10` means from 5 to the end, every 10 (Vixie and most crons).
      to = stepText === undefined ? from : spec.max;
    }
    for (let n = from; n <= to; n += step) out.add(n);
  }
  return out;
}

/** Checks an IANA time zone name (`Europe/Paris`, `UTC`); throws CronError when Intl does not know it. */
export function checkTimeZone(zone: string): string {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    throw new CronError(`"${zone}" is not an IANA time zone (e.g. Europe/Paris, America/New_York, UTC)`);
  }
}

interface WallClock {
  readonly year: number;
  readonly month: number;
  readonly day: number;
  readonly hour: number;
  readonly minute: number;
  readonly weekday: number;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

/** The wall-clock fields of an instant in a time zone. */
export function wallClock(at: number, zone: string): WallClock {
  let format = formatters.get(zone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
    });
    formatters.set(zone, format);
  }
  const f: Record<string, number> = {};
  for (const p of format.formatToParts(at)) if (p.type !== 'literal') f[p.type] = Number(p.value);
  const [year, month, day] = [f.year!, f.month!, f.day!];
  return {
    year,
    month,
    day,
    hour: f.hour!,
    minute: f.minute!,
    weekday: new Date(Date.UTC(year, month - 1, day)).getUTCDay(),
  };
}

/** The zone's offset from UTC at an instant, in milliseconds, to the minute. */
function offsetAt(at: number, zone: string): number {
  const w = wallClock(at, zone);
  const minute = Math.floor(at / 60_000) * 60_000;
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute) - minute;
}

const dayMatches = (cron: Cron, w: WallClock): boolean => {
  if (!cron.months.has(w.month)) return false;
  const dom = cron.daysOfMonth.has(w.day);
  const dow = cron.daysOfWeek.has(w.weekday);
  if (cron.domRestricted && cron.dowRestricted) return dom || dow;
  return dom && dow;
};

/** True when the wall-clock time of `at` already happened earlier (the second pass of a fall-back overlap). */
function isRepeat(at: number, zone: string): boolean {
  const now = offsetAt(at, zone);
  const before = offsetAt(at - 3 * 3_600_000, zone);
  if (before <= now) return false;
  const earlier = at - (before - now);
  return offsetAt(earlier, zone) === before;
}

/**
 * The instants (minute starts, ascending) at which the schedule fires in
 * (from, to]. Skips whole local hours that cannot match, so a year is a few
 * thousand wall-clock look-ups, not half a million.
 */
export function* fires(cron: Cron, zone: string, from: number, to: number): Generator<number> {
  let t = Math.floor(from / 60_000) * 60_000 + 60_000;
  while (t <= to) {
    const w = wallClock(t, zone);
    const toNextHour = (60 - w.minute) * 60_000;
    if (!dayMatches(cron, w) || !cron.hours.has(w.hour)) {
      t += toNextHour;
      continue;
    }
    if (cron.minutes.has(w.minute)) {
      if (!isRepeat(t, zone)) yield t;
      t += 60_000;
      continue;
    }
    let next = w.minute + 1;
    while (next < 60 && !cron.minutes.has(next)) next++;
    t += (next - w.minute) * 60_000;
  }
}

/** The last fire in (from, to], or undefined. */
export function lastFire(cron: Cron, zone: string, from: number, to: number): number | undefined {
  let last: number | undefined;
  for (const t of fires(cron, zone, from, to)) last = t;
  return last;
}

/** The first fire after `after`, looking at most `horizon` ms ahead (default 400 days), or undefined. */
export function nextFire(
  cron: Cron,
  zone: string,
  after: number,
  horizon = 400 * 86_400_000,
): number | undefined {
  for (const t of fires(cron, zone, after, after + horizon)) return t;
  return undefined;
}
