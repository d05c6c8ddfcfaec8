/**
 * A namespace's policy annotations, read and checked in one place: idle-after,
 * woke-at, keep-awake-until, the sleep and wake schedules and their time
 * zone. An annotation that cannot be read is an error with the reason, and
 * the policy skips the namespace: never a guess.
 */
import { DurationError, parseDuration } from '../lib/duration.js';
import { annotations } from '../lib/names.js';
import { parseRfc3339 } from '../lib/rfc3339.js';
import { checkTimeZone, CronError, parseCron, type Cron } from './cron.js';

export interface NamespacePolicy {
  /** No activity for this long puts the namespace to sleep (ms). */
  readonly idleAfter: number;
  /** nozzle.io/woke-at as written, and in ms. */
  readonly wokeAt?: { readonly text: string; readonly at: number };
  readonly keepAwakeUntil?: number;
  readonly sleepSchedule?: Cron;
  readonly wakeSchedule?: Cron;
  /** IANA name; UTC when nozzle.io/timezone is absent. */
  readonly timezone: string;
}

export type PolicyReading =
  { readonly ok: true; readonly policy: NamespacePolicy } | { readonly ok: false; readonly reason: string };

export function readNamespacePolicy(
  name: string,
  values: Readonly<Record<string, string>> | undefined,
  defaultIdleAfter: number,
): PolicyReading {
  const a = values ?? {};
  const bad = (key: string, why: string): PolicyReading => ({
    ok: false,
    reason: `namespace ${name}: ${key} "${a[key]}": ${why}`,
  });
  let idleAfter = defaultIdleAfter;
  const idleText = a[annotations.idleAfter];
  if (idleText !== undefined) {
    try {
      idleAfter = parseDuration(idleText);
    } catch (err) {
      if (!(err instanceof DurationError)) throw err;
      return bad(annotations.idleAfter, err.message);
    }
  }
  const times: Partial<Record<'wokeAt' | 'keepAwakeUntil', number>> = {};
  for (const key of ['wokeAt', 'keepAwakeUntil'] as const) {
    const text = a[annotations[key]];
    if (text === undefined) continue;
    const at = parseRfc3339(text);
    if (at === undefined) {
      return {
        ok: false,
        reason: `namespace ${name}: ${annotations[key]} "${text}" is not an RFC 3339 date-time`,
      };
    }
    times[key] = at;
  }
  let timezone = 'UTC';
  const crons: Partial<Record<'sleepSchedule' | 'wakeSchedule', Cron>> = {};
  try {
    if (a[annotations.timezone] !== undefined) timezone = checkTimeZone(a[annotations.timezone]!.trim());
  } catch (err) {
    if (!(err instanceof CronError)) throw err;
    return bad(annotations.timezone, err.message.replace(/^"[^"]*" /, ''));
  }
  for (const key of ['sleepSchedule', 'wakeSchedule'] as const) {
    const text = a[annotations[key]];
    if (text === undefined) continue;
    try {
      crons[key] = parseCron(text);
    } catch (err) {
      if (!(err instanceof CronError)) throw err;
      return bad(annotations[key], err.message.replace(/^"[^"]*": /, ''));
    }
  }
  const wokeAtText = a[annotations.wokeAt];
  return {
    ok: true,
    policy: {
      idleAfter,
      timezone,
      ...(wokeAtText !== undefined && times.wokeAt !== undefined
        ? { wokeAt: { text: wokeAtText, at: times.wokeAt } }
        : {}),
      ...(times.keepAwakeUntil !== undefined ? { keepAwakeUntil: times.keepAwakeUntil } : {}),
      ...crons,
    },
  };
}
