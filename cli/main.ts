#!/usr/bin/env node
/**
 * The `nozzle` executable. It checks the Node version before loading
 * anything else: on an older Node the dependencies fail while loading (undici
 * dies with "Cannot read properties of undefined (reading 'bind')"), which
 * says nothing about the cause. Keep this file free of static imports.
 */
const NEEDED = { major: 22, minor: 19 };

const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
if (major < NEEDED.major || (major === NEEDED.major && minor < NEEDED.minor)) {
  console.error(
    [
      `nozzle: needs Node ${NEEDED.major}.${NEEDED.minor} or newer (Node 24 recommended); this is Node ${process.versions.node}.`,
      'Get Node 24 from https://nodejs.org or your version manager (nvm install 24, fnm install 24),',
      'or, from a checkout of this repository, run through scripts/node24 (it brings Node 24 without touching the system Node):',
      '  scripts/node24 npx nozzle <command>',
    ].join('\n'),
  );
  process.exit(1);
}

const { main } = await import('./run.js');
process.exitCode = await main(process.argv.slice(2));
