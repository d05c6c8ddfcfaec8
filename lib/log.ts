import { createRequire } from 'node:module';
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/**
 * JSON lines on stdout, what log collectors read. Pretty output is for a
 * person at a terminal: asked for with LOG_FORMAT=pretty, or chosen by
 * `auto` when stdout is a TTY; it needs pino-pretty, a dev dependency that
 * the image does not ship, so without it the logs stay JSON.
 */
export function createLogger(options: {
  level: LevelWithSilent;
  format: 'auto' | 'json' | 'pretty';
  name: string;
}): Logger {
  const pretty = options.format === 'pretty' || (options.format === 'auto' && process.stdout.isTTY === true);
  if (pretty && installed('pino-pretty')) {
    return pino({
      name: options.name,
      level: options.level,
      transport: { target: 'pino-pretty', options: { colorize: process.stdout.isTTY === true } },
    });
  }
  const log = pino({ name: options.name, level: options.level });
  if (options.format === 'pretty') log.warn('LOG_FORMAT=pretty needs the pino-pretty package; logging JSON');
  return log;
}

function installed(name: string): boolean {
  try {
    createRequire(import.meta.url).resolve(name);
    return true;
  } catch {
    return false;
  }
}
