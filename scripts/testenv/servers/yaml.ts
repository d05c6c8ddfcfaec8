import { loadAll } from 'js-yaml';
import type { KubernetesObject } from '@kubernetes/client-node';

/**
 * The objects of a multi-document YAML file, as plain JSON. (client-node's
 * loadAllYaml maps them onto its generated models, which rename fields such
 * as a schema's `enum` to `_enum`: fine for its own calls, wrong on the wire.)
 */
export function parseManifests(text: string): KubernetesObject[] {
  return loadAll(text).filter(
    (doc): doc is KubernetesObject => typeof doc === 'object' && doc !== null && 'kind' in doc,
  );
}
