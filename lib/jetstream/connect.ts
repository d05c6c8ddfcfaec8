/**
 * The one way a component connects to NATS: the servers from NATS_URL, its
 * own user (NOZZLE_NATS_USER / NOZZLE_NATS_PASSWORD, from the Secret
 * nozzle-nats-<component>) and, for a tls:// URL, an optional CA file. With a
 * user, replies come back under `_INBOX.<user>.`: nats.conf lets each user
 * subscribe to its own inbox prefix only.
 */
import { AuthorizationError, connect, type NatsConnection } from '@nats-io/transport-node';
import type { Logger } from '../log.js';
import { describeError } from '../errors.js';
import type { nats } from '../config/nozzle.js';
import type { Values } from '../config/settings.js';

export class NatsConnectError extends Error {
  override readonly name = 'NatsConnectError';
}

/** Who connects and how: a component's NATS settings minus the servers. */
export interface NatsAccess {
  readonly user?: string;
  readonly password?: string;
  /** A PEM CA bundle for tls:// servers signed by a private CA. */
  readonly caFile?: string;
}

/** The NatsAccess of a component's settings (`...nats` in its command). */
export function natsAccess(config: Omit<Values<typeof nats>, 'natsUrl'>): NatsAccess {
  return { user: config.natsUser, password: config.natsPassword, caFile: config.natsCaFile };
}

/** Where a user's replies arrive; nats.conf grants each user `subscribe: _INBOX.<user>.>`. */
export const inboxPrefix = (user: string): string => `_INBOX.${user}`;

/**
 * Connects to NATS; a first connection that fails is an error naming the
 * servers (a wrong NATS_URL is the usual cause) or, when the server refused
 * the user, the credential settings. Once connected, the client reconnects
 * forever: a NATS restart is a hiccup, not a reason to exit.
 */
export async function connectNats(
  servers: string,
  options: { name: string; log?: Logger; timeoutMs?: number } & NatsAccess,
): Promise<NatsConnection> {
  const list = servers.split(',').map((s) => s.trim());
  const user = options.user ?? '';
  const password = options.password ?? '';
  if ((user === '') !== (password === '')) {
    throw new NatsConnectError(
      user === ''
        ? 'NOZZLE_NATS_PASSWORD is set without NOZZLE_NATS_USER'
        : `NOZZLE_NATS_USER is ${user} but NOZZLE_NATS_PASSWORD is empty`,
    );
  }
  let nc: NatsConnection;
  try {
    nc = await connect({
      servers: list,
      name: options.name,
      timeout: options.timeoutMs ?? 10_000,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      ...(user === '' ? {} : { user, pass: password, inboxPrefix: inboxPrefix(user) }),
      ...(options.caFile ? { tls: { caFile: options.caFile } } : {}),
    });
  } catch (err) {
    const check =
      err instanceof AuthorizationError
        ? `the server refused ${user === '' ? 'a connection without a user' : `user ${user}`} (check NOZZLE_NATS_USER and NOZZLE_NATS_PASSWORD, and the Secret nozzle-nats-*)`
        : 'check NATS_URL';
    throw new NatsConnectError(
      `cannot connect to NATS at ${list.join(', ')} (${check}): ${describeError(err)}`,
      {
        cause: err,
      },
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
