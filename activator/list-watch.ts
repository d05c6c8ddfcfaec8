/** Moved to lib/kube/list-watch.ts (the worker's activator-pod cache uses it too); kept so that imports stay valid. */
export * from '../lib/kube/list-watch.js';
