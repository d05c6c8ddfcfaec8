import { PatchStrategy, setHeaderOptions, type ConfigurationOptions } from '@kubernetes/client-node';

/**
 * The generated patch methods send `application/json-patch+json` unless told
 * otherwise; these options set the content type of the patch we mean.
 */
export const mergePatch: ConfigurationOptions = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
export const jsonPatch: ConfigurationOptions = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
export const serverSideApply: ConfigurationOptions = setHeaderOptions(
  'Content-Type',
  PatchStrategy.ServerSideApply,
);

/** A JSON Patch path segment: `nozzle.io/replicas` -> `nozzle.io~1replicas`. */
export const pointer = (segment: string): string => segment.replaceAll('~', '~0').replaceAll('/', '~1');
