/**
 * Generated messages for the worker's fuzz run: a valid sleep or wake
 * message with one thing broken (a field missing, of the wrong type, out of
 * its format, dated in the future, on another subject, not JSON, not UTF-8,
 * not an object, over the stream's size limit), or none. Each says what the
 * worker must do with it: dead-letter it with a reason that names `field`,
 * process it (`valid`: for a namespace that does not exist, acknowledged as
 * skipped), or never see it (`oversize`: refused by the stream itself).
 */
import { jetstream } from '../../lib/names.js';
import type { SeededRandom } from './seeded-random.js';

export interface GeneratedMessage {
  readonly subject: string;
  readonly payload: Uint8Array;
  /** What the worker must do: dead-letter naming this field, or process it, or the stream refuses it. */
  readonly expect: { readonly deadLetter: string } | 'valid' | 'oversize';
  /** Which mutation made it (for the report). */
  readonly mutation: string;
}

const enc = new TextEncoder();
/** Not an RFC 1123 label nor subdomain: invalid as a namespace and as a workload name. */
const BAD_NAMES = [
  '',
  ' ',
  'UPPER',
  'a_b',
  '-a',
  'a-',
  'ünïcödé',
  '🙂',
  '..',
  'a/b',
  '\u0000',
  '$',
  '*',
  '>',
];
const NOT_STRINGS: readonly unknown[] = [null, 0, 1, -1, 1.5, true, false, [], {}, ['a'], { a: 1 }];

type Mutation = (m: Record<string, unknown>, r: SeededRandom) => string | undefined;

/** Mutations of a valid message body: each returns the field the reason must name (undefined: still valid). */
const MUTATIONS: Record<string, Mutation> = {
  'v missing': (m) => (delete m.v, 'v'),
  'v wrong': (m, r) => ((m.v = r.pick([0, 2, '1', null, 1.0001, []])), 'v'),
  'op missing': (m) => (delete m.op, 'op'),
  'op wrong': (m, r) => ((m.op = r.pick(['delete', 'SLEEP', '', 1, null, ['sleep']])), 'op'),
  'namespace missing': (m) => (delete m.namespace, 'namespace'),
  'namespace not a string': (m, r) => ((m.namespace = r.pick(NOT_STRINGS)), 'namespace'),
  'namespace invalid': (m, r) => ((m.namespace = r.pick([...BAD_NAMES, 'a.b', 'a'.repeat(64)])), 'namespace'),
  'reason missing': (m) => (delete m.reason, 'reason'),
  'reason not a string': (m, r) => ((m.reason = r.pick(NOT_STRINGS)), 'reason'),
  'at missing': (m) => (delete m.at, 'at'),
  'at not RFC 3339': (m, r) => (
    (m.at = r.pick([
      'yesterday',
      '2025-13-45T99:00:00Z',
      '2025-01-01',
      '1735689600',
      '2025-01-01T00:00:00',
      ' ',
    ])),
    'at'
  ),
  'at not a string': (m, r) => ((m.at = r.pick(NOT_STRINGS)), 'at'),
  'at in the future': (m, r) => (
    (m.at = new Date(Date.now() + r.int(120, 10 ** 8) * 1000).toISOString()),
    'at'
  ),
  'workload missing (sleep)': (m) => ((m.op = 'sleep'), delete m.workload, 'workload'),
  'workload not an object': (m, r) => (
    (m.workload = r.pick([null, 'web', 1, ['Deployment', 'web']])),
    'workload'
  ),
  'workload.kind wrong': (m, r) => (
    (m.workload = { kind: r.pick(['DaemonSet', 'deployment', '', 7, null]), name: 'web' }),
    'workload.kind'
  ),
  'workload.name invalid': (m, r) => (
    (m.workload = { kind: 'Deployment', name: r.pick([...BAD_NAMES, 'a'.repeat(254)]) }),
    'workload.name'
  ),
  'unknown fields': (m, r) => (
    (m[`x-${r.int(0, 999)}`] = r.pick(NOT_STRINGS)),
    (m.extra = { deep: [1, 2] }),
    undefined
  ),
};

/** A valid message for a namespace that does not exist (the worker skips it: acknowledged, no dead letter). */
function validBody(r: SeededRandom, n: number): Record<string, unknown> {
  const namespace = `fuzz-absent-${n}`;
  const sleep = r.chance(0.6);
  return {
    v: 1,
    op: sleep ? 'sleep' : 'wake',
    namespace,
    ...(sleep || r.chance(0.3)
      ? { workload: { kind: r.pick(['Deployment', 'StatefulSet']), name: `w${n}` } }
      : {}),
    reason: r.pick(['idle', 'schedule', 'manual', 'fuzz']),
    at: new Date(Date.now() - r.int(0, 3_600_000)).toISOString(),
  };
}

/** One generated message; `maxMessageSize` is the stream's limit (NOZZLE_MAX_MESSAGE_SIZE). */
export function generatedMessage(r: SeededRandom, n: number, maxMessageSize: number): GeneratedMessage {
  const body = validBody(r, n);
  const subject = (b: Record<string, unknown>): string =>
    b.op === 'wake'
      ? jetstream.wakeSubject(String(body.namespace))
      : jetstream.sleepSubject(String(body.namespace));
  const roll = r.next();
  if (roll < 0.04) {
    return {
      subject: subject(body),
      payload: r.bytes(r.int(1, 200)),
      expect: { deadLetter: 'body' },
      mutation: 'random bytes',
    };
  }
  if (roll < 0.07) {
    const json = JSON.stringify(body);
    const cut = json.slice(0, r.int(0, json.length - 1));
    return {
      subject: subject(body),
      payload: enc.encode(cut),
      expect: { deadLetter: 'body' },
      mutation: 'truncated JSON',
    };
  }
  if (roll < 0.09) {
    const bytes = enc.encode(JSON.stringify(body));
    const bad = new Uint8Array([...bytes.subarray(0, 20), 0xc3, 0x28, ...bytes.subarray(20)]);
    return { subject: subject(body), payload: bad, expect: { deadLetter: 'body' }, mutation: 'not UTF-8' };
  }
  if (roll < 0.11) {
    const value = r.pick<unknown>([[body], 'sleep', 42, null, true]);
    return {
      subject: subject(body),
      payload: enc.encode(JSON.stringify(value)),
      expect: { deadLetter: 'body' },
      mutation: 'JSON, not an object',
    };
  }
  if (roll < 0.12) {
    const depth = r.int(1_000, 5_000);
    const deep = `{"v":1,"op":"wake","namespace":"x","reason":"r","at":"2025-01-01T00:00:00Z","deep":${'['.repeat(depth)}${']'.repeat(depth)}}`;
    return {
      subject: jetstream.wakeSubject('x'),
      payload: enc.encode(deep),
      expect: 'valid',
      mutation: 'deeply nested JSON',
    };
  }
  if (roll < 0.13) {
    return {
      subject: subject(body),
      payload: enc.encode(JSON.stringify({ ...body, pad: 'x'.repeat(maxMessageSize) })),
      expect: 'oversize',
      mutation: 'over the message size limit',
    };
  }
  if (roll < 0.16) {
    const other = `${String(body.op)}.elsewhere-${n}`;
    return {
      subject: `nozzle.${other}`,
      payload: enc.encode(JSON.stringify(body)),
      expect: { deadLetter: 'subject' },
      mutation: "on another namespace's subject",
    };
  }
  if (roll < 0.26)
    return {
      subject: subject(body),
      payload: enc.encode(JSON.stringify(body)),
      expect: 'valid',
      mutation: 'valid',
    };
  const mutation = r.pick(Object.keys(MUTATIONS));
  const field = MUTATIONS[mutation]!(body, r);
  // The subject is the valid message's: a broken namespace must be refused for its body, not routed by it.
  const on =
    typeof body.namespace === 'string' && /^[a-z0-9-]+$/.test(body.namespace)
      ? subject(body)
      : jetstream.sleepSubject(`fuzz-absent-${n}`);
  const bodyText = JSON.stringify(body);
  return {
    subject: on,
    payload: enc.encode(bodyText),
    expect: field === undefined ? 'valid' : { deadLetter: field },
    mutation,
  };
}
