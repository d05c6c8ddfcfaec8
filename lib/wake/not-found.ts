import { isNotFound } from '../kube/errors.js';

/** For `.catch()`: a 404 means "not there" (undefined); any other error is thrown on. */
export function undefinedIfNotFound(err: unknown): undefined {
  if (isNotFound(err)) return undefined;
  throw err;
}
