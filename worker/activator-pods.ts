/**
 * The ready activator pods, kept by a watch (lib/kube/list-watch.ts) on the
 * pods of Nozzle's namespace labelled app.kubernetes.io/name=nozzle-activator:
 * every sleep needs them, and a list per sleep was the most frequent read of
 * all. Until the first list has arrived a sleep waits for it (bounded); when
 * the watch is failing, the cache is not trusted and a sleep reads the pods
 * itself. The ready check is lib/takeover/activator-pods.ts's, so a cached and a
 * listed answer never differ in kind.
 */
import type { V1Pod } from '@kubernetes/client-node';
import type { Kube } from '../lib/kube/client.js';
import { ListWatch } from '../lib/kube/list-watch.js';
import type { Logger } from '../lib/log.js';
import { ACTIVATOR_POD_SELECTOR } from '../lib/names.js';
import { readyActivatorPods, listReadyActivatorPods } from '../lib/takeover/activator-pods.js';
import type { ActivatorPod } from '../lib/takeover/takeover-slice.js';

/** How long a sleep waits for the first list before reading the pods itself. */
const FIRST_SYNC_WAIT = 5_000;

export class ActivatorPods {
  readonly #pods = new Map<string, V1Pod>();
  readonly #watch: ListWatch<V1Pod>;
  #ready: ActivatorPod[] = [];

  constructor(
    private readonly kube: Kube,
    private readonly systemNamespace: string,
    log: Logger,
  ) {
    const key = (pod: V1Pod) => pod.metadata?.uid ?? pod.metadata?.name ?? '';
    this.#watch = new ListWatch<V1Pod>({
      config: kube.config,
      path: `/api/v1/namespaces/${systemNamespace}/pods`,
      labelSelector: ACTIVATOR_POD_SELECTOR,
      list: () =>
        kube.core.listNamespacedPod({ namespace: systemNamespace, labelSelector: ACTIVATOR_POD_SELECTOR }),
      log,
      handlers: {
        replace: (items) => {
          this.#pods.clear();
          for (const pod of items) this.#pods.set(key(pod), pod);
          this.#update();
        },
        upsert: (pod) => {
          this.#pods.set(key(pod), pod);
          this.#update();
        },
        remove: (pod) => {
          this.#pods.delete(key(pod));
          this.#update();
        },
      },
    });
  }

  #update(): void {
    this.#ready = readyActivatorPods([...this.#pods.values()]);
  }

  start(): this {
    this.#watch.start();
    return this;
  }

  stop(): Promise<void> {
    return this.#watch.stop();
  }

  /** The ready activator pods now: from the watch when it is in sync, else read. */
  async current(): Promise<readonly ActivatorPod[]> {
    if (!this.#watch.synced) {
      const synced = await Promise.race([
        this.#watch.whenSynced().then(() => true),
        new Promise<false>((resolve) => setTimeout(resolve, FIRST_SYNC_WAIT, false).unref()),
      ]);
      if (!synced) return listReadyActivatorPods(this.kube, this.systemNamespace);
    }
    if (this.#watch.lastError !== undefined) return listReadyActivatorPods(this.kube, this.systemNamespace);
    return this.#ready;
  }
}
