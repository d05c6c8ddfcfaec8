import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

/** JSON lines on stdout; pretty only when asked for (LOG_PRETTY=true) and pino-pretty is installed. */
export function createLogger(options: { level: LevelWithSilent; pretty: boolean; name: string }): Logger {
  const transport = options.pretty
    ? { target: 'pino-pretty', options: { colorize: process.stdout.isTTY } }
    : undefined;
  return pino({ name: options.name, level: options.level, ...(transport ? { transport } : {}) });
}
