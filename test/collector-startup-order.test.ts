/**
 * Start-up order (issue 18): the collector's ClickHouse exporter reads the raw tables' columns once,
 * at start (contrib clickhouseexporter 0.161.0, exporter_logs.go detectSchemaFeatures: EventName is
 * written only when DESC TABLE showed it then; a failed DESC is only logged). A collector that starts
 * before the migrations ran therefore never writes EventName until it restarts. So the operator holds
 * the collector at 0 replicas until the ClickHouse leg has migrated, and puts the schema version on
 * its pod template, so that a later migration rolls it.
 *
 * Pure render first; then the real operator against a real kube-apiserver with controllers and kwok
 * (pods are really created and rolled), the ClickHouse leg on the embedded engine.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateStack } from '../src/api/validate.ts';
import type { TelemetryStack } from '../src/api/resource.ts';
import { SCHEMA_VERSION_ANNOTATION } from '../src/stack/hash.ts';
import { selectorLabels } from '../src/stack/labels.ts';
import { stackNames } from '../src/stack/naming.ts';
import { type KubeObject as RenderedObject, render } from '../src/charts/render.ts';
import { LATEST_SCHEMA_VERSION, migrate } from '../src/clickhouse/migrate.ts';
import { ddlContext } from '../src/clickhouse/reconcile.ts';
import { MIGRATIONS, type Migration } from '../src/clickhouse/schema.ts';
import { qualified } from '../src/clickhouse/sql.ts';
import { RAW_TABLES } from '../src/clickhouse/tables.ts';
import type { ClickHouseLeg } from '../src/operator/clickhouse-leg.ts';
import { sqlClickHouseLeg } from '../src/operator/clickhouse-sql.ts';
import { CONDITION, REASON } from '../src/stack/conditions.ts';
import type { HttpKubeClient, KubeObject } from '../src/kube/client.ts';
import { jsonLogger } from '../src/operator/log.ts';
import { startOperator, type RunningOperator } from '../src/operator/operator.ts';
import { schemaInput } from '../src/operator/plan.ts';
import { resourcePath } from '../src/operator/resources.ts';
import { STATEFULSETS } from '../src/operator/storage.ts';
import { eventually, startCluster, type TestCluster } from '../harness/cluster.ts';
import { applyCrd, applyStack, clientFor, condition, createNamespace, getStack, sharedEmbeddedClickHouse, stackObject, waitForReady } from '../harness/operator.ts';

function stackFrom(spec: Record<string, unknown> = {}): TelemetryStack {
  const validated = validateStack(stackObject('team', 'telemetry', spec));
  if (!validated.ok) throw new Error(`fixture invalid: ${JSON.stringify(validated.problems)}`);
  return validated.stack;
}

type Workload = RenderedObject & { spec: { replicas: number; template: { metadata: { annotations: Record<string, string> } } } };

function collectorOf(objects: readonly RenderedObject[]): Workload {
  const found = objects.find((object) => ['StatefulSet', 'Deployment'].includes(object.kind) && object.metadata.name === stackNames('telemetry').collector);
  if (!found) throw new Error('no collector workload rendered');
  return found as Workload;
}

describe('render: the collector and the schema version', () => {
  it('synth (no operator) renders the collector as the spec says, with no schema annotation', () => {
    const workload = collectorOf(render(stackFrom({ collector: { replicas: 2 } })).objects);
    expect(workload.spec.replicas).toBe(2);
    expect(workload.spec.template.metadata.annotations).not.toHaveProperty(SCHEMA_VERSION_ANNOTATION);
  });

  it('pending: the collector workload is rendered with 0 replicas and nothing else differs', () => {
    const stack = stackFrom({ collector: { replicas: 2 } });
    const synth = render(stack).objects;
    const held = render(stack, { schemaVersion: 'pending' }).objects;
    expect(collectorOf(held).spec.replicas).toBe(0);
    expect(collectorOf(held).spec.template.metadata.annotations).not.toHaveProperty(SCHEMA_VERSION_ANNOTATION);
    const withoutReplicas = (objects: readonly RenderedObject[]) => objects.map((object) => (object === collectorOf(objects) ? { ...object, spec: { ...(object as Workload).spec, replicas: undefined } } : object));
    expect(withoutReplicas(held)).toEqual(withoutReplicas(synth));
  });

  it('held as a Deployment too when the persistent queue is off', () => {
    const workload = collectorOf(render(stackFrom({ collector: { persistentQueue: { enabled: false } } }), { schemaVersion: 'pending' }).objects);
    expect(workload.kind).toBe('Deployment');
    expect(workload.spec.replicas).toBe(0);
  });

  it('a schema version goes on the pod template; another version changes only that annotation (a roll)', () => {
    const stack = stackFrom({ collector: { replicas: 2 } });
    const current = collectorOf(render(stack, { schemaVersion: LATEST_SCHEMA_VERSION }).objects);
    const next = collectorOf(render(stack, { schemaVersion: LATEST_SCHEMA_VERSION + 1 }).objects);
    expect(current.spec.replicas).toBe(2);
    expect(current.spec.template.metadata.annotations[SCHEMA_VERSION_ANNOTATION]).toBe(String(LATEST_SCHEMA_VERSION));
    expect(next.spec.template.metadata.annotations[SCHEMA_VERSION_ANNOTATION]).toBe(String(LATEST_SCHEMA_VERSION + 1));
    const annotationLess = (workload: Workload) => {
      const { [SCHEMA_VERSION_ANNOTATION]: _version, ...annotations } = workload.spec.template.metadata.annotations;
      return { ...workload, spec: { ...workload.spec, template: { ...workload.spec.template, metadata: { ...workload.spec.template.metadata, annotations } } } };
    };
    expect(annotationLess(next)).toEqual(annotationLess(current));
    // Deterministic: the same version renders the same object.
    expect(collectorOf(render(stack, { schemaVersion: LATEST_SCHEMA_VERSION }).objects)).toEqual(current);
  });
});

describe('the operator decides from the live collector', () => {
  const live = (replicas: number, annotations: Record<string, string> = {}) =>
    ({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'telemetry-collector' }, spec: { replicas, template: { metadata: { annotations } } } }) as KubeObject;

  it('no collector yet: held until the leg has migrated', () => {
    expect(schemaInput(undefined)).toEqual({ schemaVersion: 'pending' });
  });
  it('held (0 replicas, no version): still held', () => {
    expect(schemaInput(live(0))).toEqual({ schemaVersion: 'pending' });
  });
  it('running with a version: keeps it (a ClickHouse outage later never stops the collector)', () => {
    expect(schemaInput(live(1, { [SCHEMA_VERSION_ANNOTATION]: '6' }))).toEqual({ schemaVersion: 6 });
  });
  it('running without a version (an older operator started it): left running, annotated once migrated', () => {
    expect(schemaInput(live(2))).toEqual({});
  });
});

describe('on a real API server', { timeout: 300_000 }, () => {
  const NS = 'startup-order';
  const STACK = 'telemetry';
  const names = stackNames(STACK);
  const collectorPath = resourcePath(STATEFULSETS, NS, names.collector);
  let cluster: TestCluster;
  let admin: HttpKubeClient;
  let clickhouse: Awaited<ReturnType<typeof sharedEmbeddedClickHouse>>;
  let operator: RunningOperator;
  /** While set, the ClickHouse leg fails as a ClickHouse that does not serve yet. */
  let clickhouseDown = true;
  /** A migration a newer operator would bring: it adds a column to the raw logs table. */
  let newer: Migration | undefined;
  const legRuns: string[] = [];

  const leg = (inner: ClickHouseLeg): ClickHouseLeg => ({
    async reconcile(stack, url, credentials) {
      if (clickhouseDown) {
        legRuns.push('refused');
        throw new Error('connect ECONNREFUSED (ClickHouse is starting)');
      }
      const outcome = await inner.reconcile(stack, url, credentials);
      if (!newer) {
        legRuns.push(`migrated ${outcome.schemaVersion}`);
        return outcome;
      }
      await migrate(clickhouse.target, ddlContext(stack), { migrations: [...MIGRATIONS, newer] });
      legRuns.push(`migrated ${newer.version}`);
      return { ...outcome, schemaVersion: newer.version };
    },
    remove: (stack, url, credentials) => inner.remove(stack, url, credentials),
  });

  const collectorPods = async () =>
    (
      await admin.request<{ items: KubeObject[] }>('GET', `/api/v1/namespaces/${NS}/pods`, {
        query: { labelSelector: Object.entries(selectorLabels(STACK, 'collector')).map(([key, value]) => `${key}=${value}`).join(',') },
      })
    ).items;

  const logsColumns = async () =>
    (await clickhouse.target.query<{ name: string }>(`SELECT name FROM system.columns WHERE database = '${ddlContext(stackFrom()).database}' AND table = '${RAW_TABLES.logs}'`)).map((row) => row.name);

  beforeAll(async () => {
    cluster = await startCluster({ controllers: true, kwok: true });
    admin = clientFor(cluster.kubeConfig);
    await applyCrd(admin);
    await createNamespace(admin, NS);
    clickhouse = await sharedEmbeddedClickHouse();
    operator = await startOperator({
      client: clientFor(cluster.kubeConfig),
      log: jsonLogger(() => {}, { level: 'error' }),
      inCluster: false,
      namespaces: [NS],
      clickhouse: leg(sqlClickHouseLeg(clickhouse.connect)),
      clickhouseUrl: 'http://embedded.invalid:8123',
      metricsPort: 0,
      metricsHost: '127.0.0.1',
      resyncMs: 3_600_000,
    });
  }, 240_000);

  afterAll(async () => {
    await operator?.stop();
    await clickhouse?.close();
    await cluster?.stop();
  }, 60_000);

  it('before the schema exists the collector is held at 0 replicas, no pod runs, and status says what it waits for', async () => {
    await applyStack(admin, NS, STACK, {});
    const stack = await eventually('CollectorReady=False WaitingForSchema', async () => {
      const current = await getStack(admin, NS, STACK);
      const ready = current.status?.observedGeneration === current.metadata.generation;
      return ready && condition(current, CONDITION.collector)?.reason === REASON.waitingForSchema && condition(current, CONDITION.clickhouse)?.reason === REASON.clickhouseFailed ? current : undefined;
    }, 120_000);
    expect(legRuns).toContain('refused');
    expect(condition(stack, CONDITION.collector)).toMatchObject({ status: 'False' });
    expect(condition(stack, CONDITION.collector)!.message).toBe('held at 0 replicas until the ClickHouse schema is migrated (its exporter reads the table columns only at start); waiting for ClickHouseReady');
    expect(condition(stack, CONDITION.clickhouse)!.message).toContain('ECONNREFUSED');
    // The summary says both: what is held, and what it waits for.
    expect(condition(stack, 'Ready')).toMatchObject({ status: 'False', reason: REASON.componentsNotReady });
    expect(condition(stack, 'Ready')!.message).toMatch(/CollectorReady: held at 0 replicas .*; ClickHouseReady: .*ECONNREFUSED/);
    expect(condition(stack, 'Progressing')).toMatchObject({ status: 'True' });

    const workload = await admin.request<Workload>('GET', collectorPath);
    expect(workload.spec.replicas).toBe(0);
    expect(workload.spec.template.metadata.annotations).not.toHaveProperty(SCHEMA_VERSION_ANNOTATION);
    // The ClickHouse server is not held: it is what the collector waits for.
    await eventually('the ClickHouse pod', async () => (await admin.request<{ items: unknown[] }>('GET', `/api/v1/namespaces/${NS}/pods`, { query: { labelSelector: 'app.kubernetes.io/name=clickhouse' } })).items.length > 0, 60_000);
    // A few more reconciles (a pod event, a resync) hold it still.
    operator.controller.resync();
    await operator.controller.idle();
    expect((await admin.request<Workload>('GET', collectorPath)).spec.replicas).toBe(0);
    expect(await collectorPods()).toEqual([]);
    expect(await logsColumns()).toEqual([]); // nothing migrated: a collector started now would find no EventName
  });

  it('once the leg has migrated, the collector starts with the schema version on its pods', async () => {
    clickhouseDown = false;
    operator.controller.resync();
    const stack = await waitForReady(admin, NS, STACK, 120_000);
    expect(condition(stack, CONDITION.collector)).toMatchObject({ status: 'True', reason: REASON.available });
    expect(legRuns.at(-1)).toBe(`migrated ${LATEST_SCHEMA_VERSION}`);
    expect(await logsColumns()).toContain('EventName');

    const workload = await admin.request<Workload>('GET', collectorPath);
    expect(workload.spec.replicas).toBe(1);
    expect(workload.spec.template.metadata.annotations[SCHEMA_VERSION_ANNOTATION]).toBe(String(LATEST_SCHEMA_VERSION));
    const pods = await collectorPods();
    expect(pods).toHaveLength(1);
    expect(pods[0]!.metadata.annotations?.[SCHEMA_VERSION_ANNOTATION]).toBe(String(LATEST_SCHEMA_VERSION));
  });

  it('a ClickHouse outage later does not stop the running collector (its queue holds the data)', async () => {
    clickhouseDown = true;
    operator.controller.resync();
    await eventually('ClickHouseReady=False', async () => condition(await getStack(admin, NS, STACK), CONDITION.clickhouse)?.reason === REASON.clickhouseFailed, 60_000);
    await operator.controller.idle();
    const workload = await admin.request<Workload>('GET', collectorPath);
    expect(workload.spec.replicas).toBe(1);
    expect(workload.spec.template.metadata.annotations[SCHEMA_VERSION_ANNOTATION]).toBe(String(LATEST_SCHEMA_VERSION));
    expect(condition(await getStack(admin, NS, STACK), CONDITION.collector)?.status).toBe('True');
    clickhouseDown = false;
  });

  it('a migration that changes the raw tables rolls the collector: new pods carry the new version', async () => {
    const before = (await collectorPods())[0]!;
    newer = {
      version: LATEST_SCHEMA_VERSION + 1,
      name: 'a column a newer exporter writes',
      statements: (ddl) => [`ALTER TABLE ${qualified(ddl, RAW_TABLES.logs)} ADD COLUMN IF NOT EXISTS StartupOrderProbe String DEFAULT ''`],
    };
    operator.controller.resync();
    const rolled = await eventually('a collector pod with the new schema version', async () => {
      const pods = await collectorPods();
      return pods.length === 1 && pods[0]!.metadata.uid !== before.metadata.uid && pods[0]!.metadata.annotations?.[SCHEMA_VERSION_ANNOTATION] === String(newer!.version) ? pods[0] : undefined;
    }, 120_000);
    expect(rolled.metadata.annotations?.[SCHEMA_VERSION_ANNOTATION]).toBe(String(LATEST_SCHEMA_VERSION + 1));
    expect(await logsColumns()).toContain('StartupOrderProbe');
    const stack = await waitForReady(admin, NS, STACK, 120_000);
    expect(condition(stack, CONDITION.collector)).toMatchObject({ status: 'True' });
    expect((await admin.request<Workload>('GET', collectorPath)).spec.template.metadata.annotations[SCHEMA_VERSION_ANNOTATION]).toBe(String(LATEST_SCHEMA_VERSION + 1));
  });
});
