/** A process's resident memory, from /proc/<pid>/status (Linux): the bad-input runs and the benches watch the activator's. */
import { readFileSync } from 'node:fs';

/** VmRSS of `pid` in MiB (NaN when the process is gone). */
export function rssMiB(pid: number): number {
  try {
    const kb = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
    return kb === undefined ? NaN : Number(kb) / 1024;
  } catch {
    return NaN;
  }
}
