/**
 * The bad-input runs against a real activator process (two-namespaces.ts),
 * shared by the ava tests (pass/fail) and bench/reliability-input.ts (the
 * figures): the fixed matrix (bad-requests.ts) while asleep and once awake,
 * and a seeded fuzz run of generated requests. Each returns what happened,
 * request by request or in counts; the callers assert or print.
 */
import { classify } from '../../activator/sniff.js';
import { BAD_REQUESTS, generatedRequest, type BadRequest } from './bad-requests.js';
import { exchange, type Exchange } from './http-exchange.js';
import { probeMark } from './recording-pod.js';
import { rssMiB } from './rss.js';
import { SeededRandom } from './seeded-random.js';
import { leakedNames, type Side, type TwoNamespaces } from './two-namespaces.js';

export interface MatrixRow {
  readonly request: BadRequest;
  readonly side: Side;
  readonly phase: 'asleep' | 'awake';
  readonly mark: string;
  readonly result: Exchange;
  /** Internal names in the activator's answer that the request did not carry. */
  readonly leaks: readonly string[];
}

/** What the pods received: marks of their own namespace, and of the other one (wrong deliveries). */
export interface Deliveries {
  readonly own: number;
  readonly wrong: number;
}

export function deliveries(run: TwoNamespaces): Deliveries {
  let own = 0;
  let wrong = 0;
  for (const side of [run.a, run.b]) {
    for (const [label, marks] of side.pod.marks()) {
      if (label === side.label) own += marks.size;
      else wrong += marks.size;
    }
  }
  return { own, wrong };
}

const other = (run: TwoNamespaces, side: Side): Side => (side === run.a ? run.b : run.a);

async function until(what: string, check: () => Promise<boolean>, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Every matrix request to both namespaces' ports at once while they sleep;
 * once those the activator holds are held, both are made ready (held ones are
 * then spliced to their own pod). Then `awake`: the same again, spliced at
 * accept. Marks are `probe-<side>-<n>`, n = request index (+1000 awake).
 */
export async function runMatrix(run: TwoNamespaces, phase: 'asleep' | 'awake'): Promise<MatrixRow[]> {
  const offset = phase === 'awake' ? 1000 : 0;
  const sends = [run.a, run.b].flatMap((side) =>
    BAD_REQUESTS.map((request, i) => {
      const mark = probeMark(side.label, i + offset);
      const peer = other(run, side);
      const bytes = request.bytes({ mark, otherNamespace: peer.namespace, otherPort: peer.port });
      const chunks = Buffer.isBuffer(bytes) ? [bytes] : bytes;
      return {
        request,
        side,
        mark,
        sent: Buffer.concat(chunks),
        result: exchange(side.port, chunks, { gapMs: 2, timeoutMs: 30_000 }),
      };
    }),
  );
  if (phase === 'asleep') {
    const held = 2 * BAD_REQUESTS.filter((r) => r.expect.by === 'pod').length;
    await until(
      `${held} held connections`,
      async () => (await run.activator.metric('nozzle_activator_held_connections')) >= held,
      15_000,
    ).catch(() => undefined); // the rows say what was not held
    await run.ready(run.a);
    await run.ready(run.b);
  }
  const rows: MatrixRow[] = [];
  for (const s of sends) {
    const result = await s.result;
    rows.push({
      request: s.request,
      side: s.side,
      phase,
      mark: s.mark,
      result,
      leaks: result.activator ? leakedNames(run, s.side, s.sent, `${result.head}\n${result.body}`) : [],
    });
  }
  return rows;
}

/** Statuses the activator may answer with: each a clear refusal or one of its own pages. */
export const CLEAR_STATUSES = new Set([200, 400, 404, 405, 408, 417, 431, 502, 503, 504]);

export interface FuzzResult {
  readonly seed: number;
  readonly count: number;
  readonly ms: number;
  /** Activator answers by status. */
  readonly activatorStatuses: Map<number, number>;
  /** Spliced to a pod (the awake namespace), by the pod's status ('none': it closed; 'still open': at the client's timeout). */
  readonly podStatuses: Map<string, number>;
  /** Closed by the activator without an answer: requests that were not HTTP/1 (held, then closed) */
  readonly closedNotHttp: number;
  /** ... and HTTP/1 requests closed without an answer, or answered with a status outside CLEAR_STATUSES: unclear. */
  readonly unclear: readonly string[];
  readonly leaks: readonly string[];
  /** Requests to the sleeping namespace neither answered nor closed by the activator within the client's timeout. */
  readonly timedOut: number;
  readonly deliveries: Deliveries;
  /** The activator's VmRSS (MiB) before, the most seen during the run, after. */
  readonly rss: { readonly before: number; readonly max: number; readonly after: number };
  /** The activator process was still running at the end. */
  readonly alive: boolean;
}

/**
 * `count` generated requests (seeded), `concurrency` at a time, to the
 * sleeping namespace `a` (parsed and decided by the activator) and the awake
 * `b` (spliced at accept to its pod), about half each.
 */
export async function runRequestFuzz(
  run: TwoNamespaces,
  options: { seed: number; count: number; concurrency: number },
): Promise<FuzzResult> {
  const random = new SeededRandom(options.seed);
  const activatorStatuses = new Map<number, number>();
  const podStatuses = new Map<string, number>();
  const unclear: string[] = [];
  const leaks: string[] = [];
  let closedNotHttp = 0;
  let timedOut = 0;
  const pid = run.activator.pid;
  const rss = { before: rssMiB(pid), max: 0, after: 0 };
  const requests = Array.from({ length: options.count }, (_, n) => {
    const side = random.chance(0.5) ? run.a : run.b;
    return { n, side, bytes: generatedRequest(random, probeMark(side.label, 100_000 + n)) };
  });
  const started = performance.now();
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < requests.length) {
      const { n, side, bytes } = requests[next++]!;
      if (n % 250 === 0) rss.max = Math.max(rss.max, rssMiB(pid));
      const r = await exchange(side.port, bytes, { idleMs: 200, timeoutMs: 20_000 });
      if (side === run.b) {
        const key = r.timedOut ? 'still open' : String(r.status ?? 'none');
        podStatuses.set(key, (podStatuses.get(key) ?? 0) + 1);
        continue;
      }
      if (r.timedOut) timedOut++;
      if (r.status === undefined) {
        if (classify(bytes) === 'http1')
          unclear.push(
            `#${n}: closed without an answer: ${JSON.stringify(bytes.toString('latin1').slice(0, 120))}`,
          );
        else closedNotHttp++;
        continue;
      }
      activatorStatuses.set(r.status, (activatorStatuses.get(r.status) ?? 0) + 1);
      const head = bytes.subarray(0, 5).toString('latin1') === 'HEAD '; // answered without a body
      if (!r.activator || !CLEAR_STATUSES.has(r.status) || (r.body.length === 0 && !head))
        unclear.push(
          `#${n}: ${r.head.split('\r\n')[0]} (activator: ${r.activator}, body ${r.body.length} bytes)`,
        );
      const leaked = leakedNames(run, side, bytes, `${r.head}\n${r.body}`);
      if (leaked.length > 0) leaks.push(`#${n}: ${leaked.join(', ')}`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  const ms = performance.now() - started;
  rss.after = rssMiB(pid);
  rss.max = Math.max(rss.max, rss.after);
  const alive = run.activator.child.exitCode === null && run.activator.child.signalCode === null;
  return {
    seed: options.seed,
    count: options.count,
    ms,
    activatorStatuses,
    podStatuses,
    closedNotHttp,
    unclear,
    leaks,
    timedOut,
    deliveries: deliveries(run),
    rss,
    alive,
  };
}
