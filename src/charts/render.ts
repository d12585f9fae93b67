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
import type { RenderInputs } from './render-inputs.ts';
import type { KubeObject } from '../kube/client.ts';

/** Rendered objects are the objects the operator applies: one type (src/kube/client.ts). */
export type { KubeObject };

export interface Rendered {
  readonly objects: KubeObject[];
  readonly collectorConfig: CollectorConfig;
  /** The collector configuration as written into its ConfigMap. */
  readonly collectorConfigYaml: string;
  /** Hash of that configuration, on the collector pod template. */
  readonly collectorConfigHash: string;
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
