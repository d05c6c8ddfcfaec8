import test from 'ava';
import {
  checkNotAhead,
  checkSubject,
  decisionId,
  encodeMessage,
  MessageError,
  parseMessage,
  sleepMessage,
  subjectOf,
  wakeMessage,
} from '../../lib/messages.js';

const valid = {
  v: 1,
  op: 'sleep',
  namespace: 'shop',
  workload: { kind: 'Deployment', name: 'web' },
  reason: 'idle',
  at: '2025-01-01T12:00:00.000Z',
};

const problem = (body: unknown): { field: string; problem: string } => {
  try {
    parseMessage(typeof body === 'string' ? body : JSON.stringify(body));
  } catch (err) {
    if (err instanceof MessageError) return { field: err.field, problem: err.problem };
    throw err;
  }
  throw new Error('expected a MessageError');
};

test('a valid sleep message parses to exactly its fields', (t) => {
  t.deepEqual(parseMessage(JSON.stringify(valid)), valid);
});

test('a wake message needs no workload', (t) => {
  const wake = { v: 1, op: 'wake', namespace: 'shop', reason: 'manual', at: '2025-01-01T12:00:00+02:00' };
  t.deepEqual(parseMessage(JSON.stringify(wake)), wake);
});

test('unknown fields are ignored (forward compatible within a version)', (t) => {
  t.deepEqual(parseMessage(JSON.stringify({ ...valid, priority: 'high' })), valid);
});

test('bytes that are not UTF-8 JSON are rejected on the body', (t) => {
  t.is(problem('{"v":1,').field, 'body');
  t.regex(problem('{"v":1,').problem, /not JSON/);
  t.deepEqual(problem('[1,2]'), { field: 'body', problem: 'must be a JSON object, got array' });
  t.deepEqual(problem('null'), { field: 'body', problem: 'must be a JSON object, got null' });
  t.throws(() => parseMessage(new Uint8Array([0xff, 0xfe])), { instanceOf: MessageError });
});

test('each field is checked, and the error names it and says what was wrong', (t) => {
  const cases: [Record<string, unknown>, string, RegExp][] = [
    [{ ...valid, v: undefined }, 'v', /missing/],
    [{ ...valid, v: 2 }, 'v', /unsupported version 2/],
    [{ ...valid, v: '1' }, 'v', /unsupported version "1"/],
    [{ ...valid, op: 'delete' }, 'op', /"delete" is not one of "sleep", "wake"/],
    [{ ...valid, op: undefined }, 'op', /missing/],
    [{ ...valid, namespace: undefined }, 'namespace', /missing/],
    [{ ...valid, namespace: 42 }, 'namespace', /must be a string, got number/],
    [{ ...valid, namespace: '' }, 'namespace', /must not be empty/],
    [{ ...valid, namespace: 'Shop_1' }, 'namespace', /not a valid namespace name/],
    [{ ...valid, namespace: 'a'.repeat(64) }, 'namespace', /not a valid namespace name/],
    [{ ...valid, workload: undefined }, 'workload', /required for op "sleep"/],
    [{ ...valid, workload: 'web' }, 'workload', /must be an object, got string/],
    [
      { ...valid, workload: { kind: 'DaemonSet', name: 'web' } },
      'workload.kind',
      /"DaemonSet" is not one of/,
    ],
    [{ ...valid, workload: { kind: 'Deployment' } }, 'workload.name', /missing/],
    [
      { ...valid, workload: { kind: 'Deployment', name: 'Web!' } },
      'workload.name',
      /not a valid object name/,
    ],
    [{ ...valid, reason: undefined }, 'reason', /missing/],
    [{ ...valid, at: 'yesterday' }, 'at', /not an RFC 3339 date-time/],
    [{ ...valid, at: '2025-01-01' }, 'at', /not an RFC 3339 date-time/],
    [{ ...valid, at: '2025-13-45T99:00:00Z' }, 'at', /not an RFC 3339 date-time/],
  ];
  for (const [body, field, message] of cases) {
    const found = problem(body);
    t.is(found.field, field, JSON.stringify(body));
    t.regex(found.problem, message, JSON.stringify(body));
  }
});

test('builders produce messages that parse back unchanged', (t) => {
  const at = new Date('2025-05-05T05:05:05.005Z');
  const sleep = sleepMessage('shop', { kind: 'StatefulSet', name: 'db' }, { at });
  t.deepEqual(parseMessage(encodeMessage(sleep)), sleep);
  t.is(sleep.reason, 'idle');
  const wake = wakeMessage('shop', { at });
  t.deepEqual(parseMessage(encodeMessage(wake)), wake);
  t.throws(() => sleepMessage('Not Valid', { kind: 'Deployment', name: 'web' }), {
    instanceOf: MessageError,
  });
});

test('a message must be on its own subject', (t) => {
  const sleep = sleepMessage('shop', { kind: 'Deployment', name: 'web' });
  t.is(subjectOf(sleep), 'nozzle.sleep.shop');
  t.is(subjectOf(wakeMessage('shop')), 'nozzle.wake.shop');
  t.notThrows(() => checkSubject(sleep, 'nozzle.sleep.shop'));
  const wrong = t.throws(() => checkSubject(sleep, 'nozzle.sleep.other'), { instanceOf: MessageError });
  t.is(wrong.field, 'subject');
});

test('the same decision has the same id; a new awake period or another workload does not', (t) => {
  const web = { kind: 'Deployment', name: 'web' } as const;
  const first = sleepMessage('shop', web, { at: new Date('2025-01-01T12:00:00Z') });
  const nextRound = sleepMessage('shop', web, { at: new Date('2025-01-01T12:05:00Z') });
  t.is(decisionId(first, undefined), decisionId(nextRound, undefined));
  t.is(decisionId(first, '2025-01-01T10:00:00Z'), decisionId(nextRound, '2025-01-01T10:00:00Z'));
  t.not(decisionId(first, '2025-01-01T10:00:00Z'), decisionId(first, '2025-01-01T11:00:00Z'));
  t.not(
    decisionId(first, undefined),
    decisionId(sleepMessage('shop', { kind: 'StatefulSet', name: 'web' }), undefined),
  );
  t.not(decisionId(first, undefined), decisionId(sleepMessage('shop2', web), undefined));
  const wake1 = wakeMessage('shop', { at: new Date('2025-01-01T12:00:00Z') });
  const wake2 = wakeMessage('shop', { at: new Date('2025-01-01T12:00:01Z') });
  t.is(decisionId(wake1), decisionId(wakeMessage('shop', { at: new Date('2025-01-01T12:00:00Z') })));
  t.not(decisionId(wake1), decisionId(wake2));
});

test('a message dated in the future beyond the clock skew is refused, with how far ahead it is', (t) => {
  const now = new Date('2025-01-01T12:00:00.000Z');
  const at = (iso: string) => ({ at: iso });
  t.notThrows(() => checkNotAhead(at('2025-01-01T11:00:00.000Z'), now, 30_000), 'in the past');
  t.notThrows(() => checkNotAhead(at('2025-01-01T12:00:30.000Z'), now, 30_000), 'at the skew exactly');
  t.notThrows(() => checkNotAhead(at('2025-01-01T14:00:20+02:00'), now, 30_000), 'an offset within the skew');
  const ahead = t.throws(() => checkNotAhead(at('2025-01-01T12:10:00.000Z'), now, 30_000), {
    instanceOf: MessageError,
  });
  t.is(ahead.field, 'at');
  t.is(
    ahead.message,
    'at: "2025-01-01T12:10:00.000Z" is 10m in the future (at most 30s of clock skew is allowed)',
  );
  t.regex(
    t.throws(() => checkNotAhead(at('2025-01-01T12:00:30.400Z'), now, 30_000)).message,
    /is 30s in the future/,
  );
  t.regex(
    t.throws(() => checkNotAhead(at('2025-01-01T12:00:00.250Z'), now, 0)).message,
    /is 250ms in the future \(at most 0ms of clock skew/,
  );
  t.throws(() => checkNotAhead(at('soon'), now, 30_000), { message: /not an RFC 3339 date-time/ });
});
