import test from 'ava';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { configurationMarkdown } from '../../scripts/docs/configuration.js';
import { repoRoot } from '../support/manifests.js';

test('docs/configuration.md lists every setting as lib/config/nozzle.ts declares it', (t) => {
  const doc = readFileSync(join(repoRoot, 'docs/configuration.md'), 'utf8');
  t.is(
    doc,
    configurationMarkdown(),
    'regenerate: node dist/scripts/docs/configuration.js > docs/configuration.md',
  );
});
