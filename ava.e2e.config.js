// `npm run test:e2e`: the whole cluster (controllers, scheduler, kwok, KEDA)
// is started once around these files, which run one at a time.
export default {
  files: ['dist/test/e2e/**/*.test.js'],
  timeout: '10m',
  workerThreads: false,
  serial: true,
  concurrency: 1,
  verbose: true,
};
