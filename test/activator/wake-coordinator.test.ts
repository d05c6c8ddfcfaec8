/**
 * The wake coordinator's state machine with fake wakes, no servers: who joins
 * which wake, when a failed one starts again, when a finished one is
 * forgotten, and shutdown.
 */
import test from 'ava';
import { pino } from 'pino';
import { setTimeout as sleep } from 'node:timers/promises';
import { WakeCoordinator, type CoordinatedWake } from '../../activator/wake-coordinator.js';
import { WakeRefused } from '../../activator/wake-limits.js';
import type { WakeState } from '../../activator/wake.js';

class FakeWake implements CoordinatedWake {
  state: WakeState = 'waking';
  closed = false;
  demands = 0;
  readonly done: Promise<void>;
  #finish!: () => void;
  constructor(readonly namespace: string) {
    this.done = new Promise((resolve) => (this.#finish = resolve));
  }
  demand(): void {
    this.demands++;
  }
  end(state: 'ready' | 'failed'): void {
    this.state = state;
    this.#finish();
  }
  close(): Promise<void> {
    this.closed = true;
    this.end('failed');
    return Promise.resolve();
  }
}

function coordinator(wakeGraceMs = 60_000) {
  const started: FakeWake[] = [];
  const wakes = new WakeCoordinator<FakeWake>({
    log: pino({ level: 'silent' }),
    wakeGraceMs,
    start: (namespace) => {
      const wake = new FakeWake(namespace);
      started.push(wake);
      return wake;
    },
  });
  return { wakes, started };
}

test('every request for a namespace joins the one wake in progress; another namespace gets its own', (t) => {
  const { wakes, started } = coordinator();
  const first = wakes.wake('a', { retryFailed: true });
  t.is(wakes.wake('a', { retryFailed: true }), first);
  t.is(wakes.get('a'), first);
  t.not(wakes.wake('b', { retryFailed: true }), first);
  t.is(started.length, 2);
  t.is(wakes.active, 2);
});

test('a request joining a wake in progress demands it (a sleep may have won it); a status poll does not', (t) => {
  const { wakes } = coordinator();
  const first = wakes.wake('a', { retryFailed: true });
  t.is(first.demands, 0, 'the request that started it is the wake itself');
  wakes.wake('a', { retryFailed: false });
  t.is(first.demands, 0);
  wakes.wake('a', { retryFailed: true });
  t.is(first.demands, 1);
});

test('a failed wake is kept for status polls and started again only by a request', async (t) => {
  const { wakes, started } = coordinator();
  const failed = wakes.wake('a', { retryFailed: true });
  failed.end('failed');
  await failed.done;
  t.is(wakes.wake('a', { retryFailed: false }), failed, 'a status poll sees the failure');
  const again = wakes.wake('a', { retryFailed: true });
  t.not(again, failed);
  t.is(started.length, 2);
});

test('a finished wake is kept for the grace period, then forgotten', async (t) => {
  const { wakes } = coordinator(20);
  const wake = wakes.wake('a', { retryFailed: true });
  wake.end('ready');
  await wake.done;
  t.is(wakes.get('a'), wake, 'within the grace period');
  t.is(wakes.active, 0);
  while (wakes.get('a') !== undefined) await sleep(10);
  t.pass('forgotten after the grace period');
});

test('a finished wake answers status polls; a request (its Service not ready any more) starts a new one', async (t) => {
  const { wakes, started } = coordinator(20);
  const ready = wakes.wake('a', { retryFailed: true });
  ready.end('ready');
  await ready.done;
  t.is(wakes.wake('a', { retryFailed: false }), ready, 'a status poll sees it ready');
  const again = wakes.wake('a', { retryFailed: true });
  t.not(again, ready, 'the namespace went back to sleep: a new wake');
  t.is(started.length, 2);
  await sleep(60);
  t.is(wakes.get('a'), again, "the first wake's grace timer does not drop the new one");
});

test('close ends every wake and refuses new ones', async (t) => {
  const { wakes, started } = coordinator();
  wakes.wake('a', { retryFailed: true });
  wakes.wake('b', { retryFailed: true });
  await wakes.close();
  t.true(started.every((w) => w.closed));
  t.is(wakes.get('a'), undefined);
  t.throws(() => wakes.wake('c', { retryFailed: true }), { message: /shutting down/ });
});

test('a start refused by the rate limits throws and starts nothing; a wake in progress is joined without asking', (t) => {
  const started: FakeWake[] = [];
  let allow = true;
  const asked: string[] = [];
  const wakes = new WakeCoordinator<FakeWake>({
    log: pino({ level: 'silent' }),
    wakeGraceMs: 60_000,
    limits: {
      start: (namespace) => {
        asked.push(namespace);
        if (!allow) throw new WakeRefused('wake-rate', namespace, 1000);
      },
    },
    start: (namespace) => {
      const wake = new FakeWake(namespace);
      started.push(wake);
      return wake;
    },
  });
  const first = wakes.wake('a', { retryFailed: true });
  allow = false;
  t.is(wakes.wake('a', { retryFailed: true }), first, 'joined: the limits are not asked');
  t.deepEqual(asked, ['a']);
  t.throws(() => wakes.wake('b', { retryFailed: true }), { instanceOf: WakeRefused });
  t.is(wakes.get('b'), undefined);
  t.is(started.length, 1);
});
