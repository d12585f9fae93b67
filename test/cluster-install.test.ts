/**
 * The install manifests on a real API server. dist/install-cluster-wide.yaml applies cleanly
 * with server-side apply (and a second apply changes nothing), and the operator's
 * ServiceAccount, impersonated, can do each thing the operator does and is denied what it does
 * not need. dist/install.yaml, the default, grants the same only in the `telemetry` namespace.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { KubeConfig, KubernetesObject, V1PodSpec } from '@kubernetes/client-node';
import YAML from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_GROUP_VERSION, CRD_NAME, KIND, PLURAL } from '../src/api/constants.ts';
import { DEFAULT_WATCH_NAMESPACE, OPERATOR_NAME, OPERATOR_NAMESPACE } from '../src/charts/install/install-chart.ts';
import { REPO_ROOT } from '../scripts/generate.ts';
import { applyObjects, crdEstablished, impersonateServiceAccount, kubeRequest, startCluster, type TestCluster } from '../harness/cluster.ts';

const TEAM = 'team';
const STACKS = `/apis/${API_GROUP_VERSION}/namespaces/${TEAM}/${PLURAL}`;
let cluster: TestCluster;
let admin: KubeConfig;
let operator: KubeConfig;

const manifest = (file: string) => YAML.parseAllDocuments(readFileSync(join(REPO_ROOT, 'dist', file), 'utf8')).map((document) => document.toJS() as KubernetesObject);
const documents = manifest('install-cluster-wide.yaml');

const applyAll = (kubeConfig: KubeConfig) => applyObjects(kubeConfig, documents, 'telemetry-stack-install');

async function expectStatus(what: string, request: Promise<{ status: number; body: string }>, expected: number): Promise<void> {
  const response = await request;
  expect(response.status, `${what}: ${response.body.slice(0, 300)}`).toBe(expected);
}

beforeAll(async () => {
  cluster = await startCluster();
  console.log(`[cluster-install] control plane ready in ${cluster.startupMs} ms`);
  admin = cluster.kubeConfig;
  operator = impersonateServiceAccount(admin, OPERATOR_NAMESPACE, OPERATOR_NAME);
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
});

describe('dist/install-cluster-wide.yaml', () => {
  it('applies cleanly with server-side apply, and applying it again changes nothing', async () => {
    const first = await applyAll(admin);
    expect(first.map((object) => object.kind)).toEqual(documents.map((document) => document.kind));
    await crdEstablished(admin, CRD_NAME);
    // The API server itself writes the CRD's status (Established) after the first apply; nothing else moves.
    const versions = (objects: KubernetesObject[]) => objects.map((object) => `${object.kind}/${object.metadata?.name}@${object.metadata?.resourceVersion}`);
    const second = await applyAll(admin);
    expect(versions(second).slice(1)).toEqual(versions(first).slice(1));
    expect(versions(await applyAll(admin))).toEqual(versions(second));
  });
});

describe('the operator Deployment', () => {
  it('has pods the restricted Pod Security Standard admits in its namespace (which enforces it)', async () => {
    const deployment = documents.find((document) => document.kind === 'Deployment') as KubernetesObject & { spec: { template: { metadata: object; spec: V1PodSpec } } };
    const pods = `/api/v1/namespaces/${OPERATOR_NAMESPACE}/pods?dryRun=All`;
    const pod = (spec: object) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { ...deployment.spec.template.metadata, name: 'operator' }, spec });
    await expectStatus('operator pod', kubeRequest(admin, 'POST', pods, pod(deployment.spec.template.spec)), 201);
    // The control: the namespace does enforce the profile.
    const { securityContext: _dropped, ...unrestricted } = deployment.spec.template.spec.containers[0]!;
    const rejected = await kubeRequest(admin, 'POST', pods, pod({ ...deployment.spec.template.spec, securityContext: {}, containers: [unrestricted] }));
    expect(rejected.status).toBe(403);
    expect((JSON.parse(rejected.body) as { message: string }).message).toContain('violates PodSecurity "restricted');
  });
});

describe('the operator ServiceAccount (impersonated)', () => {
  const stackOwner = { apiVersion: API_GROUP_VERSION, kind: KIND, name: 'telemetry', uid: '', controller: true, blockOwnerDeletion: true };

  beforeAll(async () => {
    await expectStatus('create namespace', kubeRequest(admin, 'POST', '/api/v1/namespaces', { metadata: { name: TEAM } }), 201);
    const created = await kubeRequest(admin, 'POST', STACKS, { apiVersion: API_GROUP_VERSION, kind: KIND, metadata: { name: 'telemetry' }, spec: {} });
    expect(created.status, created.body).toBe(201);
    stackOwner.uid = (JSON.parse(created.body) as { metadata: { uid: string } }).metadata.uid;
  });

  it('lists stacks in every namespace, adds its finalizer and writes their status', async () => {
    const list = await kubeRequest(operator, 'GET', `/apis/${API_GROUP_VERSION}/${PLURAL}`);
    expect(list.status, list.body).toBe(200);
    expect((JSON.parse(list.body) as { items: { metadata: { name: string } }[] }).items.map((item) => item.metadata.name)).toEqual(['telemetry']);
    await expectStatus('watch stacks', kubeRequest(operator, 'GET', `/apis/${API_GROUP_VERSION}/${PLURAL}?watch=true&timeoutSeconds=1`), 200);
    await expectStatus(
      'add finalizer',
      kubeRequest(operator, 'PATCH', `${STACKS}/telemetry`, { metadata: { finalizers: ['telemetrystack.io/cleanup'] } }, 'application/merge-patch+json'),
      200,
    );
    await expectStatus('patch status', kubeRequest(operator, 'PATCH', `${STACKS}/telemetry/status`, { status: { observedGeneration: 1 } }, 'application/merge-patch+json'), 200);
    await expectStatus(
      'remove finalizer',
      kubeRequest(operator, 'PATCH', `${STACKS}/telemetry`, { metadata: { finalizers: null } }, 'application/merge-patch+json'),
      200,
    );
  });

  it('applies, creates and prunes the objects a stack owns, with blocking owner references', async () => {
    const configMap = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'telemetry-collector-config', namespace: TEAM, ownerReferences: [stackOwner] }, data: { a: 'b' } };
    const apply = (path: string, body: object) => kubeRequest(operator, 'PATCH', `${path}?fieldManager=telemetry-stack-operator&force=true`, body, 'application/apply-patch+yaml');
    await expectStatus('apply ConfigMap', apply(`/api/v1/namespaces/${TEAM}/configmaps/telemetry-collector-config`, configMap), 201);
    await expectStatus('re-apply ConfigMap', apply(`/api/v1/namespaces/${TEAM}/configmaps/telemetry-collector-config`, configMap), 200);
    const service = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'telemetry-collector', namespace: TEAM, ownerReferences: [stackOwner] }, spec: { ports: [{ port: 4317 }] } };
    await expectStatus('apply Service', apply(`/api/v1/namespaces/${TEAM}/services/telemetry-collector`, service), 201);
    const statefulSet = {
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'telemetry-clickhouse', namespace: TEAM, ownerReferences: [stackOwner] },
      spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'c', image: 'example.invalid/c:1' }] } } },
    };
    await expectStatus('apply StatefulSet', apply(`/apis/apps/v1/namespaces/${TEAM}/statefulsets/telemetry-clickhouse`, statefulSet), 201);
    const policy = { apiVersion: 'networking.k8s.io/v1', kind: 'NetworkPolicy', metadata: { name: 'telemetry-collector', namespace: TEAM, ownerReferences: [stackOwner] }, spec: { podSelector: {} } };
    await expectStatus('apply NetworkPolicy', apply(`/apis/networking.k8s.io/v1/namespaces/${TEAM}/networkpolicies/telemetry-collector`, policy), 201);
    await expectStatus(
      'create Secret',
      kubeRequest(operator, 'POST', `/api/v1/namespaces/${TEAM}/secrets`, { metadata: { name: 'telemetry-user-alice', ownerReferences: [stackOwner] }, stringData: { password: 'x' } }),
      201,
    );
    await expectStatus('prune ConfigMap', kubeRequest(operator, 'DELETE', `/api/v1/namespaces/${TEAM}/configmaps/telemetry-collector-config`), 200);
    await expectStatus('prune StatefulSet', kubeRequest(operator, 'DELETE', `/apis/apps/v1/namespaces/${TEAM}/statefulsets/telemetry-clickhouse`), 200);
  });

  it('grants a user read access to exactly their credential Secret, without bind or escalate', async () => {
    const rbac = `/apis/rbac.authorization.k8s.io/v1/namespaces/${TEAM}`;
    const rule = { apiGroups: [''], resources: ['secrets'], resourceNames: ['telemetry-user-alice'], verbs: ['get'] };
    await expectStatus('create Role', kubeRequest(operator, 'POST', `${rbac}/roles`, { metadata: { name: 'telemetry-user-alice-credentials' }, rules: [rule] }), 201);
    await expectStatus(
      'create RoleBinding',
      kubeRequest(operator, 'POST', `${rbac}/rolebindings`, {
        metadata: { name: 'telemetry-user-alice-credentials' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'telemetry-user-alice-credentials' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'alice' }],
      }),
      201,
    );
    // ...and cannot hand out anything it does not hold itself.
    await expectStatus(
      'create Role granting more than the operator holds',
      kubeRequest(operator, 'POST', `${rbac}/roles`, { metadata: { name: 'escalation' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }] }),
      403,
    );
    await expectStatus(
      'bind a ClusterRole the operator does not hold',
      kubeRequest(operator, 'POST', `${rbac}/rolebindings`, {
        metadata: { name: 'escalation' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cluster-admin' },
        subjects: [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'User', name: 'mallory' }],
      }),
      403,
    );
  });

  it('records Events and holds the leader-election Lease in its own namespace', async () => {
    await expectStatus(
      'create Event',
      kubeRequest(operator, 'POST', `/api/v1/namespaces/${TEAM}/events`, {
        metadata: { name: 'telemetry.1' },
        involvedObject: { apiVersion: API_GROUP_VERSION, kind: KIND, name: 'telemetry', namespace: TEAM, uid: stackOwner.uid },
        reason: 'Invalid',
        message: 'test',
        type: 'Warning',
      }),
      201,
    );
    const leases = `/apis/coordination.k8s.io/v1/namespaces/${OPERATOR_NAMESPACE}/leases`;
    await expectStatus('create Lease', kubeRequest(operator, 'POST', leases, { metadata: { name: OPERATOR_NAME }, spec: { holderIdentity: 'a', leaseDurationSeconds: 15 } }), 201);
    const lease = JSON.parse((await kubeRequest(operator, 'GET', `${leases}/${OPERATOR_NAME}`)).body) as { metadata: object; spec: object };
    await expectStatus('renew Lease', kubeRequest(operator, 'PUT', `${leases}/${OPERATOR_NAME}`, { ...lease, spec: { ...lease.spec, holderIdentity: 'b' } }), 200);
    await expectStatus('Lease elsewhere', kubeRequest(operator, 'POST', `/apis/coordination.k8s.io/v1/namespaces/${TEAM}/leases`, { metadata: { name: 'x' }, spec: {} }), 403);
  });

  it('is denied everything outside its role', async () => {
    const denied: [string, string, string, object?][] = [
      ['list nodes', 'GET', '/api/v1/nodes'],
      ['list pods', 'GET', `/api/v1/namespaces/${TEAM}/pods`],
      ['create a Namespace', 'POST', '/api/v1/namespaces', { metadata: { name: 'elsewhere' } }],
      ['create a ClusterRole', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { metadata: { name: 'x' }, rules: [] }],
      ['create a ClusterRoleBinding', 'POST', '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', { metadata: { name: 'x' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' }, subjects: [] }],
      ['delete the CRD', 'DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${CRD_NAME}`],
      ['create a stack', 'POST', STACKS, { apiVersion: API_GROUP_VERSION, kind: KIND, metadata: { name: 'other' }, spec: {} }],
      ['delete a stack', 'DELETE', `${STACKS}/telemetry`],
      ['replace a ConfigMap (PUT; it applies instead)', 'PUT', `/api/v1/namespaces/${TEAM}/configmaps/x`, { metadata: { name: 'x' } }],
      ['create a Pod', 'POST', `/api/v1/namespaces/${TEAM}/pods`, { metadata: { name: 'x' }, spec: { containers: [{ name: 'c', image: 'i' }] } }],
      ['create a ServiceAccount token', 'POST', `/api/v1/namespaces/${OPERATOR_NAMESPACE}/serviceaccounts/${OPERATOR_NAME}/token`, { spec: { audiences: [] } }],
      ['port-forward', 'POST', `/api/v1/namespaces/${TEAM}/pods/x/portforward`],
      ['list namespaces', 'GET', '/api/v1/namespaces'],
    ];
    for (const [what, method, path, body] of denied) await expectStatus(what, kubeRequest(operator, method, path, body), 403);
  });
});

describe('dist/install.yaml, the default: the operator\'s rights in the telemetry namespace only', () => {
  it('reads and creates Secrets and applies workloads in telemetry, and nothing of the sort in another namespace', async () => {
    // Take the cluster-wide grant of the tests above away first: only the default install's RBAC remains.
    await expectStatus('remove the ClusterRoleBinding', kubeRequest(admin, 'DELETE', `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${OPERATOR_NAME}`), 200);
    await expectStatus('create namespace telemetry', kubeRequest(admin, 'POST', '/api/v1/namespaces', { metadata: { name: DEFAULT_WATCH_NAMESPACE } }), 201);
    const objects = manifest('install.yaml');
    expect(objects.map((object) => object.kind)).not.toContain('ClusterRoleBinding');
    await applyObjects(admin, objects, 'telemetry-stack-install');
    const secrets = (namespace: string) => `/api/v1/namespaces/${namespace}/secrets`;
    await expectStatus('list Secrets in telemetry', kubeRequest(operator, 'GET', secrets(DEFAULT_WATCH_NAMESPACE)), 200);
    await expectStatus('create a Secret in telemetry', kubeRequest(operator, 'POST', secrets(DEFAULT_WATCH_NAMESPACE), { metadata: { name: 'telemetry.user.alice' }, stringData: { password: 'x' } }), 201);
    const statefulSet = (namespace: string) => `/apis/apps/v1/namespaces/${namespace}/statefulsets`;
    await expectStatus('list StatefulSets in telemetry', kubeRequest(operator, 'GET', statefulSet(DEFAULT_WATCH_NAMESPACE)), 200);
    for (const [what, method, path, body] of [
      ['list Secrets in team', 'GET', secrets(TEAM)],
      ['read a Secret in team', 'GET', `${secrets(TEAM)}/telemetry-user-alice`],
      ['create a Secret in team', 'POST', secrets(TEAM), { metadata: { name: 'x' }, stringData: { a: 'b' } }],
      ['list StatefulSets in team', 'GET', statefulSet(TEAM)],
      ['list Secrets of the cluster', 'GET', '/api/v1/secrets'],
    ] as [string, string, string, object?][]) {
      await expectStatus(what, kubeRequest(operator, method, path, body), 403);
    }
  });
});
