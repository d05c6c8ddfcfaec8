/**
 * Durations as people write them in annotations, flags and env vars:
 * `90s`, `5m`, `1h30m`, `250ms`. A bare number is rejected on purpose: `30`
 * is ambiguous (seconds? minutes?) and guessing wrong puts a namespace to
 * sleep at the wrong time.
 */
const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const part = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

export class DurationError extends Error {
  override readonly name = 'DurationError';
}

/** Parses a duration into milliseconds; throws DurationError with the reason. */
export function parseDuration(text: string): number {
  const input = text.trim();
  if (input === '') throw new DurationError('empty duration');
  let total = 0;
  part.lastIndex = 0;
  while (part.lastIndex < input.length) {
    const at = part.lastIndex;
    const match = part.exec(input);
    if (!match) {
      throw new DurationError(
        `invalid duration "${text}" at "${input.slice(at)}": use a number with a unit (ms, s, m, h, d), e.g. 30m or 1h30m`,
      );
    }
    total += Number(match[1]) * (units[match[2]!] ?? 0);
  }
  if (!Number.isFinite(total)) throw new DurationError(`duration "${text}" is too large`);
  return Math.round(total);
}

/** Formats milliseconds the way parseDuration reads them (`1h30m`, `2.5s`). */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${ms}ms`;
  if (ms < 60_000) return `${Number((ms / 1_000).toFixed(1))}s`;
  let rest = Math.round(ms / 1_000);
  let out = '';
  for (const [unit, size] of [
    ['h', 3_600],
    ['m', 60],
    ['s', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) out += `${n}${unit}`;
    rest -= n * size;
  }
  return out;
}
