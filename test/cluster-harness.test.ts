/**
 * The real-cluster harness itself (test/support/cluster.ts): etcd + kube-apiserver +
 * controller-manager + scheduler + kwok come up on loopback, report the pinned version, run
 * workloads to Ready, garbage-collect by owner references, enforce RBAC on impersonated
 * ServiceAccounts, and leave nothing behind.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AppsV1Api, CoreV1Api, RbacAuthorizationV1Api, type V1Deployment, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_COMMAND } from '../scripts/test-binaries/control-plane.ts';
import { VERSIONS } from '../src/versions.ts';
import { eventually, impersonateServiceAccount, rawGet, startCluster, type TestCluster } from './support/cluster.ts';

const NAMESPACE = 'harness';
let cluster: TestCluster;
let core: CoreV1Api;
let apps: AppsV1Api;

beforeAll(async () => {
  cluster = await startCluster({ controllers: true, kwok: true });
  console.log(`[cluster-harness] control plane with kwok ready in ${cluster.startupMs} ms`);
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
});

const labels = (app: string) => ({ app });
const podIsReady = (pod: V1Pod) => pod.status?.phase === 'Running' && (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');

async function podsOf(app: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace: NAMESPACE, labelSelector: `app=${app}` })).items;
}

describe('the control plane', () => {
  it('serves the pinned Kubernetes version to the admin kubeconfig', async () => {
    const version = await rawGet(cluster.kubeConfig, '/version');
    expect(version.status).toBe(200);
    expect(JSON.parse(version.body)).toMatchObject({ gitVersion: `v${VERSIONS.kubernetes}`, major: '1' });
    expect(cluster.server).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(existsSync(cluster.kubeconfigPath)).toBe(true);
  });

  it('has Ready fake nodes managed by kwok', async () => {
    const nodes = (await core.listNode()).items;
    expect(nodes.map((node) => node.metadata?.name)).toEqual(cluster.nodeNames);
    for (const node of nodes) expect(node.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
  });

  it('fails with the build command when the binaries are missing (never skips)', async () => {
    const emptyCache = mkdtempSync(join(tmpdir(), 'tstack-empty-cache-'));
    const previous = process.env.TSTACK_BIN_CACHE;
    process.env.TSTACK_BIN_CACHE = emptyCache;
    try {
      await expect(startCluster()).rejects.toThrow(BUILD_COMMAND);
    } finally {
      if (previous === undefined) delete process.env.TSTACK_BIN_CACHE;
      else process.env.TSTACK_BIN_CACHE = previous;
      rmSync(emptyCache, { recursive: true, force: true });
    }
  });
});

describe('workloads', () => {
  it('runs a Deployment to Ready: ReplicaSet, scheduled Pods, Running and Ready', async () => {
    const started = Date.now();
    const deployment: V1Deployment = {
      metadata: { name: 'web', namespace: NAMESPACE },
      spec: {
        replicas: 2,
        selector: { matchLabels: labels('web') },
        template: { metadata: { labels: labels('web') }, spec: { containers: [{ name: 'web', image: 'example.invalid/web:1' }] } },
      },
    };
    await apps.createNamespacedDeployment({ namespace: NAMESPACE, body: deployment });
    const ready = await eventually('the Deployment to report 2 ready replicas', async () => {
      const current = await apps.readNamespacedDeployment({ namespace: NAMESPACE, name: 'web' });
      return current.status?.readyReplicas === 2 ? current : undefined;
    });
    console.log(`[cluster-harness] Deployment with 2 replicas Ready in ${Date.now() - started} ms`);
    expect(ready.status?.availableReplicas).toBe(2);

    const replicaSets = (await apps.listNamespacedReplicaSet({ namespace: NAMESPACE, labelSelector: 'app=web' })).items;
    expect(replicaSets).toHaveLength(1);
    expect(replicaSets[0]?.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Deployment', name: 'web', controller: true });
    const pods = await podsOf('web');
    expect(pods).toHaveLength(2);
    for (const pod of pods) {
      expect(podIsReady(pod)).toBe(true);
      expect(cluster.nodeNames).toContain(pod.spec?.nodeName);
      expect(pod.status?.podIP).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
      expect(pod.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'ReplicaSet', name: replicaSets[0]?.metadata?.name });
    }
  });

  it('runs a StatefulSet with a volumeClaimTemplate: the claim is provisioned and bound, the Pod becomes Ready', async () => {
    const statefulSet: V1StatefulSet = {
      metadata: { name: 'db', namespace: NAMESPACE },
      spec: {
        serviceName: 'db',
        replicas: 1,
        selector: { matchLabels: labels('db') },
        template: {
          metadata: { labels: labels('db') },
          spec: { containers: [{ name: 'db', image: 'example.invalid/db:1', volumeMounts: [{ name: 'data', mountPath: '/data' }] }] },
        },
        volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }],
      },
    };
    await apps.createNamespacedStatefulSet({ namespace: NAMESPACE, body: statefulSet });
    await eventually('the StatefulSet to report 1 ready replica', async () =>
      (await apps.readNamespacedStatefulSet({ namespace: NAMESPACE, name: 'db' })).status?.readyReplicas === 1,
    );
    const claim = await core.readNamespacedPersistentVolumeClaim({ namespace: NAMESPACE, name: 'data-db-0' });
    expect(claim.spec?.storageClassName).toBe('kwok-volume');
    expect(claim.status?.phase).toBe('Bound');
    const volume = await core.readPersistentVolume({ name: claim.spec!.volumeName! });
    expect(volume.spec?.claimRef).toMatchObject({ namespace: NAMESPACE, name: 'data-db-0', uid: claim.metadata?.uid });
  });

  it('garbage-collects dependents when their owner is deleted', async () => {
    const owner = await core.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name: 'owner' }, data: { role: 'owner' } } });
    const ownerReferences = [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid!, controller: true, blockOwnerDeletion: true }];
    await core.createNamespacedConfigMap({ namespace: NAMESPACE, body: { metadata: { name: 'dependent', ownerReferences }, data: { role: 'dependent' } } });
    await core.deleteNamespacedConfigMap({ namespace: NAMESPACE, name: 'owner' });
    await eventually('the dependent ConfigMap to be garbage-collected', async () => {
      const names = (await core.listNamespacedConfigMap({ namespace: NAMESPACE })).items.map((c) => c.metadata?.name);
      return !names.includes('dependent');
    });

    // Deleting the Deployment takes its ReplicaSet and Pods with it (kwok removes the terminating Pods).
    await apps.deleteNamespacedDeployment({ namespace: NAMESPACE, name: 'web', propagationPolicy: 'Background' });
    await eventually('the ReplicaSet and Pods of the deleted Deployment to go', async () => {
      const replicaSets = (await apps.listNamespacedReplicaSet({ namespace: NAMESPACE, labelSelector: 'app=web' })).items;
      return replicaSets.length === 0 && (await podsOf('web')).length === 0;
    });
  });
});

describe('impersonation', () => {
  it('acts as a ServiceAccount: denied without a binding, allowed with exactly what a Role grants', async () => {
    await core.createNamespacedServiceAccount({ namespace: NAMESPACE, body: { metadata: { name: 'reader' } } });
    const asReader = impersonateServiceAccount(cluster.kubeConfig, NAMESPACE, 'reader').makeApiClient(CoreV1Api);
    await expect(asReader.listNamespacedConfigMap({ namespace: NAMESPACE })).rejects.toMatchObject({ code: 403 });

    const rbac = cluster.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.createNamespacedRole({
      namespace: NAMESPACE,
      body: { metadata: { name: 'configmap-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }] },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: NAMESPACE,
      body: {
        metadata: { name: 'reader' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'configmap-reader' },
        subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: NAMESPACE }],
      },
    });
    await eventually('the RoleBinding to take effect', async () => Array.isArray((await asReader.listNamespacedConfigMap({ namespace: NAMESPACE })).items));
    await expect(asReader.listNamespacedSecret({ namespace: NAMESPACE })).rejects.toMatchObject({ code: 403 });
    await expect(asReader.listNamespacedConfigMap({ namespace: 'default' })).rejects.toMatchObject({ code: 403 });
  });
});

describe('stop()', () => {
  it('kills every component and removes the temp dir', async () => {
    const second = await startCluster();
    const workDir = dirname(second.logDir);
    expect((await rawGet(second.kubeConfig, '/readyz')).status).toBe(200);
    await second.stop();
    expect(existsSync(workDir)).toBe(false);
    await expect(rawGet(second.kubeConfig, '/readyz')).rejects.toThrow();
    await second.stop(); // idempotent
  }, 120_000);
});
