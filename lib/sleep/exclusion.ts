import { annotations, labels } from '../names.js';

export interface Exclusion {
  /** `nozzle`: part of Nozzle itself; `excluded`: nozzle.io/exclude; `invalid`: an exclude value that is not a boolean. */
  readonly category: 'nozzle' | 'excluded' | 'invalid';
  readonly reason: string;
}

/**
 * Why a workload must never be put to sleep, or undefined. `nozzle.io/exclude`
 * is a boolean; any other value excludes too (when in doubt, stay awake) and
 * says so. Objects labelled nozzle.io/managed=true belong to Nozzle itself.
 */
export function exclusionOf(metadata: {
  readonly labels?: Readonly<Record<string, string>>;
  readonly annotations?: Readonly<Record<string, string>>;
}): Exclusion | undefined {
  if (metadata.labels?.[labels.managed] === 'true') {
    return { category: 'nozzle', reason: `part of Nozzle (${labels.managed}=true)` };
  }
  const exclude = metadata.annotations?.[annotations.exclude];
  if (exclude === undefined) return undefined;
  const value = exclude.trim().toLowerCase();
  if (value === 'false') return undefined;
  if (value === 'true') return { category: 'excluded', reason: `${annotations.exclude}=true` };
  return {
    category: 'invalid',
    reason: `${annotations.exclude} is "${exclude}", not true or false: treated as excluded`,
  };
}
