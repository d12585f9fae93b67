import { createHash } from 'node:crypto';

/** Annotation on pod templates holding a hash of the pods' configuration: a change rolls them, nothing else does. */
export const CONFIG_HASH_ANNOTATION = 'telemetrystack.io/config-hash';

/**
 * Collector pod template annotations for its ingestion credentials. The basicauth extension
 * reads its htpasswd file once, at start, so a changed credential set needs new pods.
 * Render puts a hash of the user names (a user added or removed); the operator, which reads
 * the htpasswd Secret, adds a digest of its content (a password rotated). Neither holds
 * secret material: see docs/decisions.md.
 */
export const INGEST_USERS_ANNOTATION = 'telemetrystack.io/ingest-users-hash';
export const INGEST_AUTH_ANNOTATION = 'telemetrystack.io/ingest-auth-hash';

/**
 * Collector pod template annotation: the ClickHouse schema version its pods started against. The
 * ClickHouse exporter reads the raw tables' columns once, at start (EventName among them), so a
 * migration must roll the pods. Set by the operator after the migration ran (see RenderInputs).
 */
export const SCHEMA_VERSION_ANNOTATION = 'telemetrystack.io/schema-version';

export function contentHash(...parts: string[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part).update('\0');
  return hash.digest('hex');
}
