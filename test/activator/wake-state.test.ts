/**
 * The wake's state machine with a fake index and fake API steps, no servers:
 * the order of the steps, takeover removed per Service only once it is ready
 * on its own, the second restore after a racing sleep, retries, the timeout,
 * and the Event only from the replica that restored something.
 */
import test from 'ava';
import { Registry } from 'prom-client';
import { setTimeout as sleep } from 'node:timers/promises';
import { createActivatorMetrics } from '../../activator/metrics.js';
import { Wake, type WakeIndex, type WakeSteps } from '../../activator/wake.js';
import type { RestoredWorkload } from '../../lib/wake/restore.js';
import { quiet } from './convergence/fixtures.js';

class FakeIndex implements WakeIndex {
  readonly ready = new Set<string>();
  readonly taken = new Set<string>();
  private readonly listeners = new Set<(ns: string) => void>();
  hasOwnReady = (_ns: string, service: string): boolean => this.ready.has(service);
  takenOver = (namespace: string) => [...this.taken].map((service) => ({ namespace, service }));
  onChange(listener: (ns: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  get subscribed(): number {
    return this.listeners.size;
  }
  change(apply: () => void, namespace = 'ns'): void {
    apply();
    for (const listener of this.listeners) listener(namespace);
  }
}

class FakeSteps implements WakeSteps {
  readonly calls: string[] = [];
  restores: RestoredWorkload[][] = [[{ kind: 'Deployment', name: 'web', replicas: 2 }]];
  failRemoveOnce = false;
  constructor(private readonly index: FakeIndex) {}
  stampWokeAt = (): Promise<void> => Promise.resolve(void this.calls.push('stamp'));
  restoreWorkloads = (): Promise<RestoredWorkload[]> => {
    this.calls.push('restore');
    return Promise.resolve(this.restores.shift() ?? []);
  };
  removeTakeover = (_ns: string, service: string): Promise<string[]> => {
    if (this.failRemoveOnce) {
      this.failRemoveOnce = false;
      return Promise.reject(new Error('etcd hiccup'));
    }
    this.calls.push(`remove ${service}`);
    this.index.change(() => this.index.taken.delete(service));
    return Promise.resolve([`${service}-nozzle-ipv4`]);
  };
  recordWoke = (_ns: string, note: string): Promise<void> =>
    Promise.resolve(void this.calls.push(`event ${note}`));
}

/** The namespace's workloads as the wake's watch sees them: only whether one sleeps matters here. */
class FakeProgress {
  asleep = false;
  private readonly listeners = new Set<() => void>();
  workloads = () => [];
  sleeping = (): boolean => this.asleep;
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }
  set(asleep: boolean): void {
    this.asleep = asleep;
    for (const listener of this.listeners) listener();
  }
  stop = (): Promise<void> => Promise.resolve();
}

function wake(
  index: FakeIndex,
  steps: FakeSteps,
  readinessTimeoutMs = 5_000,
  progress = new FakeProgress(),
): Wake {
  return new Wake('ns', {
    index,
    steps,
    progress: () => progress,
    log: quiet,
    metrics: createActivatorMetrics(new Registry()),
    readinessTimeoutMs,
    retryMs: 5,
  });
}

test('stamp, restore, then each Service released the moment it is ready on its own; Event last', async (t) => {
  const index = new FakeIndex();
  index.taken.add('web').add('api');
  const steps = new FakeSteps(index);
  const w = wake(index, steps);
  await sleep(20);
  t.deepEqual(steps.calls, ['stamp', 'restore'], 'nothing removed while no Service is ready');
  index.change(() => index.ready.add('api'));
  await sleep(20);
  t.deepEqual(steps.calls.slice(2), ['remove api']);
  t.is(w.state, 'waking');
  index.change(() => index.ready.add('web'));
  await w.done;
  t.is(w.state, 'ready');
  t.deepEqual(steps.calls.slice(3), [
    'remove web',
    'event Woke: 1 workload ready in ' + (w.readyAfterMs! / 1000).toFixed(1) + 's',
  ]);
  t.is(index.subscribed, 0, 'unsubscribed from the index');
});

test('a sleep that lands while a connection is held on the wake (workloads back at 0 with their backup) is woken again at once', async (t) => {
  const index = new FakeIndex();
  index.taken.add('web');
  const steps = new FakeSteps(index);
  const progress = new FakeProgress();
  const w = wake(index, steps, 5_000, progress);
  const release = w.hold(); // a connection waits on the wake
  await sleep(20);
  t.deepEqual(steps.calls, ['stamp', 'restore']);
  // `nozzle sleep` scaled web back to 0 before its pods were ready.
  steps.restores.push([{ kind: 'Deployment', name: 'web', replicas: 2 }]);
  progress.set(true);
  await sleep(20);
  t.deepEqual(steps.calls, ['stamp', 'restore', 'stamp', 'restore'], 'woke-at stamped anew, restored again');
  progress.set(false);
  release();
  index.change(() => index.ready.add('web'));
  await w.done;
  t.is(w.state, 'ready');
  t.is(w.restored, 2);
});

test('with no connection held, a sleep that lands during the wake wins: nothing is restored again', async (t) => {
  const index = new FakeIndex();
  index.taken.add('web');
  const steps = new FakeSteps(index);
  const progress = new FakeProgress();
  const w = wake(index, steps, 300, progress);
  await sleep(20);
  progress.set(true); // `nozzle sleep` after the request that started the wake was answered
  await sleep(20);
  t.deepEqual(steps.calls, ['stamp', 'restore']);
  await w.done;
});

test('after a sleep won an unheld wake, the next request that joins it (demand) wakes the namespace again', async (t) => {
  const index = new FakeIndex();
  index.taken.add('web');
  const steps = new FakeSteps(index);
  const progress = new FakeProgress();
  const w = wake(index, steps, 5_000, progress);
  await sleep(20);
  progress.set(true); // `nozzle sleep` after the first request was answered: the sleep wins
  await sleep(20);
  t.deepEqual(steps.calls, ['stamp', 'restore']);
  // A browser opens the app: it gets the waiting page (not held), and joins this wake.
  steps.restores.push([{ kind: 'Deployment', name: 'web', replicas: 2 }]);
  w.demand();
  await sleep(20);
  t.deepEqual(steps.calls, ['stamp', 'restore', 'stamp', 'restore'], 'woken again for the new request');
  progress.set(false);
  w.demand(); // awake again: a further request restores nothing
  index.change(() => index.ready.add('web'));
  await w.done;
  t.is(w.state, 'ready');
  t.deepEqual(steps.calls.slice(4), [
    'remove web',
    'event Woke: 2 workloads ready in ' + (w.readyAfterMs! / 1000).toFixed(1) + 's',
  ]);
});

test('with a connection held, a sleep that raced the wake (restored again at the end) makes it wait again', async (t) => {
  const index = new FakeIndex();
  index.taken.add('web');
  const steps = new FakeSteps(index);
  const restore = steps.restoreWorkloads;
  steps.restoreWorkloads = async () => {
    if (steps.calls.filter((c) => c === 'restore').length === 1) {
      // The racing sleep scaled web to 0 and re-ensured its takeover: its pods are gone.
      index.change(() => {
        index.ready.delete('web');
        index.taken.add('web');
      });
      await restore();
      return [{ kind: 'Deployment', name: 'web', replicas: 2 }];
    }
    return restore();
  };
  const w = wake(index, steps);
  const release = w.hold();
  index.change(() => index.ready.add('web'));
  await sleep(30);
  t.is(w.state, 'waking', 'waits for web to be ready again');
  index.change(() => index.ready.add('web'));
  await w.done;
  t.is(w.state, 'ready');
  t.deepEqual(
    steps.calls.filter((c) => !c.startsWith('event')),
    ['stamp', 'restore', 'remove web', 'restore', 'remove web', 'restore'],
  );
  t.is(w.restored, 2);
  release();
});

test('with nobody held, the end of the wake restores nothing again: a sleep right after it wins', async (t) => {
  const index = new FakeIndex();
  index.taken.add('web');
  const steps = new FakeSteps(index);
  steps.restores.push([{ kind: 'Deployment', name: 'web', replicas: 2 }]); // what a second restore would find
  const w = wake(index, steps);
  index.change(() => index.ready.add('web'));
  await w.done;
  t.is(w.state, 'ready');
  t.deepEqual(
    steps.calls.filter((c) => !c.startsWith('event')),
    ['stamp', 'restore', 'remove web'],
    'no restore after the last takeover is gone',
  );
});

test('no Event from a replica that restored nothing; a transient failure is retried', async (t) => {
  const index = new FakeIndex();
  index.taken.add('web');
  index.ready.add('web');
  const steps = new FakeSteps(index);
  steps.restores = [];
  steps.failRemoveOnce = true;
  const w = wake(index, steps);
  await w.done;
  t.is(w.state, 'ready');
  t.deepEqual(steps.calls, ['stamp', 'restore', 'remove web']);
});

test('timeout: failed, naming the Services without ready endpoints; nothing removed', async (t) => {
  const index = new FakeIndex();
  index.taken.add('web').add('api');
  index.ready.add('api');
  const steps = new FakeSteps(index);
  steps.removeTakeover = async () => new Promise<string[]>(() => undefined); // api's removal hangs
  const w = wake(index, steps, 100);
  await w.done;
  t.is(w.state, 'failed');
  t.is(w.failure?.reason, 'timeout');
  t.deepEqual(w.failure?.notReady.services, ['web']);
  t.regex(w.failure?.message ?? '', /ns was not ready after 0s: Service web has no ready endpoint/);
});

test('close ends a wake that waits', async (t) => {
  const index = new FakeIndex();
  index.taken.add('web');
  const w = wake(index, new FakeSteps(index));
  await sleep(10);
  await w.close();
  t.is(index.subscribed, 0);
  t.not(w.state, 'ready');
});
