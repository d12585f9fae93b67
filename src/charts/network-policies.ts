/**
 * Ingress rules: only the collector reaches ClickHouse's native (insert) port; queries
 * reach the HTTP port from inside the namespace and from the operator's pods in the
 * operator's namespace (a pod elsewhere with the operator's labels is not the operator);
 * OTLP is open to clients. Egress stays open: the collector must reach DNS, an external ClickHouse and
 * an upstream stack whose addresses the chart cannot know.
 */
import { Construct } from 'constructs';
import { k8s } from 'cdk8s-plus-28';
import type { TelemetryStack } from '../api/resource.ts';
import { componentLabels, selectorLabels } from '../stack/labels.ts';
import { PORTS, stackNames } from '../stack/naming.ts';

/** Pods with this label in the operator's namespace may reach ClickHouse's HTTP port. */
export const OPERATOR_POD_LABELS = { 'app.kubernetes.io/name': 'telemetry-stack-operator' } as const;
/** Where the install puts the operator unless told otherwise (the Helm chart: its release namespace). */
export const DEFAULT_OPERATOR_NAMESPACE = 'telemetry-stack-system';
/** The label the API server sets on every Namespace (since Kubernetes 1.22); nobody can change it. */
const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';

const tcp = (port: number): k8s.NetworkPolicyPort => ({ protocol: 'TCP', port: k8s.IntOrString.fromNumber(port) });

export class NetworkPolicies extends Construct {
  /** `operatorNamespace`: where the operator's pods run (the operator passes its own; synth the default). */
  constructor(scope: Construct, id: string, stack: TelemetryStack, operatorNamespace: string = DEFAULT_OPERATOR_NAMESPACE) {
    super(scope, id);
    const name = stack.metadata.name;
    const names = stackNames(name);

    new k8s.KubeNetworkPolicy(this, 'collector', {
      metadata: { name: names.networkPolicyCollector, labels: componentLabels(name, 'collector') },
      spec: {
        podSelector: { matchLabels: selectorLabels(name, 'collector') },
        policyTypes: ['Ingress'],
        ingress: [
          // OTLP from wherever team members run Claude Code (NodePort, ingress or port-forward).
          { ports: [tcp(PORTS.otlpGrpc), tcp(PORTS.otlpHttp)] },
          // Self-metrics for scrapers inside the namespace.
          { from: [{ podSelector: {} }], ports: [tcp(PORTS.collectorMetrics)] },
        ],
      },
    });

    if (stack.spec.clickhouse.mode !== 'inCluster') return;
    new k8s.KubeNetworkPolicy(this, 'clickhouse', {
      metadata: { name: names.networkPolicyClickhouse, labels: componentLabels(name, 'clickhouse') },
      spec: {
        podSelector: { matchLabels: selectorLabels(name, 'clickhouse') },
        policyTypes: ['Ingress'],
        ingress: [
          { from: [{ podSelector: { matchLabels: selectorLabels(name, 'collector') } }], ports: [tcp(PORTS.clickhouseNative)] },
          {
            from: [
              { podSelector: {} },
              { namespaceSelector: { matchLabels: { [NAMESPACE_NAME_LABEL]: operatorNamespace } }, podSelector: { matchLabels: { ...OPERATOR_POD_LABELS } } },
            ],
            ports: [tcp(PORTS.clickhouseHttp)],
          },
          // Published on a node port: HTTP from anywhere the node port is reachable (a login is still required).
          ...(stack.spec.clickhouse.service.type === 'NodePort' ? [{ ports: [tcp(PORTS.clickhouseHttp)] }] : []),
        ],
      },
    });
  }
}
