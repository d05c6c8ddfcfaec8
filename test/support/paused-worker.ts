/**
 * `nozzle worker` as a process, with a hook that holds every sleep after its
 * takeover (slices written, nothing scaled yet) forever (logging "test pause:
 * after takeover"), so that a test can stop or kill the process exactly
 * there. Started by NozzleProcess.startPausedWorker.
 */
import { main } from '../../cli/run.js';
import { workerCommand } from '../../worker/command.js';

const paused = workerCommand(async (step, detail, log) => {
  if (step !== 'takeover') return;
  log.warn({ step, ...detail }, 'test pause: after takeover');
  await new Promise(() => {});
});

process.exitCode = await main(process.argv.slice(2), {
  // The held operation outlasts any shutdown on purpose: the timeout check would refuse that.
  worker: () => Promise.resolve({ ...paused, validate: undefined }),
});
