import { createHash } from 'node:crypto';

/** Annotation on pod templates holding a hash of the pods' configuration: a change rolls them, nothing else does. */
export const CONFIG_HASH_ANNOTATION = 'telemetrystack.io/config-hash';

export function contentHash(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}
