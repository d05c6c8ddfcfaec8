/**
 * One delivery, start to finish. The message is acknowledged only after the
 * operation completed; every other ending is explicit: a retry (nak with a
 * delay) or a dead letter (then term). Nothing is dropped silently.
 */
import type { JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { Kube } from '../lib/kube/client.js';
import type { Logger } from '../lib/log.js';
import {
  checkNotAhead,
  checkSubject,
  MessageError,
  parseMessage,
  type NozzleMessage,
} from '../lib/messages.js';
import { publishDeadLetter, type DeadLetterKind } from '../lib/jetstream/dead-letter.js';
import { NamespaceRefusedError, type OptIn } from '../lib/kube/opt-in.js';
import type { SleepOptions, SleepStep } from '../lib/sleep/sleep.js';

/** A hook after each step of a sleep, with the operation's logger. */
export type SleepHook = (step: SleepStep, detail: Record<string, unknown>, log: Logger) => Promise<void>;
import { OperationTimeoutError } from './failures.js';
import { backoffDelay } from '../lib/backoff.js';
import { describeError, isRetryable } from '../lib/errors.js';
import type { OpLabel, Outcome, WorkerMetrics } from './metrics.js';
import { runOperation } from './operations.js';

export interface HandlerContext {
  readonly kube: Kube;
  readonly js: JetStreamClient;
  readonly log: Logger;
  readonly metrics: WorkerMetrics;
  readonly optIn: OptIn;
  readonly portRange: SleepOptions['portRange'];
  readonly activatorPods: SleepOptions['activatorPods'];
  readonly retryDelay: number;
  readonly retryDelayMax: number;
  readonly operationTimeout: number;
  /** How far a message's `at` may be ahead of now. */
  readonly maxClockSkew: number;
  /** From the consumer: the delivery that is the last one. */
  readonly maxDeliver: number;
  /** How often to tell JetStream the message is still being worked on. */
  readonly workingEvery: number;
  readonly afterStep?: SleepHook;
}

export async function handleMessage(msg: JsMsg, ctx: HandlerContext): Promise<Outcome> {
  const started = performance.now();
  const deliveries = msg.info.deliveryCount;
  let op: OpLabel = 'invalid';
  let outcome: Outcome = 'retried';
  let log = ctx.log.child({ subject: msg.subject, seq: msg.seq, deliveries });
  // Neither timer may keep a stopping process alive: an operation abandoned at shutdown is redelivered.
  const keepAlive = setInterval(() => msg.working(), ctx.workingEvery).unref();
  try {
    let message: NozzleMessage;
    try {
      message = parseMessage(msg.data);
      checkSubject(message, msg.subject);
    } catch (err) {
      if (!(err instanceof MessageError)) throw err;
      outcome = await deadLetter(msg, ctx, log, 'invalid', `invalid message: ${err.message}`, undefined);
      return outcome;
    }
    try {
      // Dated in the future: forged, or a publisher's clock far off. Never carried out.
      checkNotAhead(message, new Date(), ctx.maxClockSkew);
    } catch (err) {
      if (!(err instanceof MessageError)) throw err;
      const reason = `invalid message: ${err.message}`;
      outcome = await deadLetter(msg, ctx, log, 'invalid', reason, message.namespace);
      return outcome;
    }
    op = message.op;
    log = log.child({
      op,
      namespace: message.namespace,
      ...(message.workload ? { workload: `${message.workload.kind}/${message.workload.name}` } : {}),
    });
    try {
      const result = await withTimeout(
        runOperation(ctx.kube, message, {
          optIn: ctx.optIn,
          portRange: ctx.portRange,
          activatorPods: ctx.activatorPods,
          afterStep: (step, detail) => afterStep(msg, ctx, log, step, detail),
          onEventError: (err) =>
            log.warn({ error: describeError(err) }, 'slept, but the Event could not be recorded'),
        }),
        ctx.operationTimeout,
      );
      outcome = result.outcome;
      const acked = await msg.ackAck().catch(() => false);
      log.info(
        { outcome, ...result.detail, acked, ms: Math.round(performance.now() - started) },
        `${op}: ${outcome}`,
      );
      if (!acked) log.warn('the ack was not confirmed: a redelivery will find the work done');
      return outcome;
    } catch (err) {
      const reason = describeError(err);
      if (err instanceof NamespaceRefusedError) {
        // Forged or ill-targeted: never carried out, and dead-lettered so that a person sees it.
        const ended = await deadLetter(
          msg,
          ctx,
          log,
          'invalid',
          `refused: ${err.message}`,
          message.namespace,
        );
        outcome = ended === 'dead_lettered' ? 'refused' : ended;
        if (outcome === 'refused') log.warn({ outcome, reason: err.message }, `${op}: refused`);
      } else if (!isRetryable(err)) {
        outcome = await deadLetter(msg, ctx, log, 'failed', reason, message.namespace);
      } else if (deliveries >= ctx.maxDeliver) {
        outcome = await deadLetter(
          msg,
          ctx,
          log,
          'max-deliver',
          `gave up after ${deliveries} deliveries; last error: ${reason}`,
          message.namespace,
        );
      } else {
        const delay = backoffDelay(deliveries, ctx.retryDelay, ctx.retryDelayMax);
        msg.nak(delay);
        log.warn({ error: reason, retryInMs: delay }, `${op} failed; will retry`);
        outcome = 'retried';
      }
      return outcome;
    }
  } finally {
    clearInterval(keepAlive);
    ctx.metrics.messages.inc({ op, outcome });
    ctx.metrics.duration.observe({ op, outcome }, (performance.now() - started) / 1000);
  }
}

async function deadLetter(
  msg: JsMsg,
  ctx: HandlerContext,
  log: Logger,
  kind: DeadLetterKind,
  reason: string,
  namespace: string | undefined,
): Promise<Outcome> {
  try {
    await publishDeadLetter(ctx.js, {
      kind,
      reason,
      namespace,
      payload: msg.data,
      subject: msg.subject,
      streamSequence: msg.seq,
      deliveries: msg.info.deliveryCount,
    });
  } catch (err) {
    // Keep the message rather than lose it: it comes back and is dead-lettered then.
    const delay = backoffDelay(msg.info.deliveryCount, ctx.retryDelay, ctx.retryDelayMax);
    msg.nak(delay);
    log.error({ error: describeError(err), reason, retryInMs: delay }, 'could not dead-letter; will retry');
    return 'retried';
  }
  msg.term(reason.slice(0, 200));
  ctx.metrics.deadLetters.inc({ kind });
  log.error({ kind, reason }, 'dead-lettered');
  return 'dead_lettered';
}

async function afterStep(
  msg: JsMsg,
  ctx: HandlerContext,
  log: Logger,
  step: SleepStep,
  detail: Record<string, unknown>,
): Promise<void> {
  msg.working();
  log.debug({ step, ...detail }, `step done: ${step}`);
  await ctx.afterStep?.(step, detail, log);
}

function withTimeout<T>(operation: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () =>
        reject(new OperationTimeoutError(`operation still running after ${ms}ms; given up, to be retried`)),
      ms,
    ).unref();
  });
  return Promise.race([operation, timeout]).finally(() => clearTimeout(timer));
}
