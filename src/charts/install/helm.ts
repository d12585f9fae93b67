/**
 * The operator's installation as a Helm chart (dist/helm/telemetry-stack-operator), for teams
 * that deploy operators with Helm, Argo CD or Flux. It is generated from the same install chart
 * as dist/install.yaml, so the two cannot drift: the chart is rendered with sentinel values, and
 * each sentinel becomes a Helm expression. What Helm adds over `synth --install`:
 *   - objects go in the release namespace (no Namespace object: `helm install --create-namespace`);
 *   - values: image, replicaCount, watchNamespaces (a Role per namespace instead of the ClusterRole).
 * Helm installs crds/ on first install only and never upgrades it: after an upgrade, apply the
 * CRD with kubectl (docs/OPERATIONS.md).
 */
import { stringify } from 'yaml';
import { crdManifest } from '../../api/crd.ts';
import { CONFIG_HASH_ANNOTATION } from '../../stack/hash.ts';
import type { KubeObject } from '../render.ts';
import { DEFAULT_WATCH_NAMESPACE, defaultOperatorAffinity, OPERATOR_IMAGE, OPERATOR_REPLICAS, OPERATOR_VERSION, operatorInstallObjects } from './install-chart.ts';

export const HELM_CHART_NAME = 'telemetry-stack-operator';

const SENTINEL = {
  namespace: 'helm-release-namespace',
  watched: 'helm-watched-namespace',
  image: 'helm-image',
  replicas: 987654,
  nodeSelector: 'helm-node-selector',
  tolerations: 'helm-tolerations',
  affinity: 'helm-affinity',
  priorityClassName: 'helm-priority-class',
  imagePullSecrets: 'helm-image-pull-secrets',
} as const;

/** Scheduling fields made of sentinels, each of which `templated` turns into a block from the values. */
const SENTINEL_SCHEDULING = {
  nodeSelector: { [SENTINEL.nodeSelector]: 'x' },
  tolerations: [{ key: SENTINEL.tolerations, operator: 'Exists' as const }],
  affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ topologyKey: SENTINEL.affinity }] } },
  priorityClassName: SENTINEL.priorityClassName,
  imagePullSecrets: [SENTINEL.imagePullSecrets],
};

/** A pod-spec field rendered from a value when the value is set, at the indentation of the sentinel it replaces. */
function fromValues(indent: string, field: string, value: string): string {
  return `${indent}{{- with $.Values.${value} }}\n${indent}${field}:\n${indent}  {{- toYaml . | nindent ${indent.length + 2} }}\n${indent}{{- end }}`;
}

/** The sentinel blocks of SENTINEL_SCHEDULING as they appear in the rendered YAML, and their Helm replacements. */
function templatedScheduling(text: string): string {
  return text
    .replace(new RegExp(`^( *)nodeSelector:\n *${SENTINEL.nodeSelector}: x$`, 'm'), (_m, indent: string) => fromValues(indent, 'nodeSelector', 'nodeSelector'))
    .replace(new RegExp(`^( *)tolerations:\n *- key: ${SENTINEL.tolerations}\n *operator: Exists$`, 'm'), (_m, indent: string) => fromValues(indent, 'tolerations', 'tolerations'))
    .replace(
      new RegExp(`^( *)affinity:\n *podAffinity:\n *requiredDuringSchedulingIgnoredDuringExecution:\n *- topologyKey: ${SENTINEL.affinity}$`, 'm'),
      (_m, indent: string) => fromValues(indent, 'affinity', 'affinity'),
    )
    .replace(new RegExp(`^( *)priorityClassName: ${SENTINEL.priorityClassName}$`, 'm'), (_m, indent: string) => `${indent}{{- with $.Values.priorityClassName }}\n${indent}priorityClassName: {{ . }}\n${indent}{{- end }}`)
    .replace(new RegExp(`^( *)imagePullSecrets:\n *- name: ${SENTINEL.imagePullSecrets}$`, 'm'), (_m, indent: string) =>
      `${indent}{{- with $.Values.imagePullSecrets }}\n${indent}imagePullSecrets:\n${indent}  {{- range . }}\n${indent}  - name: {{ . }}\n${indent}  {{- end }}\n${indent}{{- end }}`,
    );
}

const yaml = (object: unknown) => stringify(object, { lineWidth: 0, aliasDuplicateObjects: false });

/** Sentinels to Helm expressions; `$` reaches the root inside `range`. */
function templated(text: string): string {
  return templatedScheduling(text)
    .replace(/^(\s*)- --namespace=helm-watched-namespace$/m, '{{- if $.Values.watchNamespaces }}\n$1- --namespace={{ join "," $.Values.watchNamespaces }}\n{{- end }}')
    .replaceAll(SENTINEL.namespace, '{{ $.Release.Namespace }}')
    .replaceAll(SENTINEL.watched, '{{ . }}')
    .replaceAll(SENTINEL.image, '{{ $.Values.image }}')
    .replaceAll(`replicas: ${SENTINEL.replicas}`, 'replicas: {{ $.Values.replicaCount }}');
}

/**
 * The install chart's pod-template hash covers the container as rendered here, sentinels and all;
 * under Helm any change of the values changes the template itself, which rolls the pods anyway.
 */
export function withoutConfigHash(object: KubeObject): KubeObject {
  const template = (object.spec as { template?: { metadata?: { annotations?: Record<string, string> } } } | undefined)?.template;
  if (!template?.metadata?.annotations) return object;
  const copy = structuredClone(object);
  const metadata = (copy.spec as { template: { metadata: { annotations?: Record<string, string> } } }).template.metadata;
  delete metadata.annotations![CONFIG_HASH_ANNOTATION];
  if (Object.keys(metadata.annotations!).length === 0) delete metadata.annotations;
  return copy;
}

/** The files of the chart, by path relative to the chart folder; each starts with `header`. */
export function helmChartFiles(header: string): Record<string, string> {
  const base = { namespace: SENTINEL.namespace, image: SENTINEL.image, replicas: SENTINEL.replicas, scheduling: SENTINEL_SCHEDULING };
  const clusterWide = operatorInstallObjects({ ...base, clusterWide: true });
  const scoped = operatorInstallObjects({ ...base, watchNamespaces: [SENTINEL.watched] });
  const isClusterRbac = (object: KubeObject) => object.kind === 'ClusterRole' || object.kind === 'ClusterRoleBinding';
  const inWatched = (object: KubeObject) => object.metadata.namespace === SENTINEL.watched;
  const kept = (object: KubeObject) => object.kind !== 'Namespace' && !isClusterRbac(object) && !inWatched(object);
  // The Deployment of the scoped variant carries the --namespace argument that becomes conditional.
  const objects = scoped.filter(kept).map((object) => templated(yaml(withoutConfigHash(object))));
  const rbac = [
    '{{- if .Values.watchNamespaces }}',
    '{{- range .Values.watchNamespaces }}',
    ...scoped.filter(inWatched).map((object) => `---\n${templated(yaml(object))}`),
    '{{- end }}',
    '{{- else }}',
    ...clusterWide.filter(isClusterRbac).map((object) => `---\n${templated(yaml(object))}`),
    '{{- end }}',
  ].join('\n');
  const comment = `# ${header}\n`;
  return {
    'Chart.yaml': comment + yaml({
      apiVersion: 'v2',
      name: HELM_CHART_NAME,
      description: 'The telemetry-stack operator: one TelemetryStack resource runs a team\'s Claude Code telemetry (OpenTelemetry Collector and ClickHouse).',
      type: 'application',
      version: OPERATOR_VERSION,
      appVersion: OPERATOR_VERSION,
      kubeVersion: '>=1.30.0-0',
    }),
    'values.yaml': comment + [
      '# The operator image (the Dockerfile at the root of the repository builds it).',
      yaml({ image: OPERATOR_IMAGE }).trim(),
      '# Replicas elect a leader through a Lease; one reconciles at a time.',
      yaml({ replicaCount: OPERATOR_REPLICAS }).trim(),
      '# The namespaces whose stacks the operator runs (they must exist), each with a Role: it can then',
      '# read no Secret and change no workload anywhere else. Empty: stacks in every namespace, with a',
      '# ClusterRole that can read every Secret of the cluster (docs/OPERATIONS.md, Security).',
      yaml({ watchNamespaces: [DEFAULT_WATCH_NAMESPACE] }).trim(),
      '# Where the operator\'s pods run, as in a pod spec. The default affinity spreads the replicas over',
      '# nodes, so losing one node never loses both the leader and the standby. Helm merges maps: set',
      '# affinity.podAntiAffinity to replace the spread (null to drop it); other kinds are added to it.',
      yaml({ nodeSelector: {}, tolerations: [], affinity: defaultOperatorAffinity(), priorityClassName: '' }).trim(),
      '# Names of kubernetes.io/dockerconfigjson Secrets in the release namespace to pull the image with.',
      yaml({ imagePullSecrets: [] }).trim(),
      '',
    ].join('\n'),
    'crds/telemetrystack.yaml': comment + yaml(crdManifest()),
    'templates/operator.yaml': comment + objects.join('---\n'),
    'templates/rbac.yaml': `${comment}${rbac}\n`,
  };
}
