/**
 * What every bench prints with its figures: the machine (nproc, CPU model,
 * RAM, kernel, Node) and the 1-minute load average, and a process's resident
 * memory from /proc/<pid>/status.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg, release, totalmem } from 'node:os';

/** From /proc/cpuinfo where there is one (os.cpus() can shorten it). */
function cpuModel(): string {
  try {
    const line = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (line) return line[1]!.trim();
  } catch {
    // not Linux
  }
  return cpus()[0]?.model ?? 'unknown CPU';
}

/** `nproc 2, AMD EPYC, 24 GiB RAM, Linux 6.18.44, Node v24.21.0` */
export function machine(): string {
  return (
    `nproc ${availableParallelism()}, ${cpuModel()}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, ` +
    `Linux ${release()}, Node ${process.version}`
  );
}

/** The 1-minute load average, one decimal. */
export const load = (): string => loadavg()[0]!.toFixed(1);

export { rssMiB } from '../../test/support/rss.js';

/** Sorted copy's quantile (nearest rank). */
export function quantile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? NaN;
}

/** The open-file hard limit the bench's children are raised to (`ulimit -Hn`). */
export const openFileLimit = (): string =>
  spawnSync('bash', ['-c', 'ulimit -Hn'], { encoding: 'utf8' }).stdout.trim();
