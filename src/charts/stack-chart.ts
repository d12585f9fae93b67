/** One cdk8s chart per TelemetryStack: one construct per component. */
import { Chart } from 'cdk8s';
import type { Construct } from 'constructs';
import type { TelemetryStack } from '../api/resource.ts';
import { ClickHouseServer } from './clickhouse/clickhouse.ts';
import { Collector } from './collector/collector.ts';
import { GrafanaServer } from './grafana/grafana.ts';
import { NetworkPolicies } from './network-policies.ts';
import type { RenderInputs } from './render-inputs.ts';

export class TelemetryStackChart extends Chart {
  readonly collector: Collector;

  constructor(scope: Construct, id: string, stack: TelemetryStack, inputs: RenderInputs = {}) {
    super(scope, id, {
      ...(stack.metadata.namespace ? { namespace: stack.metadata.namespace } : {}),
      // Every object has an explicit name from the naming module; no construct-path hashes.
      disableResourceNameHashes: true,
    });
    this.collector = new Collector(this, 'collector', stack, inputs);
    if (stack.spec.clickhouse.mode === 'inCluster') new ClickHouseServer(this, 'clickhouse', stack);
    new NetworkPolicies(this, 'network', stack, inputs.operatorNamespace);
    if (stack.spec.grafana.enabled) new GrafanaServer(this, 'grafana', stack);
  }
}
