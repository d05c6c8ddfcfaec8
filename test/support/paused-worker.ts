/**
 * `nozzle worker` as a process, with a hook that holds every sleep after its
 * Ingress rewrite forever (logging "test pause: after ingress rewrite"), so
 * that a test can stop or kill the process exactly there. Started by
 * NozzleProcess.startPausedWorker.
 */
import { main } from '../../cli/run.js';
import { workerCommand } from '../../worker/command.js';

const paused = workerCommand(async (step, detail, log) => {
  if (step !== 'ingress-rewrite') return;
  log.warn({ step, ...detail }, 'test pause: after ingress rewrite');
  await new Promise(() => {});
});

process.exitCode = await main(process.argv.slice(2), {
  // The held operation outlasts any shutdown on purpose: the timeout check would refuse that.
  worker: () => Promise.resolve({ ...paused, validate: undefined }),
});
