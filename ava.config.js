// Tests run from the compiled output; `npm test` builds first and starts the
// real apiserver, etcd and nats-server once around the whole run.
export default {
  files: ['dist/test/**/*.test.js', '!dist/test/e2e/**'],
  timeout: '3m',
  workerThreads: false,
  concurrency: 2,
  verbose: true,
};
