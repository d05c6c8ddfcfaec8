/**
 * Startup shared by the stand-in app images (echo, tcp-echo): reads PORT,
 * HOST and STARTUP_DELAY, waits out the delay so that a cold start takes real
 * time, listens, logs one line, and exits 0 on SIGTERM.
 */
import type { Server, Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export interface Settings {
  readonly host: string;
  readonly port: number;
  readonly delayMs: number;
  /** STARTUP_DELAY as given, for the log line; '' when there is none. */
  readonly delayText: string;
}

export class SettingsError extends Error {}

const units: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };
// setTimeout turns anything longer into 1 ms, with only a warning.
const longestDelayMs = 2 ** 31 - 1;

/** A Go-style duration ("500ms", "3s", "1m30s", "0") in milliseconds; undefined if malformed. */
export function parseDuration(text: string): number | undefined {
  if (text === '0') return 0;
  if (!/^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)) {
    total += Number(amount) * (units[unit ?? ''] ?? Number.NaN);
  }
  return Math.round(total);
}

export function readSettings(env: NodeJS.ProcessEnv, defaultPort: number): Settings {
  const port = env.PORT ? Number(env.PORT) : defaultPort;
  if (!Number.isInteger(port) || port < 0 || port > 65_535) {
    throw new SettingsError(`invalid PORT ${JSON.stringify(env.PORT)}: want an integer from 0 to 65535`);
  }
  const delayText = env.STARTUP_DELAY ?? '';
  const delayMs = delayText === '' ? 0 : parseDuration(delayText);
  if (delayMs === undefined || delayMs > longestDelayMs) {
    throw new SettingsError(
      `invalid STARTUP_DELAY ${JSON.stringify(delayText)}: want a duration such as 500ms, 3s, 1m or 1m30s`,
    );
  }
  return { host: env.HOST || '0.0.0.0', port, delayMs, delayText };
}

/**
 * Runs `server` as the image's main process. Invalid settings exit 2 and a
 * failure to listen exits 1, each with a message on stderr.
 */
export async function serve(name: string, server: Server, defaultPort: number): Promise<void> {
  let settings: Settings;
  try {
    settings = readSettings(process.env, defaultPort);
  } catch (error) {
    if (!(error instanceof SettingsError)) throw error;
    process.stderr.write(`${name}: ${error.message}\n`);
    process.exit(2);
  }
  exitOnSignals(server);
  if (settings.delayMs > 0) await sleep(settings.delayMs);
  server.once('error', (error) => {
    process.stderr.write(`${name}: cannot listen on ${settings.host}:${settings.port}: ${error.message}\n`);
    process.exit(1);
  });
  server.listen(settings.port, settings.host, () => {
    const address = server.address();
    const port = address && typeof address === 'object' ? address.port : settings.port;
    const delay = settings.delayMs > 0 ? ` after ${settings.delayText} startup delay` : '';
    process.stdout.write(`${name} listening on ${settings.host}:${port}${delay}\n`);
  });
}

/** SIGTERM (or SIGINT) closes the server, drops open connections and exits 0. */
function exitOnSignals(server: Server): void {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  const stop = (): void => {
    if (!server.listening) process.exit(0);
    server.close(() => process.exit(0));
    // Upgraded (WebSocket) and idle keep-alive connections would otherwise hold close() open.
    for (const socket of sockets) socket.destroy();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}
