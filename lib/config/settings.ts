import { parseDuration, formatDuration } from '../duration.js';
import { formatByteSize, parseByteSize } from '../bytes.js';
import { parseLabelSelector } from '../kube/label-selector.js';

/**
 * A setting read from the environment (always) and from a command-line flag
 * (where one makes sense). Every setting has a documented default, or is
 * required; a bad value stops start-up with a message naming the setting.
 */
export interface Setting<T> {
  readonly env: string;
  readonly flag?: string;
  readonly doc: string;
  /** Absent means required. */
  readonly default?: T;
  // Method syntax on purpose: a Setting<'a' | 'b'> must still fit where a Setting<unknown> is expected.
  parse(raw: string): T;
  show(value: T): string;
}

/** One or more settings with a bad value; the message names each one and what is wrong with it. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: readonly { setting: string; reason: string }[];

  constructor(problems: readonly { setting: string; reason: string }[]) {
    const lines = problems.map((p) => `${p.setting}: ${p.reason}`);
    super(`invalid configuration:${lines.length === 1 ? ` ${lines[0]}` : `\n  ${lines.join('\n  ')}`}`);
    this.problems = problems;
  }

  /** The settings at fault, e.g. for tests: `['NATS_URL']`. */
  get settings(): string[] {
    return this.problems.map((p) => p.setting);
  }
}

type Spec<T> = Omit<Setting<T>, 'parse' | 'show'>;

export function string(spec: Spec<string>): Setting<string> {
  return {
    ...spec,
    parse: (raw) => {
      if (raw.trim() === '') throw new Error('must not be empty');
      return raw.trim();
    },
    show: (v) => v,
  };
}

/** A Kubernetes label selector (`a=b,c in (d,e),!f`), checked at start-up the way the apiserver parses it. */
export function labelSelector(spec: Spec<string>): Setting<string> {
  return {
    ...spec,
    parse: (raw) => {
      if (raw.trim() === '') throw new Error('must not be empty');
      try {
        return parseLabelSelector(raw).text;
      } catch (err) {
        throw new Error(`"${raw}" is not a label selector: ${(err as Error).message}`, { cause: err });
      }
    },
    show: (v) => v,
  };
}

export function integer(spec: Spec<number> & { min: number; max: number }): Setting<number> {
  return {
    ...spec,
    parse: (raw) => {
      if (!/^-?\d+$/.test(raw.trim())) throw new Error(`"${raw}" is not a whole number`);
      const n = Number(raw);
      if (n < spec.min || n > spec.max) throw new Error(`${n} is out of range ${spec.min}..${spec.max}`);
      return n;
    },
    show: String,
  };
}

/** Milliseconds, written as `30s`, `5m`, `1h30m`. */
export function duration(spec: Spec<number> & { min?: number }): Setting<number> {
  return {
    ...spec,
    parse: (raw) => {
      const ms = parseDuration(raw);
      if (spec.min !== undefined && ms < spec.min) {
        throw new Error(`${raw} is shorter than the minimum ${formatDuration(spec.min)}`);
      }
      return ms;
    },
    show: formatDuration,
  };
}

/** Bytes, written as `16KiB`, `256MiB`, `1GiB` or a bare number of bytes. */
export function byteSize(spec: Spec<number> & { min: number; max: number }): Setting<number> {
  return {
    ...spec,
    parse: (raw) => {
      const bytes = parseByteSize(raw);
      if (bytes < spec.min || bytes > spec.max) {
        throw new Error(
          `${raw.trim()} is out of range ${formatByteSize(spec.min)}..${formatByteSize(spec.max)}`,
        );
      }
      return bytes;
    },
    show: formatByteSize,
  };
}

/** `true` or `false`. */
export function boolean(spec: Spec<boolean>): Setting<boolean> {
  return {
    ...spec,
    parse: (raw) => {
      const v = raw.trim().toLowerCase();
      if (v !== 'true' && v !== 'false') throw new Error(`"${raw}" is not true or false`);
      return v === 'true';
    },
    show: String,
  };
}

/** A secret: empty by default (the component says when it needs one), never shown. */
export function secret(spec: Omit<Spec<string>, 'default'>): Setting<string> {
  return {
    ...spec,
    default: '',
    parse: (raw) => raw.trim(),
    show: (v) => (v === '' ? '' : '(set)'),
  };
}

export function oneOf<const V extends string>(spec: Spec<V> & { values: readonly V[] }): Setting<V> {
  return {
    ...spec,
    parse: (raw) => {
      const v = raw.trim() as V;
      if (!spec.values.includes(v)) throw new Error(`"${raw}" is not one of ${spec.values.join(', ')}`);
      return v;
    },
    show: (v) => v,
  };
}

export function url(spec: Spec<string> & { protocols: readonly string[] }): Setting<string> {
  return {
    ...spec,
    parse: (raw) => {
      const list = raw.split(',').map((s) => s.trim());
      for (const item of list) {
        let parsed: URL;
        try {
          parsed = new URL(item);
        } catch {
          throw new Error(`"${item}" is not a URL`);
        }
        if (!spec.protocols.includes(parsed.protocol)) {
          throw new Error(`"${item}" must use ${spec.protocols.join(' or ')}`);
        }
      }
      return list.join(',');
    },
    show: (v) => v,
  };
}

/** Parses `key=value,key=value` into a map; used for label selectors and dev overrides. */
export function keyValues(
  spec: Spec<ReadonlyMap<string, string>> & { check?: (key: string, value: string) => void },
): Setting<ReadonlyMap<string, string>> {
  return {
    ...spec,
    parse: (raw) => {
      const out = new Map<string, string>();
      for (const item of raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)) {
        const eq = item.indexOf('=');
        if (eq <= 0) throw new Error(`"${item}" is not key=value`);
        const key = item.slice(0, eq).trim();
        const value = item.slice(eq + 1).trim();
        spec.check?.(key, value);
        out.set(key, value);
      }
      return out;
    },
    show: (v) => [...v].map(([k, val]) => `${k}=${val}`).join(','),
  };
}

export type Settings = Record<string, Setting<unknown>>;
export type Values<S extends Settings> = {
  readonly [K in keyof S]: S[K] extends Setting<infer T> ? T : never;
};

/**
 * Reads every setting: the flag wins over the env var, which wins over the
 * default. Collects all problems before failing, so one start-up shows them all.
 */
export function load<S extends Settings>(
  settings: S,
  source: { env: NodeJS.ProcessEnv; flags: ReadonlyMap<string, string> },
): Values<S> {
  const out: Record<string, unknown> = {};
  const problems: { setting: string; reason: string }[] = [];
  for (const [key, setting] of Object.entries(settings)) {
    const fromFlag = setting.flag === undefined ? undefined : source.flags.get(setting.flag);
    const raw = fromFlag ?? source.env[setting.env];
    const name = fromFlag !== undefined ? `${setting.flag}` : setting.env;
    if (raw === undefined || raw === '') {
      if (setting.default === undefined) {
        problems.push({ setting: name, reason: `required: ${setting.doc}` });
      } else {
        out[key] = setting.default;
      }
      continue;
    }
    try {
      out[key] = setting.parse(raw);
    } catch (err) {
      problems.push({ setting: name, reason: (err as Error).message });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as Values<S>;
}

/** One line per setting for `--help` and the docs: flag, env, default, doc. */
export function describe(settings: Settings): string[] {
  return Object.values(settings).map((s) => {
    const names = [s.flag, s.env].filter(Boolean).join(', ');
    const def = s.default === undefined ? 'required' : `default ${JSON.stringify(s.show(s.default)) || '""'}`;
    return `  ${names}\n      ${s.doc} (${def})`;
  });
}
