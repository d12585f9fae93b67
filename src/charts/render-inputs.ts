/**
 * Facts render cannot derive from the spec, handed in by a caller that can read the cluster
 * (the operator). Still pure: the same stack and inputs give the same objects. In a file of its
 * own so that the chart's constructs can name it without importing render.ts, which imports them.
 */
export interface RenderInputs {
  /** Digest of the collector's htpasswd Secret content (see INGEST_AUTH_ANNOTATION). */
  readonly ingestAuthDigest?: string;
  /** The namespace the operator runs in, for the NetworkPolicy that lets it query ClickHouse (default telemetry-stack-system). */
  readonly operatorNamespace?: string;
  /**
   * The ClickHouse schema version the collector writes into, as the operator saw it migrated: it
   * goes on the collector pod template (SCHEMA_VERSION_ANNOTATION), so a migration rolls the pods.
   * `pending`: not migrated yet, and the collector workload is rendered with 0 replicas, because
   * the exporter decides at start which columns it writes and would never write the ones a later
   * migration adds. Absent (synth): rendered as the spec says.
   */
  readonly schemaVersion?: number | 'pending';
}
