/**
 * Writes docs/configuration.md from cli/settings.ts, the one registry of every
 * setting: `node dist/scripts/docs/configuration.js > docs/configuration.md`.
 * test/scripts/configuration-doc.test.ts fails when the file is out of date.
 */
import { pathToFileURL } from 'node:url';
import { groups } from '../../cli/settings.js';
import type { Setting } from '../../lib/config/settings.js';

const titles: Record<string, string> = {
  common: 'Every component',
  nats: 'NATS connection (setup, publish, worker)',
  stream: 'JetStream stream and consumer (setup, publish)',
  optIn: 'Opted-in namespaces (publish, worker)',
  takeover: 'Endpoint takeover (worker, activator, `nozzle sleep`)',
  publisher: 'Publisher (`nozzle publish`)',
  worker: 'Worker (`nozzle worker`)',
  activator: 'Activator (`nozzle activator`)',
};

export function configurationMarkdown(): string {
  const lines = [
    '# Configuration',
    '',
    'Every setting is an environment variable; some also have a flag (flags win).',
    'A bad value stops the component at start-up with a message naming the setting.',
    'Durations are written `250ms`, `30s`, `5m`, `1h30m`; sizes `16KiB`, `256MiB`, `1GiB` or a number of bytes.',
    'Generated from `cli/settings.ts`.',
    '',
  ];
  const order = Object.keys(titles);
  const names = Object.keys(groups).sort(
    (a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99),
  );
  for (const group of names) {
    const settings = groups[group as keyof typeof groups];
    lines.push(
      `## ${titles[group] ?? group}`,
      '',
      '| env | flag | default | what it does |',
      '|---|---|---|---|',
    );
    for (const setting of Object.values(settings as Record<string, Setting<unknown>>)) {
      const value =
        setting.default === undefined ? '(required)' : `\`${setting.show(setting.default) || '""'}\``;
      lines.push(
        `| \`${setting.env}\` | ${setting.flag ? `\`${setting.flag}\`` : ''} | ${value} | ${setting.doc.replaceAll('|', '\\|')} |`,
      );
    }
    lines.push('');
  }
  return lines.join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  process.stdout.write(configurationMarkdown());
}
