/**
 * Regenerates the README's screenshots of the waiting page (waking state) in
 * the real Chromium the tests use. Not a test; run it by hand after changing
 * how the page looks:
 *
 *   scripts/node24 npx tsc -p . && scripts/node24 node dist/test/rescaler-web/screenshots.js [outDir]
 *
 * Writes docs/waiting-page.png (desktop) and docs/waiting-page-mobile.png
 * (phone width). Pass `--dark` to also write the dark-scheme variants to
 * outDir for a look (not committed).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { browser, closeBrowser } from '../support/browser.js';
import { shopStatus, startFixture } from './fixture.js';

const args = process.argv.slice(2);
const dark = args.includes('--dark');
const outDir =
  args.find((a) => !a.startsWith('--')) ?? fileURLToPath(new URL('../../../docs/', import.meta.url));
mkdirSync(outDir, { recursive: true });

const fixture = await startFixture(shopStatus);
try {
  const shots = [
    {
      file: 'waiting-page.png',
      viewport: { width: 960, height: 640 },
      deviceScaleFactor: 1,
      isMobile: false,
    },
    {
      file: 'waiting-page-mobile.png',
      viewport: { width: 390, height: 760 },
      deviceScaleFactor: 2,
      isMobile: true,
    },
  ];
  const schemes = dark ? (['light', 'dark'] as const) : (['light'] as const);
  for (const scheme of schemes) {
    for (const shot of shots) {
      const context = await (
        await browser()
      ).newContext({
        viewport: shot.viewport,
        deviceScaleFactor: shot.deviceScaleFactor,
        isMobile: shot.isMobile,
        colorScheme: scheme,
        reducedMotion: 'reduce',
      });
      const page = await context.newPage();
      await page.goto(`${fixture.origin}/`);
      const path = join(outDir, scheme === 'dark' ? shot.file.replace('.png', '-dark.png') : shot.file);
      await page.screenshot({ path, animations: 'disabled' });
      console.log(`wrote ${path}`);
      await context.close();
    }
  }
} finally {
  await closeBrowser();
  await fixture.close();
}
