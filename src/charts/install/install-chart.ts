/**
 * The operator's own installation: its Namespace, ServiceAccount, least-privilege RBAC,
 * a two-replica Deployment (leader election: one replica reconciles at a time) and a metrics
 * Service. dist/install.yaml is the CRD followed by this chart watching the `telemetry`
 * namespace; dist/install-cluster-wide.yaml the same with a ClusterRole (scripts/generate.ts).
 */
import { App, Chart } from 'cdk8s';
import { k8s } from 'cdk8s-plus-28';
import type { Construct } from 'constructs';
import { crdManifest } from '../../api/crd.ts';
import { contentHash } from '../../stack/hash.ts';
import { MANAGED_BY, PART_OF } from '../../stack/labels.ts';
import { DEFAULT_OPERATOR_NAMESPACE, OPERATOR_POD_LABELS } from '../network-policies.ts';
import type { KubeObject } from '../render.ts';
import type { Scheduling } from '../../api/scheduling.ts';
import { restrictedPodTemplate } from '../security.ts';
import { OPERATOR_STACK_RULES, OPERATOR_NAMESPACE_RULES } from './rbac.ts';

export const OPERATOR_NAME = 'telemetry-stack-operator';
export const OPERATOR_NAMESPACE = DEFAULT_OPERATOR_NAMESPACE;
/** The project's release; the image tag of the operator (the Dockerfile builds it). */
export const OPERATOR_VERSION = '0.1.0';
export const OPERATOR_IMAGE = `ghcr.io/telemetry-stack/telemetry-stack:${OPERATOR_VERSION}`;
/** `node` user of the official Node image, which the Dockerfile runs as. */
export const OPERATOR_UID = 1000;
/** Serves /metrics, /healthz and /readyz. */
export const OPERATOR_METRICS_PORT = 8080;
export const OPERATOR_REPLICAS = 2;

/** The operator reads its namespace (where its Lease lives) from this variable (src/kube/kubeconfig.ts). */
export const POD_NAMESPACE_ENV = 'POD_NAMESPACE';

const labels = {
  ...OPERATOR_POD_LABELS,
  'app.kubernetes.io/instance': OPERATOR_NAME,
  'app.kubernetes.io/component': 'operator',
  'app.kubernetes.io/part-of': PART_OF,
  'app.kubernetes.io/managed-by': MANAGED_BY,
  'app.kubernetes.io/version': OPERATOR_VERSION,
};
/** Selects the install's own objects (the Deployment, its RBAC), never the per-user Roles the operator makes for stacks. */
export const OPERATOR_INSTALL_SELECTOR = `app.kubernetes.io/name=${OPERATOR_NAME},app.kubernetes.io/component=operator`;

/** Immutable on the Deployment once applied, so nothing that changes between releases. */
const selector = { ...OPERATOR_POD_LABELS, 'app.kubernetes.io/instance': OPERATOR_NAME };

/**
 * The namespace the default install watches: where the examples and `up` put a stack. The
 * operator must read and write Secrets and workloads wherever stacks live, and Kubernetes RBAC
 * cannot narrow that to "the stack's own" objects; so by default it gets those rights in this
 * namespace only. A cluster-wide install (any namespace) is an explicit choice: `clusterWide`.
 */
export const DEFAULT_WATCH_NAMESPACE = 'telemetry';

export interface InstallOptions {
  /**
   * Watch only these namespaces, with a Role and RoleBinding in each: the operator can then read
   * no Secret outside them. The namespaces must exist. Default: [DEFAULT_WATCH_NAMESPACE].
   */
  readonly watchNamespaces?: readonly string[];
  /** Watch every namespace, with a ClusterRole: it can read Secrets and change workloads in all of them. */
  readonly clusterWide?: boolean;
  /** Where the operator runs (default OPERATOR_NAMESPACE); the Helm chart puts its release namespace here. */
  readonly namespace?: string;
  readonly image?: string;
  readonly replicas?: number;
  /** Where the operator's pods run and the Secrets they pull with; an affinity's podAntiAffinity replaces the default spread over nodes. */
  readonly scheduling?: Scheduling;
}

/** Replicas on different nodes, so losing one node never loses the leader and the standby. */
export function defaultOperatorAffinity(): NonNullable<Scheduling['affinity']> {
  return {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [{ weight: 100, podAffinityTerm: { topologyKey: 'kubernetes.io/hostname', labelSelector: { matchLabels: selector } } }],
    },
  };
}

export class OperatorInstallChart extends Chart {
  constructor(scope: Construct, id: string, options: InstallOptions = {}) {
    super(scope, id, { disableResourceNameHashes: true });
    if (options.clusterWide && options.watchNamespaces?.length) throw new Error('an install is either cluster-wide or watches namespaces, not both');
    const watched = options.clusterWide ? [] : options.watchNamespaces?.length ? options.watchNamespaces : [DEFAULT_WATCH_NAMESPACE];
    const home = options.namespace ?? OPERATOR_NAMESPACE;
    const metadata = (name: string, namespaced: boolean) => ({ name, labels, ...(namespaced ? { namespace: home } : {}) });

    new k8s.KubeNamespace(this, 'namespace', {
      metadata: {
        ...metadata(home, false),
        // The operator's pods pass the restricted Pod Security Standard; enforce it on the namespace.
        labels: { ...labels, 'pod-security.kubernetes.io/enforce': 'restricted', 'pod-security.kubernetes.io/enforce-version': 'latest' },
      },
    });
    new k8s.KubeServiceAccount(this, 'service-account', { metadata: metadata(OPERATOR_NAME, true), automountServiceAccountToken: true });

    const roleRef = (kind: 'ClusterRole' | 'Role') => ({ apiGroup: 'rbac.authorization.k8s.io', kind, name: OPERATOR_NAME });
    const subjects = [{ kind: 'ServiceAccount', name: OPERATOR_NAME, namespace: home }];
    if (watched.length === 0) {
      new k8s.KubeClusterRole(this, 'cluster-role', { metadata: metadata(OPERATOR_NAME, false), rules: [...OPERATOR_STACK_RULES] });
      new k8s.KubeClusterRoleBinding(this, 'cluster-role-binding', { metadata: metadata(OPERATOR_NAME, false), roleRef: roleRef('ClusterRole'), subjects });
    }
    for (const namespace of watched) {
      // Not OPERATOR_NAME: the Lease Role in the operator's namespace has that name.
      const inWatched = { name: `${OPERATOR_NAME}-stacks`, namespace, labels };
      new k8s.KubeRole(this, `stack-role-${namespace}`, { metadata: inWatched, rules: [...OPERATOR_STACK_RULES] });
      new k8s.KubeRoleBinding(this, `stack-role-binding-${namespace}`, { metadata: inWatched, roleRef: { ...roleRef('Role'), name: inWatched.name }, subjects });
    }
    new k8s.KubeRole(this, 'role', { metadata: metadata(OPERATOR_NAME, true), rules: [...OPERATOR_NAMESPACE_RULES] });
    new k8s.KubeRoleBinding(this, 'role-binding', { metadata: metadata(OPERATOR_NAME, true), roleRef: roleRef('Role'), subjects });

    const fieldEnv = (name: string, fieldPath: string): k8s.EnvVar => ({ name, valueFrom: { fieldRef: { fieldPath } } });
    const probe = (path: string, periodSeconds: number): k8s.Probe => ({
      httpGet: { path, port: k8s.IntOrString.fromString('metrics') },
      periodSeconds,
      timeoutSeconds: 2,
      failureThreshold: 3,
    });
    const container: Omit<k8s.Container, 'securityContext'> = {
      name: 'operator',
      image: options.image ?? OPERATOR_IMAGE,
      imagePullPolicy: 'IfNotPresent',
      // The image's entry point is `node build/cli/main.js`; the Lease holder identity is the pod's hostname.
      args: ['operator', '--leader-elect', `--metrics-port=${OPERATOR_METRICS_PORT}`, ...(watched.length > 0 ? [`--namespace=${watched.join(',')}`] : [])],
      env: [fieldEnv(POD_NAMESPACE_ENV, 'metadata.namespace')],
      ports: [{ name: 'metrics', containerPort: OPERATOR_METRICS_PORT, protocol: 'TCP' }],
      livenessProbe: { ...probe('/healthz', 20), initialDelaySeconds: 10 },
      readinessProbe: probe('/readyz', 10),
      resources: {
        requests: { cpu: k8s.Quantity.fromString('50m'), memory: k8s.Quantity.fromString('128Mi') },
        limits: { memory: k8s.Quantity.fromString('512Mi') },
      },
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
    };
    const template = restrictedPodTemplate({
      labels,
      configHash: contentHash(JSON.stringify(container)),
      uid: OPERATOR_UID,
      terminationGracePeriodSeconds: 30,
      containers: [container],
      volumes: [{ name: 'tmp', emptyDir: { sizeLimit: k8s.Quantity.fromString('64Mi') } }],
      // Per kind of affinity over the default, as Helm merges the values' maps.
      scheduling: { ...options.scheduling, affinity: { ...defaultOperatorAffinity(), ...options.scheduling?.affinity } },
    });
    new k8s.KubeDeployment(this, 'deployment', {
      metadata: metadata(OPERATOR_NAME, true),
      spec: {
        replicas: options.replicas ?? OPERATOR_REPLICAS,
        selector: { matchLabels: selector },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: k8s.IntOrString.fromNumber(1), maxSurge: k8s.IntOrString.fromNumber(1) } },
        template: {
          ...template,
          spec: {
            ...template.spec!,
            // Unlike the stack's pods, the operator talks to the API server.
            automountServiceAccountToken: true,
            serviceAccountName: OPERATOR_NAME,
          },
        },
      },
    });

    new k8s.KubeService(this, 'metrics-service', {
      metadata: { ...metadata(`${OPERATOR_NAME}-metrics`, true) },
      spec: {
        selector,
        ports: [{ name: 'metrics', port: OPERATOR_METRICS_PORT, targetPort: k8s.IntOrString.fromString('metrics'), protocol: 'TCP' }],
      },
    });
  }
}

/** The operator's own objects, in apply order (Namespace first). */
export function operatorInstallObjects(options: InstallOptions = {}): KubeObject[] {
  return new OperatorInstallChart(new App(), 'install', options).toJson() as KubeObject[];
}

/** dist/install.yaml (no options: watching DEFAULT_WATCH_NAMESPACE) or dist/install-cluster-wide.yaml: the CRD, then the operator. */
export function installManifests(options: InstallOptions = {}): object[] {
  return [crdManifest(), ...operatorInstallObjects(options)];
}
