/**
 * What feeds the activator's indexes: a ListWatch (list-watch.ts) in
 * production, a fake in unit tests. The index hands its handlers to a maker
 * and gets the feeds back, so it owns their start, stop and sync.
 */
export interface Feed {
  start(): unknown;
  stop(): Promise<void>;
  readonly synced: boolean;
  whenSynced(): Promise<void>;
}

export type FeedMaker<H> = (handlers: H) => readonly Feed[];

/** Every feed has listed once. */
export const allSynced = (feeds: readonly Feed[]): boolean => feeds.every((f) => f.synced);
