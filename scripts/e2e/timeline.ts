import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';

/** `t+4.1s worker replicas 0 -> 1`: what happened when, printed live and kept in a file. */
export class Timeline {
  readonly #start = performance.now();
  readonly #lines: string[] = [];
  readonly #marks = new Map<string, number>();

  constructor(
    readonly file: string,
    private readonly print: (line: string) => void = (line) => console.log(line),
  ) {
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, '');
  }

  /** Seconds since the start. */
  get elapsed(): number {
    return (performance.now() - this.#start) / 1000;
  }

  log(event: string): void {
    const line = `t+${this.elapsed.toFixed(1)}s ${event}`;
    this.#lines.push(line);
    appendFileSync(this.file, `${line}\n`);
    this.print(line);
  }

  /** Remembers the time of a named moment, for durations between moments. */
  mark(name: string): void {
    this.#marks.set(name, this.elapsed);
  }

  /** Seconds between two marks. */
  between(from: string, to: string): number {
    const a = this.#marks.get(from);
    const b = this.#marks.get(to);
    if (a === undefined || b === undefined) throw new Error(`no mark ${a === undefined ? from : to}`);
    return b - a;
  }

  get lines(): readonly string[] {
    return this.#lines;
  }
}
