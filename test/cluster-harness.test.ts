/**
 * The real-cluster harness itself (harness/cluster.ts): etcd + kube-apiserver +
 * controller-manager + scheduler + kwok come up on loopback, report the pinned version, run
 * workloads (and a rendered `{}` stack) to Ready, garbage-collect by owner references, enforce RBAC on impersonated
 * ServiceAccounts, and leave nothing behind.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer as createHttpServer, request as httpRequest } from 'node:http';
import { type AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { AppsV1Api, CoreV1Api, type KubernetesObject, RbacAuthorizationV1Api, type V1Deployment, type V1Pod, type V1StatefulSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUILD_COMMAND } from '../scripts/test-binaries/control-plane.ts';
import { render } from '../src/charts/render.ts';
import { generateSecrets } from '../src/stack/secrets.ts';
import { forwardPort } from '../src/kube/port-forward.ts';
import { VERSIONS } from '../src/versions.ts';
import { applyObjects, eventually, impersonateServiceAccount, rawGet, serviceAccountKubeConfig, startCluster, type TestCluster } from '../harness/cluster.ts';
import { freePort } from '../harness/ports.ts';
import { stackFrom } from '../harness/stacks.ts';

const NAMESPACE = 'harness';
let cluster: TestCluster;
let core: CoreV1Api;
let apps: AppsV1Api;

/** What a port-forward to any pod's port 8123 reaches (kwok plays the kubelet): echoes the request. */
const echo = createHttpServer((request, response) => {
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = Buffer.concat(chunks);
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'x-path': request.url ?? '' }).end(body);
  });
});

beforeAll(async () => {
  await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
  // Port 9999 leads to a port nothing listens on.
  const closedPort = await freePort();
  cluster = await startCluster({
    controllers: true,
    kwok: true,
    // Two nodes, so a stack's scheduling settings have a choice to make.
    nodes: 2,
    podPortForwards: [
      { port: 8123, target: (echo.address() as AddressInfo).port },
      { port: 9999, target: closedPort },
    ],
  });
  console.log(`[cluster-harness] control plane with kwok ready in ${cluster.startupMs} ms`);
  core = cluster.kubeConfig.makeApiClient(CoreV1Api);
  apps = cluster.kubeConfig.makeApiClient(AppsV1Api);
  await core.createNamespace({ body: { metadata: { name: NAMESPACE } } });
}, 180_000);

afterAll(async () => {
  await cluster?.stop();
  echo.closeAllConnections();
  await new Promise((resolve) => echo.close(resolve));
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

describe('a rendered stack', () => {
  it('applies to the API server as rendered and its workloads become Ready', async () => {
    const stack = stackFrom({}, 'telemetry', 'rendered');
    await core.createNamespace({ body: { metadata: { name: 'rendered' } } });
    const objects = [...render(stack).objects, ...generateSecrets(stack)] as KubernetesObject[];
    await applyObjects(cluster.kubeConfig, objects);
    const workloads = objects.filter((object) => object.kind === 'StatefulSet' || object.kind === 'Deployment');
    expect(workloads.length).toBeGreaterThan(0);
    for (const workload of workloads) {
      const name = workload.metadata!.name!;
      await eventually(`${workload.kind} ${name} to be Ready`, async () => {
        const current = workload.kind === 'StatefulSet'
          ? await apps.readNamespacedStatefulSet({ namespace: 'rendered', name })
          : await apps.readNamespacedDeployment({ namespace: 'rendered', name });
        return (current.status?.readyReplicas ?? 0) === (current.spec?.replicas ?? 1);
      });
    }
    const claims = (await core.listNamespacedPersistentVolumeClaim({ namespace: 'rendered' })).items;
    expect(claims.length).toBeGreaterThan(0);
    for (const claim of claims) expect(claim.status?.phase, claim.metadata?.name).toBe('Bound');
  });
});

describe('scheduling settings (issue 15 item 7)', () => {
  it('put each component where the stack says: a node selector, a toleration of a taint, a required node affinity', async () => {
    const [first, second] = cluster.nodeNames as [string, string];
    // Only pods that tolerate the taint may use the second node.
    await core.patchNode({ name: second, body: [{ op: 'add', path: '/spec/taints', value: [{ key: 'dedicated', value: 'telemetry', effect: 'NoSchedule' }] }] });
    const stack = stackFrom(
      {
        collector: { nodeSelector: { 'kubernetes.io/hostname': second }, tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'telemetry', effect: 'NoSchedule' }] },
        clickhouse: {
          affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [first] }] }] } } },
        },
      },
      'placed',
      'placed',
    );
    await core.createNamespace({ body: { metadata: { name: 'placed' } } });
    try {
      await applyObjects(cluster.kubeConfig, [...render(stack).objects, ...generateSecrets(stack)] as KubernetesObject[]);
      const nodeOf = async (component: string) => {
        const pods = (await core.listNamespacedPod({ namespace: 'placed', labelSelector: `app.kubernetes.io/component=${component}` })).items;
        return pods.length === 1 ? pods[0]!.spec?.nodeName : undefined;
      };
      await eventually('the collector pod on the tainted node it selects', async () => (await nodeOf('collector')) === second);
      await eventually('the ClickHouse pod on the node its affinity requires', async () => (await nodeOf('clickhouse')) === first);
    } finally {
      await core.patchNode({ name: second, body: [{ op: 'remove', path: '/spec/taints' }] });
    }
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

    // The same through the ServiceAccount's own token (TokenRequest), as a pod would authenticate.
    const withToken = (await serviceAccountKubeConfig(cluster.kubeConfig, NAMESPACE, 'reader')).makeApiClient(CoreV1Api);
    expect(Array.isArray((await withToken.listNamespacedConfigMap({ namespace: NAMESPACE })).items)).toBe(true);
    await expect(withToken.listNamespacedSecret({ namespace: NAMESPACE })).rejects.toMatchObject({ code: 403 });
  });
});

describe('stop()', () => {
  it('kills every component and removes the temp dir (a bare cluster, with extra API server flags)', async () => {
    const second = await startCluster({ apiServerArgs: ['--service-cluster-ip-range=10.96.0.0/24'] });
    const workDir = dirname(second.logDir);
    expect((await rawGet(second.kubeConfig, '/readyz')).status).toBe(200);
    // The later flag won: the API server's own Service got its address from the overriding range.
    const service = await eventually('the kubernetes Service', async () => (await second.kubeConfig.makeApiClient(CoreV1Api).readNamespacedService({ namespace: 'default', name: 'kubernetes' })).spec?.clusterIP);
    expect(service).toBe('10.96.0.1');
    await second.stop();
    expect(existsSync(workDir)).toBe(false);
    await expect(rawGet(second.kubeConfig, '/readyz')).rejects.toThrow();
    await second.stop(); // idempotent
  }, 120_000);
});

/** One HTTP request through a local port; resolves with the status, a header and the body, or rejects when the connection drops. */
function post(port: number, path: string, body: Buffer): Promise<{ status: number; path: string; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const request = httpRequest({ host: '127.0.0.1', port, path, method: 'POST', agent: false }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, path: String(response.headers['x-path']), body: Buffer.concat(chunks) }));
      response.on('error', reject);
    });
    request.on('error', reject);
    request.end(body);
  });
}

describe('port-forward through the API server (src/kube/port-forward.ts)', () => {
  let pod: string;
  beforeAll(async () => {
    pod = 'forward-target';
    await core.createNamespacedPod({ namespace: NAMESPACE, body: { metadata: { name: pod, labels: labels(pod) }, spec: { containers: [{ name: 'c', image: 'example.invalid/c:1' }] } } });
    await eventually('the pod to be Running', async () => (await podsOf(pod)).some(podIsReady), 60_000);
  }, 90_000);

  it('relays requests and responses both ways, byte for byte, one stream per connection', async () => {
    const forward = await forwardPort(cluster.kubeConfig, NAMESPACE, pod, 8123);
    try {
      const payloads = [Buffer.from('SELECT 1'), randomBytes(2 * 1024 * 1024)];
      const answers = await Promise.all(payloads.map((payload, index) => post(forward.port, `/?query_id=${index}`, payload)));
      for (const [index, answer] of answers.entries()) {
        expect(answer.status).toBe(200);
        expect(answer.path).toBe(`/?query_id=${index}`);
        expect(answer.body.equals(payloads[index]!)).toBe(true);
      }
      expect(forward.lastError()).toBeUndefined();
    } finally {
      await forward.close();
    }
  });

  it('close() ends a connection still open through it, instead of waiting for it', async () => {
    const forward = await forwardPort(cluster.kubeConfig, NAMESPACE, pod, 8123);
    const socket = new Socket();
    await new Promise<void>((resolve) => socket.connect(forward.port, '127.0.0.1', resolve));
    // An idle keep-alive connection, as an HTTP client pool holds.
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n');
    await new Promise((resolve, reject) => {
      socket.once('data', resolve);
      socket.once('close', () => reject(new Error(`the forward closed the connection before answering: ${forward.lastError()}`)));
    });
    const closedSocket = new Promise((resolve) => socket.once('close', resolve));
    const started = Date.now();
    await forward.close();
    await closedSocket;
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a pod port nothing listens on fails the connection and keeps the reason', async () => {
    const forward = await forwardPort(cluster.kubeConfig, NAMESPACE, pod, 9999);
    try {
      await expect(post(forward.port, '/', Buffer.from('x'))).rejects.toThrow();
      await eventually('the reason', async () => forward.lastError(), 10_000, 50);
      console.log(`[cluster-harness] forward to an unserved port: ${forward.lastError()}`);
    } finally {
      await forward.close();
    }
  });
});
