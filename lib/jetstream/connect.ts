import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../log.js';
import { describeError } from '../errors.js';

export class NatsConnectError extends Error {
  override readonly name = 'NatsConnectError';
}

/**
 * Connects to NATS; a first connection that fails is an error naming the
 * servers (a wrong NATS_URL is the usual cause). Once connected, the client
 * reconnects forever: a NATS restart is a hiccup, not a reason to exit.
 */
export async function connectNats(
  servers: string,
  options: { name: string; log?: Logger; timeoutMs?: number },
): Promise<NatsConnection> {
  const list = servers.split(',').map((s) => s.trim());
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: list,
      name: options.name,
      timeout: options.timeoutMs ?? 10_000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
    });
  } catch (err) {
    throw new NatsConnectError(
      `cannot connect to NATS at ${list.join(', ')} (check NATS_URL): ${describeError(err)}`,
      { cause: err },
    );
  }
  if (options.log) void logStatus(nc, options.log);
  return nc;
}

async function logStatus(nc: NatsConnection, log: Logger): Promise<void> {
  for await (const status of nc.status()) {
    switch (status.type) {
      case 'disconnect':
        log.warn({ server: status.server }, 'NATS disconnected; reconnecting');
        break;
      case 'reconnect':
        log.info({ server: status.server }, 'NATS reconnected');
        break;
      case 'error':
        log.warn({ err: status.error }, 'NATS error');
        break;
      default:
        break;
    }
  }
}
