/**
 * A namespace's signals of activity (design.md, "Policy"), and the newest of
 * them. Pure: publisher/inventory.ts and the Prometheus query gather the
 * facts; the policy and explainNamespace read them the same way.
 */
import { FIELD_MANAGER } from '../lib/names.js';

export type ActivitySource = 'traffic' | 'change' | 'wake' | 'keep-awake-until';

export interface Activity {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly source: ActivitySource;
  /** What it was, for a person: `pod web-5d9f created`, `requests seen by traefik`. */
  readonly detail: string;
}

/**
 * Requests seen by the gateway, for every opted-in namespace at once:
 * counted (the last request per namespace, absent when none in the lookback),
 * not counted (no source configured), or unavailable this round (the source
 * could not be read: nothing is put to sleep).
 */
export type Traffic =
  | { readonly counted: true; readonly lastRequest: ReadonlyMap<string, number>; readonly source: string }
  | { readonly counted: false; readonly unavailable?: undefined }
  | { readonly counted: false; readonly unavailable: string };

export const TRAFFIC_NOT_COUNTED: Traffic = { counted: false };

export function newest(...candidates: readonly (Activity | undefined)[]): Activity | undefined {
  let best: Activity | undefined;
  for (const c of candidates) if (c !== undefined && (best === undefined || c.at > best.at)) best = c;
  return best;
}

type Time = Date | string | undefined;

interface ChangeMeta {
  readonly creationTimestamp?: Time;
  readonly managedFields?: readonly {
    readonly manager?: string;
    readonly subresource?: string;
    readonly time?: Time;
  }[];
}

const ms = (time: Time): number | undefined => {
  if (time === undefined) return undefined;
  const n = time instanceof Date ? time.getTime() : Date.parse(time);
  return Number.isNaN(n) ? undefined : n;
};

/**
 * When an object was last changed by someone: its creation, or the newest
 * managedFields entry on the object itself (a rollout, an edit, a label)
 * made by a manager other than Nozzle. Status and scale subresources are
 * not changes (controllers write status all the time; the worker scales).
 */
export function lastChange(meta: ChangeMeta | undefined, what: string): Activity | undefined {
  if (meta === undefined) return undefined;
  let at = ms(meta.creationTimestamp);
  let detail = `${what} created`;
  for (const entry of meta.managedFields ?? []) {
    if (entry.subresource || entry.manager === FIELD_MANAGER) continue;
    const t = ms(entry.time);
    if (t !== undefined && (at === undefined || t > at)) {
      at = t;
      detail = `${what} changed by ${entry.manager ?? 'someone'}`;
    }
  }
  return at === undefined ? undefined : { at, source: 'change', detail };
}

/** When a pod was created (pods are never "changed" for this purpose: their status moves all the time). */
export function podCreated(meta: ChangeMeta | undefined, name: string): Activity | undefined {
  const at = ms(meta?.creationTimestamp);
  return at === undefined ? undefined : { at, source: 'change', detail: `pod ${name} created` };
}
