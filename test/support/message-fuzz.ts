/**
 * The worker's fuzz run, shared by test/worker/message-fuzz.test.ts (pass or
 * fail) and bench/reliability-input.ts (the figures): generated messages
 * (bad-messages.ts, seeded) published to a nats-server of the run's own and
 * handled by a real `nozzle worker` process. Every message must end as it
 * says: dead-lettered once with a reason naming its broken field, processed
 * (a namespace that does not exist: acknowledged as skipped, or refused),
 * or refused by the stream itself (over the message size limit).
 */
import { jetstream } from '@nats-io/jetstream';
import { connectNats } from '../../lib/jetstream/connect.js';
import { generatedMessage, type GeneratedMessage } from './bad-messages.js';
import { sumMetric } from './activator-process.js';
import { NozzleProcess } from './nozzle-process.js';
import { startPrivateNats } from './private-nats.js';
import { rssMiB } from './rss.js';
import { SeededRandom } from './seeded-random.js';
import { deadLetters, queueEmpty, queueState, setupTopology, testTopology, topologyEnv } from './stream.js';

export interface MessageFuzzResult {
  readonly seed: number;
  readonly count: number;
  /** Publishing all of them, then from the first publish to the queue empty. */
  readonly publishMs: number;
  readonly totalMs: number;
  /** How many ended each way: dead-lettered as invalid, processed (acked, or failed on the missing namespace). */
  readonly deadLettered: number;
  readonly processed: number;
  readonly refusedByStream: number;
  /** Messages that did not end as they should (at most 20 shown by callers). */
  readonly wrong: readonly string[];
  /** By mutation: how many were generated. */
  readonly mutations: Map<string, number>;
  readonly rss: { readonly before: number; readonly after: number };
  /** The worker's V8 heap in use (MiB, its /metrics) before and 3 s after the queue was empty. */
  readonly heap: { readonly before: number; readonly after: number };
  readonly alive: boolean;
  /** Redeliveries: an invalid message must never be delivered twice. */
  readonly redelivered: number;
}

export async function runMessageFuzz(options: { seed: number; count: number }): Promise<MessageFuzzResult> {
  const random = new SeededRandom(options.seed);
  // Room for a dead letter of each (8 KiB at most): the limit must not discard what the run checks.
  const topology = { ...testTopology, deadLetterMaxBytes: 512 * 1024 ** 2 };
  const nats = await startPrivateNats('nats-fuzz');
  const nc = await connectNats(nats.url, { name: 'fuzz' });
  await setupTopology(nc, topology);
  const worker = NozzleProcess.start(['worker', '--port', '0'], {
    NATS_URL: nats.url,
    LOG_LEVEL: 'info',
    ...topologyEnv(topology),
  });
  try {
    await worker.waitForLog((l) => l.msg === 'consumer bound');
    const admin = `http://127.0.0.1:${String((await worker.waitForLog((l) => l.msg === 'worker listening')).port)}`;
    const heapMiB = async (): Promise<number> =>
      sumMetric(await (await fetch(`${admin}/metrics`)).text(), 'nozzle_nodejs_heap_size_used_bytes') /
      2 ** 20;
    const heapBefore = await heapMiB();
    const js = jetstream(nc);
    const generated: GeneratedMessage[] = Array.from({ length: options.count }, (_, n) =>
      generatedMessage(random, n, topology.maxMessageSize),
    );
    const mutations = new Map<string, number>();
    for (const g of generated) mutations.set(g.mutation, (mutations.get(g.mutation) ?? 0) + 1);
    const before = rssMiB(worker.pid!);
    const started = performance.now();
    const seqOf = new Map<number, number>(); // stream sequence -> index
    const wrong: string[] = [];
    let refusedByStream = 0;
    for (let i = 0; i < generated.length; i += 200) {
      await Promise.all(
        generated.slice(i, i + 200).map(async (g, j) => {
          const n = i + j;
          try {
            const ack = await js.publish(g.subject, g.payload);
            seqOf.set(ack.seq, n);
            if (g.expect === 'oversize') wrong.push(`#${n} (${g.mutation}): accepted by the stream`);
          } catch (err) {
            refusedByStream++;
            if (g.expect !== 'oversize') wrong.push(`#${n} (${g.mutation}): publish refused: ${String(err)}`);
          }
        }),
      );
    }
    const publishMs = performance.now() - started;
    const deadline = Date.now() + Math.max(60_000, options.count * 20);
    while (!(await queueEmpty(nc))) {
      if (Date.now() > deadline || !worker.running)
        throw new Error(`the queue was not emptied: ${worker.describe()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const totalMs = performance.now() - started;
    const after = rssMiB(worker.pid!);
    await new Promise((r) => setTimeout(r, 3000)); // idle: what is still used once the burst is over
    const heapAfter = await heapMiB();
    const { redelivered } = await queueState(nc);
    const letters = new Map<number, { kind?: string; reason?: string }>();
    for (const letter of await deadLetters(nc)) {
      const seq = Number(letter.originalSequence);
      if (letters.has(seq)) wrong.push(`seq ${seq}: dead-lettered twice`);
      letters.set(seq, letter);
    }
    let deadLettered = 0;
    let processed = 0;
    for (const [seq, n] of seqOf) {
      const g = generated[n]!;
      const letter = letters.get(seq);
      if (letter?.reason?.startsWith('invalid message:')) deadLettered++;
      else processed++;
      if (g.expect === 'valid') {
        // Processed: a sleep for a namespace that does not exist is skipped (acked), a wake
        // fails (dead letter `failed`, the 404): either way never refused for its shape.
        if (letter?.reason?.startsWith('invalid message:'))
          wrong.push(`#${n} (${g.mutation}): valid, refused as invalid: ${letter.reason}`);
      } else if (g.expect !== 'oversize') {
        const field = g.expect.deadLetter;
        if (!letter) wrong.push(`#${n} (${g.mutation}): not dead-lettered`);
        else if (letter.kind !== 'invalid' || !letter.reason?.startsWith(`invalid message: ${field}: `))
          wrong.push(`#${n} (${g.mutation}): reason does not name ${field}: ${letter.kind} ${letter.reason}`);
      }
    }
    return {
      seed: options.seed,
      count: options.count,
      publishMs,
      totalMs,
      deadLettered,
      processed,
      refusedByStream,
      wrong,
      mutations,
      rss: { before, after },
      heap: { before: heapBefore, after: heapAfter },
      alive: worker.running,
      redelivered,
    };
  } finally {
    worker.kill('SIGKILL');
    await worker.exited;
    await nc.close();
    await nats.stop();
  }
}
