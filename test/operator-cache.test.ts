/**
 * Reconciles read the stack and its objects from the watch caches (src/operator/reader.ts), on
 * a real kube-apiserver with controllers and kwok:
 * - a steady-state resync of Ready stacks sends no request at all (no GET, no list, no write);
 * - the caches keep whole objects without managedFields;
 * - a cached object that is behind the server is never the ground for a forced write: the apply
 *   carries its resourceVersion, so an object deleted and made again by someone else since it
 *   was cached is refused (409), read again, and reported as a conflict, never taken over.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STACK_LABEL } from '../src/stack/labels.ts';
import { Applier, FIELD_MANAGER, withOwner } from '../src/operator/apply.ts';
import type { ClickHouseLeg } from '../src/operator/clickhouse-leg.ts';
import { sqlClickHouseLeg } from '../src/operator/clickhouse-sql.ts';
import { MUTATING, type HttpKubeClient, type KubeObject } from '../src/kube/client.ts';
import { silentLogger } from '../src/operator/log.ts';
import { startOperator, type RunningOperator } from '../src/operator/operator.ts';
import { OWNED, resourcePath } from '../src/operator/resources.ts';
import { ownerReference } from '../src/operator/credentials.ts';
import { startCluster, type TestCluster } from '../harness/cluster.ts';
import { apply, applyCrd, applyStack, clientFor, createNamespace, getStack, sharedEmbeddedClickHouse, waitForReady } from '../harness/operator.ts';

const CONFIGMAPS = OWNED.find((resource) => resource.kind === 'ConfigMap')!;

describe('reconcile reads the watch caches', () => {
  let cluster: TestCluster;
  let admin: HttpKubeClient;
  let clickhouse: Awaited<ReturnType<typeof sharedEmbeddedClickHouse>>;
  let operator: RunningOperator | undefined;
  let client: HttpKubeClient;

  beforeAll(async () => {
    cluster = await startCluster({ controllers: true, kwok: true, readyTimeoutMs: 180_000 });
    admin = clientFor(cluster.kubeConfig);
    await applyCrd(admin);
    clickhouse = await sharedEmbeddedClickHouse();
  }, 300_000);

  afterAll(async () => {
    await operator?.stop();
    await clickhouse?.close();
    await cluster?.stop();
  }, 120_000);

  it('a steady-state resync of Ready stacks sends no request: no GET, no list, no write', async () => {
    for (const namespace of ['cache-a', 'cache-b']) await createNamespace(admin, namespace);
    client = clientFor(cluster.kubeConfig);
    client.recordRequests = true;
    const inner = sqlClickHouseLeg(clickhouse.connect);
    let legs = 0;
    const counted: ClickHouseLeg = { ...inner, reconcile: (...args) => (legs++, inner.reconcile(...args)) };
    operator = await startOperator({
      client,
      log: silentLogger,
      inCluster: false,
      clickhouse: counted,
      clickhouseUrl: 'http://embedded.invalid:8123',
      resyncMs: 3_600_000,
    });
    await applyStack(admin, 'cache-a', 'telemetry', { clickhouse: { database: 'cache_a' } });
    await applyStack(admin, 'cache-b', 'telemetry', { clickhouse: { database: 'cache_b' }, access: { users: [{ name: 'alice', subject: { kind: 'User', name: 'alice' } }] } });
    await waitForReady(admin, 'cache-a', 'telemetry', 240_000);
    await waitForReady(admin, 'cache-b', 'telemetry', 240_000);
    await operator.controller.idle();
    // Converging did read and write: the count below is about the resync, not an idle client.
    expect(client.log.filter((request) => MUTATING.has(request.method)).length).toBeGreaterThan(0);

    // Each StatefulSet is applied when created and the collector once more for its schema version; the
    // StatefulSet controller moving their status as pods come up is no reason to apply them again.
    const statefulSetWrites = client.log.filter((request) => request.method === 'PATCH' && request.path.includes('/statefulsets/')).length;
    expect(statefulSetWrites).toBeLessThanOrEqual(2 * 3 + 1);
    expect(legs).toBeGreaterThanOrEqual(2);

    client.log.length = 0;
    legs = 0;
    const reconciled = operator.metrics.reconcileCount('success');
    expect(operator.controller.resync()).toBe(2);
    await operator.controller.idle();
    expect(operator.metrics.reconcileCount('success')).toBeGreaterThan(reconciled);
    expect(client.log).toEqual([]);
    // A resync checks each stack's ClickHouse again (drift made there by hand is repaired at that pace)...
    expect(legs).toBe(2);
    // ...while a reconcile between resyncs with nothing changed (an event of its own objects) does not ask again.
    operator.controller.queue.add('cache-a/telemetry');
    operator.controller.queue.add('cache-b/telemetry');
    await operator.controller.idle();
    expect(operator.metrics.reconcileCount('success')).toBeGreaterThan(reconciled + 2);
    expect(legs).toBe(2);
    expect(client.log).toEqual([]);
  }, 600_000);

  it('the caches keep whole objects, without managedFields', async () => {
    const cached = operator!.controller.reader;
    const stack = await cached.stack('cache-b', 'telemetry');
    expect(stack?.spec).toMatchObject({ clickhouse: { database: 'cache_b' } });
    expect(stack?.status).toMatchObject({ conditions: expect.arrayContaining([expect.objectContaining({ type: 'Ready', status: 'True' })]) });
    const owned = await cached.owned('cache-b', 'telemetry');
    const kinds = new Set([...owned.values()].map((object) => object.kind));
    expect(kinds).toEqual(new Set(['ConfigMap', 'Secret', 'Service', 'StatefulSet', 'NetworkPolicy', 'Role', 'RoleBinding']));
    for (const object of owned.values()) {
      expect(object.metadata.managedFields).toBeUndefined();
      expect(object.metadata.labels?.[STACK_LABEL]).toBe('telemetry');
    }
    expect(stack?.metadata.managedFields).toBeUndefined();
    // The same objects the API server lists, at the same versions.
    for (const resource of OWNED) {
      const list = await admin.request<{ items: KubeObject[] }>('GET', resourcePath(resource, 'cache-b'), { query: { labelSelector: `${STACK_LABEL}=telemetry` } });
      for (const item of list.items) expect(owned.get(resourcePath(resource, 'cache-b', item.metadata.name))?.metadata.resourceVersion).toBe(item.metadata.resourceVersion);
    }
    const secrets = [...owned.values()].filter((object) => object.kind === 'Secret');
    expect(secrets.length).toBeGreaterThan(0);
    for (const secret of secrets) expect(Object.keys((secret.data ?? {}) as object).length).toBeGreaterThan(0);
    // The Applier tests below write objects of a stack of their own, which a running operator would prune.
    await operator!.stop();
    operator = undefined;
  }, 120_000);

  it('a forced apply over a cached object that was replaced since by someone else is refused, not a takeover', async () => {
    await createNamespace(admin, 'cache-stale');
    const stack = await applyStack(admin, 'cache-stale', 'owner', {});
    const owner = ownerReference(stack as KubeObject);
    const name = 'stale-config';
    const path = resourcePath(CONFIGMAPS, 'cache-stale', name);
    const desired = withOwner({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'cache-stale', labels: { [STACK_LABEL]: 'owner' } }, data: { a: '1' } }, owner);
    const applier = new Applier(admin);
    const created = (await applier.apply(desired, undefined)).object;
    expect(created.metadata.ownerReferences?.[0]?.uid).toBe(owner.uid);

    // The identical apply over the current version persists nothing.
    const again = await new Applier(admin).apply(desired, created);
    expect(again.object.metadata.resourceVersion).toBe(created.metadata.resourceVersion);

    // Someone deletes it and makes their own under the same name; the cache still holds ours.
    await admin.request('DELETE', path);
    await apply(admin, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'cache-stale', labels: { [STACK_LABEL]: 'owner' } }, data: { a: 'theirs' } }, path);
    const changed = withOwner({ ...desired, data: { a: '2' } }, owner);
    await expect(applier.apply(changed, created)).rejects.toMatchObject({ name: 'ObjectConflictError', message: expect.stringContaining(`ConfigMap "${name}" already exists and has no controller`) });
    const theirs = await admin.request<KubeObject>('GET', path);
    expect(theirs.data).toEqual({ a: 'theirs' });
    expect(theirs.metadata.ownerReferences).toBeUndefined();
    expect((theirs.metadata.managedFields as { manager: string }[]).map((entry) => entry.manager)).not.toContain(FIELD_MANAGER);
  }, 120_000);

  it('a forced apply over a cached object of ours that changed since reads it again and applies', async () => {
    const stack = await getStack(admin, 'cache-stale', 'owner');
    const owner = ownerReference(stack as KubeObject);
    const name = 'moved-config';
    const path = resourcePath(CONFIGMAPS, 'cache-stale', name);
    const desired = withOwner({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: 'cache-stale', labels: { [STACK_LABEL]: 'owner' } }, data: { a: '1' } }, owner);
    const cached = (await new Applier(admin).apply(desired, undefined)).object;
    // Someone else changes a field of ours (drift) before the cache saw it; the operator then wants another value.
    await admin.request('PATCH', path, { body: { data: { a: 'drifted', b: 'added' } }, contentType: 'application/merge-patch+json' });
    const client = clientFor(cluster.kubeConfig);
    client.recordRequests = true;
    const result = await new Applier(client).apply(withOwner({ ...desired, data: { a: '2' } }, owner), cached);
    expect(result.wrote).toBe(true);
    // Refused under the cached version, read again, applied under the current one.
    expect(client.log.map((request) => `${request.method} ${request.status}`)).toEqual(['PATCH 409', 'GET 200', 'PATCH 200']);
    const current = await admin.request<KubeObject>('GET', path);
    expect(current.data).toEqual({ a: '2', b: 'added' });
    expect(current.metadata.ownerReferences?.[0]?.uid).toBe(owner.uid);
  }, 120_000);
});
