/**
 * Sizes as people write them in env vars: `16KiB`, `256MiB`, `1GiB`, or a
 * bare number of bytes. Powers of 1024 only (`Ki` and `KiB` alike, as in
 * Kubernetes quantities); `KB`/`MB` are rejected rather than guessed at.
 */
const units: Record<string, number> = { Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };
const pattern = /^(\d+)\s*(?:(Ki|Mi|Gi)B?|B)?$/;

export class ByteSizeError extends Error {
  override readonly name = 'ByteSizeError';
}

/** Parses a size into bytes; throws ByteSizeError with the reason. */
export function parseByteSize(text: string): number {
  const input = text.trim();
  const match = pattern.exec(input);
  if (!match) {
    throw new ByteSizeError(
      `invalid size "${text}": use a whole number of bytes or one with a unit (KiB, MiB, GiB), e.g. 16KiB`,
    );
  }
  const bytes = Number(match[1]) * (match[2] === undefined ? 1 : (units[match[2]] ?? 1));
  if (!Number.isSafeInteger(bytes)) throw new ByteSizeError(`size "${text}" is too large`);
  return bytes;
}

/** Formats bytes the way parseByteSize reads them: the largest unit that divides them (`256MiB`, `1500B`). */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [
    ['GiB', 1024 ** 3],
    ['MiB', 1024 ** 2],
    ['KiB', 1024],
  ] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size}${unit}`;
  }
  return `${bytes}B`;
}
