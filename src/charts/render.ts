/**
 * render(stack) -> manifests: the one way to build the objects of a stack. Pure and
 * deterministic: `telemetry-stack synth` prints it, the operator applies it. Secrets
 * are not part of it (see secrets.ts).
 */
import { App } from 'cdk8s';
import { stringify } from 'yaml';
import type { TelemetryStack } from '../api/resource.ts';
import type { CollectorConfig } from './collector/config.ts';
import { TelemetryStackChart } from './stack-chart.ts';

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Rendered {
  readonly objects: KubeObject[];
  readonly collectorConfig: CollectorConfig;
  /** The collector configuration as written into its ConfigMap. */
  readonly collectorConfigYaml: string;
  /** Hash of that configuration, on the collector pod template. */
  readonly collectorConfigHash: string;
}

/**
 * Facts render cannot derive from the spec, handed in by a caller that can read the cluster
 * (the operator). Still pure: the same stack and inputs give the same objects.
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

export function render(stack: TelemetryStack, inputs: RenderInputs = {}): Rendered {
  const app = new App();
  const chart = new TelemetryStackChart(app, stack.metadata.name, stack, inputs);
  return {
    objects: chart.toJson() as KubeObject[],
    collectorConfig: chart.collector.config,
    collectorConfigYaml: chart.collector.configYaml,
    collectorConfigHash: chart.collector.configHash,
  };
}

/** Multi-document YAML, byte-identical for the same objects. */
export function toYaml(objects: readonly object[]): string {
  return objects.map((object) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}
