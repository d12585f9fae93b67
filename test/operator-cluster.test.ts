/**
 * The operator against a real control plane (kube-apiserver, etcd, controller-manager,
 * scheduler, kwok): CRD schema and CEL, server-side apply and field ownership, status,
 * pruning, garbage collection, RBAC, leader election, restarts. The ClickHouse leg runs on
 * the embedded engine through the same SqlTarget interface as in the cluster.
 */
import { readFileSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { parseAllDocuments } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CONFIG_HASH_ANNOTATION, INGEST_AUTH_ANNOTATION, INGEST_USERS_ANNOTATION } from '../src/stack/hash.ts';
import { htpasswdDigest } from '../src/stack/secrets.ts';
import { stackNames } from '../src/stack/naming.ts';
import { render } from '../src/charts/render.ts';
import { validateStack } from '../src/api/validate.ts';
import { APPLY_PATCH, FIELD_MANAGER, pathOf, withOwner } from '../src/operator/apply.ts';
import type { TelemetryStack } from '../src/api/resource.ts';
import { convergedAccessState, EMPTY_ACCESS_STATE, planAccess } from '../src/clickhouse/access.ts';
import { ddlContext } from '../src/clickhouse/reconcile.ts';
import { TTL_TABLES } from '../src/clickhouse/retention.ts';
import { LATEST_SCHEMA_VERSION } from '../src/clickhouse/migrate.ts';
import { GRAFANA_USER } from '../src/clickhouse/tables.ts';
import type { ClickHouseCredentials, ClickHouseLeg } from '../src/operator/clickhouse-leg.ts';
import { accessCredentials, sqlClickHouseLeg } from '../src/operator/clickhouse-sql.ts';
import { FINALIZER } from '../src/operator/reconcile.ts';
import { REFERENCEABLE_LABEL } from '../src/api/constants.ts';
import { ownerReference } from '../src/operator/credentials.ts';
import { HttpKubeClient, KubeApiError, MUTATING, type KubeObject } from '../src/kube/client.ts';
import { jsonLogger } from '../src/operator/log.ts';
import { startOperator, type RunningOperator } from '../src/operator/operator.ts';
import { OPERATOR_NAMESPACE, operatorInstallObjects } from '../src/charts/install/install-chart.ts';
import { resourcePath, STACKS } from '../src/operator/resources.ts';
import { eventually, impersonateServiceAccount, impersonateUser, startCluster, type TestCluster } from '../harness/cluster.ts';
import {
  apply,
  applyCrd,
  applyStack,
  type ChildOperator,
  clientFor,
  condition,
  createNamespace,
  eventsWithReason,
  getStack,
  objectExists,
  ownedObjects,
  sharedEmbeddedClickHouse,
  startChildOperator,
  stackObject,
  waitForReady,
} from '../harness/operator.ts';

const TEAM = 'team-a';
const STACK = 'telemetry';
const EMBEDDED_URL = 'http://embedded.invalid:8123';

let cluster: TestCluster;
let admin: HttpKubeClient;
let clickhouse: Awaited<ReturnType<typeof sharedEmbeddedClickHouse>>;
let operator: RunningOperator;
let operatorClient: HttpKubeClient;
let logs = '';
const children: ChildOperator[] = [];
/** Stacks whose external ClickHouse users the operator removed (the embedded engine has no users to look at). */
const removedFrom: string[] = [];

/** What the last ClickHouse leg of each stack was handed (the embedded engine has no access control to inspect). */
const lastLeg = new Map<string, { stack: TelemetryStack; credentials: ClickHouseCredentials }>();

/**
 * Events without repeats. A retry can read a cached stack from before its own status write and
 * record the same event again; that is harmless, a missing or different event is not.
 */
function distinct(events: [string, string][]): [string, string][] {
  return [...new Map(events.map((event) => [JSON.stringify(event), event])).values()];
}

/** Waits for the in-process operator's /metrics to count a reconcile error with this reason. */
async function errorCounted(reason: string): Promise<void> {
  const line = new RegExp(`^telemetrystack_reconcile_errors_total\\{reason="${reason}"\\} [1-9]`, 'm');
  await eventually(`a ${reason} error in /metrics`, async () => line.test(await (await fetch(`http://127.0.0.1:${operator.port}/metrics`, { signal: AbortSignal.timeout(5_000) })).text()), 10_000);
}

function recordingLeg(leg: ClickHouseLeg): ClickHouseLeg {
  return {
    reconcile(stack, url, credentials) {
      lastLeg.set(`${stack.metadata.namespace}/${stack.metadata.name}`, { stack, credentials });
      return leg.reconcile(stack, url, credentials);
    },
    async remove(stack, url, credentials) {
      await leg.remove(stack, url, credentials);
      removedFrom.push(`${stack.metadata.namespace}/${stack.metadata.name}@${url}`);
    },
  };
}

beforeAll(async () => {
  cluster = await startCluster({ controllers: true, kwok: true });
  admin = clientFor(cluster.kubeConfig);
  await applyCrd(admin);
  for (const namespace of [TEAM, 'team-b', 'team-c', 'team-d', 'team-e', 'ops']) await createNamespace(admin, namespace);
  clickhouse = await sharedEmbeddedClickHouse();
  operatorClient = clientFor(cluster.kubeConfig);
  operatorClient.recordRequests = true;
  operator = await startOperator({
    client: operatorClient,
    log: jsonLogger((line) => (logs += line), { level: 'debug' }),
    inCluster: false,
    namespaces: [TEAM],
    clickhouse: recordingLeg(sqlClickHouseLeg(clickhouse.connect)),
    clickhouseUrl: EMBEDDED_URL,
    metricsPort: 0,
    metricsHost: '127.0.0.1',
    resyncMs: 3_600_000,
  });
}, 240_000);

afterAll(async () => {
  await Promise.all(children.map((child) => child.stop('SIGKILL')));
  await operator?.stop();
  await clickhouse?.close();
  await cluster?.stop();
}, 60_000);

describe('a {} stack', { timeout: 180_000 }, () => {
  it('converges to Ready with every object owned by the stack', async () => {
    const started = Date.now();
    await applyStack(admin, TEAM, STACK, {});
    const stack = await waitForReady(admin, TEAM, STACK, 120_000);
    console.log(`[operator] {} stack Ready in ${Date.now() - started} ms`);

    const expected = validateStack(stackObject(TEAM, STACK));
    if (!expected.ok) throw new Error('fixture invalid');
    const rendered = render(expected.stack).objects.map((object) => `${object.kind}/${object.metadata.name}`);
    const names = stackNames(STACK);
    const secrets = [names.clickhouseAdminSecret, names.clickhouseIngestSecret, names.sanitizerKeySecret, names.ingestAuthSecret, names.userSecret('owner')].map((name) => `Secret/${name}`);
    const owned = await ownedObjects(admin, TEAM, STACK);
    expect([...owned.keys()].sort()).toEqual([...rendered, ...secrets].sort());
    for (const object of owned.values()) {
      expect(object.metadata.ownerReferences).toEqual([
        { apiVersion: STACKS.apiVersion, kind: 'TelemetryStack', name: STACK, uid: stack.metadata.uid, controller: true, blockOwnerDeletion: true },
      ]);
    }

    expect(stack.status).toMatchObject({
      observedGeneration: stack.metadata.generation,
      users: 1,
      appliedRetention: { eventsDays: 90, metricsDays: 90, rollupsDays: 730 },
      endpoints: { otlpGrpc: `${names.collector}.${TEAM}.svc:4317`, clickhouseHttp: `http://${names.clickhouse}.${TEAM}.svc:8123` },
    });
    for (const type of ['Ready', 'CollectorReady', 'ClickHouseReady', 'AccessReady']) expect(condition(stack, type)?.status).toBe('True');
    expect(condition(stack, 'Progressing')?.status).toBe('False');
    expect(condition(stack, 'Degraded')?.status).toBe('False');

    // The embedded engine really has the schema the leg created.
    const tables = await clickhouse.target.query<{ name: string }>("SELECT name FROM system.tables WHERE database = 'claude_code'");
    expect(tables.map((table) => table.name)).toContain('otel_logs');
  });

  it('a steady-state resync sends no write and changes no resourceVersion', async () => {
    await operator.controller.idle();
    const before = await ownedObjects(admin, TEAM, STACK);
    const stackBefore = await getStack(admin, TEAM, STACK);
    operatorClient.log.length = 0;
    const reconciled = operator.metrics.reconcileCount('success');
    expect(operator.controller.resync()).toBe(1);
    await operator.controller.idle();
    const writes = operatorClient.log.filter((request) => MUTATING.has(request.method));
    expect(writes).toEqual([]);
    // It did reconcile, reading the stack and its objects from the watch caches: no request at all.
    expect(operator.metrics.reconcileCount('success')).toBeGreaterThan(reconciled);
    expect(operatorClient.log).toEqual([]);
    const after = await ownedObjects(admin, TEAM, STACK);
    for (const [key, object] of before) expect(after.get(key)?.metadata.resourceVersion, key).toBe(object.metadata.resourceVersion);
    expect((await getStack(admin, TEAM, STACK)).metadata.resourceVersion).toBe(stackBefore.metadata.resourceVersion);
  });

  it('the API server persists nothing for an identical server-side apply (no managedFields noise)', async () => {
    const stack = await getStack(admin, TEAM, STACK);
    const validated = validateStack({ ...stack, status: undefined });
    if (!validated.ok) throw new Error('stack invalid');
    // The operator renders with the htpasswd digest; an apply without it would drop the annotation.
    const htpasswd = await admin.request<KubeObject>('GET', resourcePath({ apiVersion: 'v1', kind: 'Secret', plural: 'secrets' }, TEAM, stackNames(STACK).ingestAuthSecret));
    const digest = htpasswdDigest(Buffer.from((htpasswd.data as Record<string, string>).htpasswd!, 'base64').toString('utf8'));
    // ... and, once the schema is migrated, with its version (the collector's pods roll when it changes).
    const statefulSet = render(validated.stack, { ingestAuthDigest: digest, schemaVersion: LATEST_SCHEMA_VERSION }).objects.find((object) => object.kind === 'StatefulSet')!;
    const desired = withOwner(statefulSet as KubeObject, ownerReference(stack));
    const before = await admin.request<KubeObject>('GET', pathOf(desired));
    const after = await admin.request<KubeObject>('PATCH', pathOf(desired), { body: desired, contentType: APPLY_PATCH, query: { fieldManager: FIELD_MANAGER, force: true } });
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(after.metadata.managedFields).toEqual(before.metadata.managedFields);
  });

  it('serves metrics, health and readiness', async () => {
    await operator.controller.idle();
    const base = `http://127.0.0.1:${operator.port}`;
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    expect((await fetch(`${base}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${base}/metrics`)).text();
    expect(metrics).toMatch(/^telemetrystack_reconcile_total\{result="success"\} [1-9]/m);
    expect(metrics).toMatch(/^telemetrystack_reconcile_duration_seconds_count [1-9]/m);
    expect(metrics).toMatch(/^telemetrystack_queue_depth 0$/m);
    expect(metrics).toContain('# TYPE telemetrystack_reconcile_errors_total counter');
    expect(metrics).toMatch(/^process_resident_memory_bytes [1-9]\d+$/m);
  });
});

describe('edits', { timeout: 180_000 }, () => {
  const names = stackNames(STACK);
  const collectorPath = resourcePath({ apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' }, TEAM, names.collector);
  const configPath = resourcePath({ apiVersion: 'v1', kind: 'ConfigMap', plural: 'configmaps' }, TEAM, names.collectorConfig);
  const templateHash = (statefulSet: KubeObject) =>
    (statefulSet.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations[CONFIG_HASH_ANNOTATION];

  it('a sanitizer edit changes the collector ConfigMap and the pod template hash', async () => {
    const configBefore = await admin.request<KubeObject>('GET', configPath);
    const collectorBefore = await admin.request<KubeObject>('GET', collectorPath);
    await applyStack(admin, TEAM, STACK, { sanitizer: { rules: [{ name: 'ticket-id', pattern: 'TICKET-[0-9]{4,}' }] } });
    const collectorAfter = await eventually('the collector pod template to roll', async () => {
      const current = await admin.request<KubeObject>('GET', collectorPath);
      return templateHash(current) !== templateHash(collectorBefore) ? current : undefined;
    });
    const configAfter = await admin.request<KubeObject>('GET', configPath);
    expect(JSON.stringify(configAfter.data)).toContain('TICKET-');
    expect(configAfter.data).not.toEqual(configBefore.data);
    expect(templateHash(collectorAfter)).toMatch(/^[0-9a-f]{64}$/);
    await waitForReady(admin, TEAM, STACK);
  });

  it('a shorter retention waits for its confirmation, then reaches ClickHouse and status, and does not roll the collector', async () => {
    await operator.controller.idle();
    const collectorBefore = await admin.request<KubeObject>('GET', collectorPath);
    const configBefore = await admin.request<KubeObject>('GET', configPath);
    await applyStack(admin, TEAM, STACK, { sanitizer: { rules: [{ name: 'ticket-id', pattern: 'TICKET-[0-9]{4,}' }] }, retention: { eventsDays: 30 } });
    // 90 -> 30 days deletes data for good: withheld, with the command that confirms it.
    const waiting = await eventually('ClickHouseReady=False RetentionShorteningUnconfirmed', async () => {
      const current = await getStack(admin, TEAM, STACK);
      return condition(current, 'ClickHouseReady')?.reason === 'RetentionShorteningUnconfirmed' && current.status?.observedGeneration === current.metadata.generation ? current : undefined;
    });
    const message = condition(waiting, 'ClickHouseReady')!.message;
    expect(message).toBe(
      // Every table whose TTL the events retention sets, in the data layer's order (the raw logs table first).
      `retention.eventsDays 90 -> 30 days (${TTL_TABLES.filter((entry) => entry.signal === 'eventsDays').map((entry) => entry.table).join(', ')}) would delete the rows older than the new limit at ClickHouse's next merge, for good; it is not applied. ` +
        `To go ahead: kubectl annotate telemetrystack ${STACK} -n ${TEAM} telemetrystack.io/shorten-retention=eventsDays=30 --overwrite`,
    );
    expect(waiting.status?.appliedRetention?.eventsDays).toBe(90);
    expect(condition(waiting, 'Ready')).toMatchObject({ status: 'False', reason: 'ComponentsNotReady' });
    expect(condition(waiting, 'Degraded')?.status).toBe('False');
    // The operator records the event before it writes the condition, so it is there already.
    expect(distinct(await eventsWithReason(admin, TEAM, 'RetentionShorteningUnconfirmed', STACK))).toEqual([['Warning', message]]);

    // What the message says to run (kubectl annotate is a merge patch of metadata.annotations).
    await admin.request('PATCH', resourcePath(STACKS, TEAM, STACK), {
      body: { metadata: { annotations: { 'telemetrystack.io/shorten-retention': 'eventsDays=30' } } },
      contentType: 'application/merge-patch+json',
    });
    const stack = await eventually('appliedRetention to show 30 days', async () => {
      const current = await getStack(admin, TEAM, STACK);
      return current.status?.appliedRetention?.eventsDays === 30 && current.status.observedGeneration === current.metadata.generation ? current : undefined;
    });
    expect(condition(stack, 'Ready')?.status).toBe('True');
    const collectorAfter = await admin.request<KubeObject>('GET', collectorPath);
    expect(collectorAfter.metadata.generation).toBe(collectorBefore.metadata.generation);
    expect(templateHash(collectorAfter)).toBe(templateHash(collectorBefore));
    expect((await admin.request<KubeObject>('GET', configPath)).metadata.resourceVersion).toBe(configBefore.metadata.resourceVersion);
  });

  it('a bad RE2 pattern the schema cannot catch sets Ready=False with a Warning event and leaves the objects alone', async () => {
    await operator.controller.idle();
    const before = await ownedObjects(admin, TEAM, STACK);
    const readyBefore = condition(await getStack(admin, TEAM, STACK), 'Ready')!;
    await applyStack(admin, TEAM, STACK, { sanitizer: { rules: [{ name: 'lookahead', pattern: 'secret(?=[0-9])' }] }, retention: { eventsDays: 30 } });
    const stack = await eventually('Ready=False InvalidSpec', async () => {
      const current = await getStack(admin, TEAM, STACK);
      return condition(current, 'Ready')?.reason === 'InvalidSpec' && current.status?.observedGeneration === current.metadata.generation ? current : undefined;
    });
    const ready = condition(stack, 'Ready')!;
    expect(ready.status).toBe('False');
    expect(ready.message).toContain('spec.sanitizer.rules[0].pattern');
    expect(ready.lastTransitionTime >= readyBefore.lastTransitionTime).toBe(true);
    expect(condition(stack, 'Degraded')?.status).toBe('True');
    // Recorded before the condition was written, so no waiting.
    const events = distinct(await eventsWithReason(admin, TEAM, 'InvalidSpec', STACK));
    expect(events.map(([type]) => type)).toEqual(['Warning']);
    expect(events[0]![1]).toContain('RE2');
    await operator.controller.idle();
    const after = await ownedObjects(admin, TEAM, STACK);
    expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
    for (const [key, object] of before) expect(after.get(key)?.metadata.resourceVersion, key).toBe(object.metadata.resourceVersion);
    // Fixing the spec brings it back.
    await applyStack(admin, TEAM, STACK, { retention: { eventsDays: 30 } });
    await waitForReady(admin, TEAM, STACK);
  });

  it('an invalid stack is rejected by the API server with the field path (schema and CEL)', async () => {
    const rejected = async (spec: Record<string, unknown>) => {
      try {
        await applyStack(admin, TEAM, 'invalid', spec);
      } catch (error) {
        expect(error).toBeInstanceOf(KubeApiError);
        expect((error as KubeApiError).status).toBe(422);
        return (error as KubeApiError).message;
      }
      throw new Error(`the API server accepted ${JSON.stringify(spec)}`);
    };
    expect(await rejected({ retention: { eventsDays: 0 } })).toMatch(/spec\.retention\.eventsDays/);
    expect(await rejected({ level: 'everything' })).toMatch(/spec\.level/);
    expect(await rejected({ retention: { eventsDays: 400, rollupsDays: 100 } })).toMatch(/spec\.retention\.rollupsDays.*rollupsDays must be at least eventsDays/s);
    expect(await rejected({ access: { users: [] } })).toMatch(/spec\.access\.users.*nobody could send telemetry/s);
    expect(await rejected({ clickhouse: { mode: 'external' } })).toMatch(/spec\.clickhouse\.external/);
    expect(await rejected({ collector: { service: { type: 'NodePort' } }, clickhouse: { service: { type: 'NodePort', nodePort: 30317 } } })).toMatch(/clickhouse\.service\.nodePort must differ from the collector's node ports/);
    // Security issue 11: a queue volume too small for its byte budget; plain-text upstream without opting in.
    expect(await rejected({ collector: { persistentQueue: { size: '64Mi' } } })).toMatch(/spec\.collector\.persistentQueue\.size.*at least 66Mi/s);
    expect(await rejected({ upstream: { endpoint: 'central.example.internal:4317' }, collector: { persistentQueue: { size: '100Mi' } } })).toMatch(/109Mi with upstream/);
    expect(await rejected({ upstream: { endpoint: 'http://central.example.internal:4318', protocol: 'http' } })).toMatch(/spec\.upstream\.endpoint.*plain text/s);
    expect(await rejected({ upstream: { endpoint: 'https://central.example.internal:4317', insecure: true } })).toMatch(/spec\.upstream\.insecure/);
    expect(await rejected({ upstream: { endpoint: 'https://central.example.internal:4317/otlp' } })).toMatch(/without a path when protocol is grpc/);
    expect(await rejected({ upstream: { endpoint: 'central.example.internal:4318', protocol: 'http' } })).toMatch(/spec\.upstream\.endpoint.*URL with its scheme when protocol is http/s);
    // ...while an https:// gRPC endpoint, which the old path rule refused, passes schema and CEL (a dry run stores nothing).
    const https = { apiVersion: STACKS.apiVersion, kind: STACKS.kind, metadata: { name: 'https-grpc', namespace: TEAM }, spec: { upstream: { endpoint: 'https://central.example.internal:4317' } } };
    await admin.request('POST', resourcePath(STACKS, TEAM), { query: { dryRun: 'All' }, body: https });
    expect(await objectExists(admin, resourcePath(STACKS, TEAM, 'invalid'))).toBe(false);
  });

  it('a user with a Kubernetes subject can read their own credentials and nobody else\'s', async () => {
    await applyStack(admin, TEAM, STACK, {
      retention: { eventsDays: 30 },
      access: { users: [{ name: 'owner', role: 'admin' }, { name: 'alice', subject: { kind: 'User', name: 'alice@example.com' } }] },
    });
    const stack = await waitForReady(admin, TEAM, STACK);
    expect(stack.status?.users).toBe(2);
    const alice = clientFor(impersonateUser(cluster.kubeConfig, 'alice@example.com'));
    const secretPath = (name: string) => resourcePath({ apiVersion: 'v1', kind: 'Secret', plural: 'secrets' }, TEAM, name);
    const own = await alice.request<KubeObject>('GET', secretPath(names.userSecret('alice')));
    expect(Buffer.from((own.data as Record<string, string>).username!, 'base64').toString()).toBe('alice');
    await expect(alice.request('GET', secretPath(names.userSecret('owner')))).rejects.toMatchObject({ status: 403 });
    await expect(alice.request('GET', secretPath(names.clickhouseAdminSecret))).rejects.toMatchObject({ status: 403 });
    await expect(alice.request('GET', resourcePath({ apiVersion: 'v1', kind: 'Secret', plural: 'secrets' }, TEAM))).rejects.toMatchObject({ status: 403 });
    // The htpasswd file has a line per user.
    const htpasswd = await admin.request<KubeObject>('GET', secretPath(names.ingestAuthSecret));
    const lines = Buffer.from((htpasswd.data as Record<string, string>).htpasswd!, 'base64').toString().trim().split('\n');
    expect(lines.map((line) => line.split(':')[0])).toEqual(['owner', 'alice']);
  });

  it('adding a user, or rotating a password, rolls the collector (basicauth reads htpasswd only at start) with no secret in the pod template', async () => {
    await operator.controller.idle();
    const annotations = (statefulSet: KubeObject) => (statefulSet.spec as { template: { metadata: { annotations: Record<string, string> } } }).template.metadata.annotations;
    const secretPath = (name: string) => resourcePath({ apiVersion: 'v1', kind: 'Secret', plural: 'secrets' }, TEAM, name);
    const htpasswdContent = async () => Buffer.from(((await admin.request<KubeObject>('GET', secretPath(names.ingestAuthSecret))).data as Record<string, string>).htpasswd!, 'base64').toString('utf8');
    const before = annotations(await admin.request<KubeObject>('GET', collectorPath));
    expect(before[INGEST_AUTH_ANNOTATION]).toBe(htpasswdDigest(await htpasswdContent()));
    const users = [{ name: 'owner', role: 'admin' }, { name: 'alice', subject: { kind: 'User', name: 'alice@example.com' } }];

    await applyStack(admin, TEAM, STACK, { retention: { eventsDays: 30 }, access: { users: [...users, { name: 'bob' }] } });
    const added = await eventually('the collector pod template to roll for bob', async () => {
      const current = annotations(await admin.request<KubeObject>('GET', collectorPath));
      return current[INGEST_USERS_ANNOTATION] !== before[INGEST_USERS_ANNOTATION] && current[INGEST_AUTH_ANNOTATION] !== before[INGEST_AUTH_ANNOTATION] ? current : undefined;
    });
    expect((await htpasswdContent()).split('\n')[2]).toMatch(/^bob:\{SHA\}/);
    expect(added[INGEST_AUTH_ANNOTATION]).toBe(htpasswdDigest(await htpasswdContent()));
    expect(added[CONFIG_HASH_ANNOTATION]).toBe(before[CONFIG_HASH_ANNOTATION]); // the config did not change; the credentials did
    await waitForReady(admin, TEAM, STACK);

    // No secret value (password, its hashes, the htpasswd line) reaches the workload object.
    const bobSecret = (await admin.request<KubeObject>('GET', secretPath(names.userSecret('bob')))).data as Record<string, string>;
    const workload = JSON.stringify(await admin.request<KubeObject>('GET', collectorPath));
    for (const value of [...Object.values(bobSecret).map((encoded) => Buffer.from(encoded, 'base64').toString('utf8')), ...(await htpasswdContent()).trim().split('\n')]) {
      if (value !== 'bob') expect(workload).not.toContain(value);
    }

    // Rotation: deleting bob's Secret makes the operator generate a new password; same users, new htpasswd.
    await admin.request('DELETE', secretPath(names.userSecret('bob')));
    const rotated = await eventually('the collector pod template to roll for the new password', async () => {
      const current = annotations(await admin.request<KubeObject>('GET', collectorPath));
      return current[INGEST_AUTH_ANNOTATION] !== added[INGEST_AUTH_ANNOTATION] ? current : undefined;
    });
    expect(rotated[INGEST_USERS_ANNOTATION]).toBe(added[INGEST_USERS_ANNOTATION]);
    expect(rotated[INGEST_AUTH_ANNOTATION]).toBe(htpasswdDigest(await htpasswdContent()));
    await waitForReady(admin, TEAM, STACK);
  });

  it('removing a user prunes their Secret, Role and RoleBinding', async () => {
    await applyStack(admin, TEAM, STACK, { retention: { eventsDays: 30 } });
    await eventually('alice\'s objects to be pruned', async () => {
      const owned = await ownedObjects(admin, TEAM, STACK);
      return ![...owned.keys()].some((key) => key.includes('alice'));
    });
    await waitForReady(admin, TEAM, STACK);
  });

  it('raising clickhouse.storage.size grows the claim and recreates the StatefulSet around its running pod', async () => {
    const names = stackNames(STACK);
    const statefulSetPath = `/apis/apps/v1/namespaces/${TEAM}/statefulsets/${names.clickhouse}`;
    const podPath = `/api/v1/namespaces/${TEAM}/pods/${names.clickhouse}-0`;
    const claimPath = `/api/v1/namespaces/${TEAM}/persistentvolumeclaims/${names.clickhouseDataClaim}-${names.clickhouse}-0`;
    const before = await admin.request<KubeObject>('GET', statefulSetPath);
    const pod = await eventually('the ClickHouse pod', () => admin.request<KubeObject>('GET', podPath));
    await eventually('the claim to be Bound', async () => (await admin.request<KubeObject & { status?: { phase?: string } }>('GET', claimPath)).status?.phase === 'Bound');

    await applyStack(admin, TEAM, STACK, { retention: { eventsDays: 30 }, clickhouse: { storage: { size: '40Gi' } } });
    await waitForReady(admin, TEAM, STACK);
    const after = await admin.request<KubeObject & { spec: { volumeClaimTemplates: { spec: { resources: { requests: { storage: string } } } }[] } }>('GET', statefulSetPath);
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
    expect(after.spec.volumeClaimTemplates[0]!.spec.resources.requests.storage).toBe('40Gi');
    const claim = await admin.request<KubeObject & { spec: { resources: { requests: { storage: string } } } }>('GET', claimPath);
    expect(claim.spec.resources.requests.storage).toBe('40Gi');
    // The pod was never restarted: the new StatefulSet adopted it.
    const adopted = await eventually('the pod to be adopted by the new StatefulSet', async () => {
      const current = await admin.request<KubeObject>('GET', podPath);
      return current.metadata.ownerReferences?.some((reference) => reference.controller && reference.uid === after.metadata.uid) ? current : undefined;
    });
    expect(adopted.metadata.uid).toBe(pod.metadata.uid);
    expect(await eventsWithReason(admin, TEAM, 'StorageResized', STACK)).toEqual([
      ['Normal', `grew spec.clickhouse.storage.size from 20Gi to 40Gi (${TEAM}/${names.clickhouseDataClaim}-${names.clickhouse}-0); StatefulSet ${names.clickhouse} was recreated, its pods kept`],
    ]);
    // A steady state afterwards: a second reconcile neither deletes nor recreates.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect((await admin.request<KubeObject>('GET', statefulSetPath)).metadata.uid).toBe(after.metadata.uid);
  });

  it('raising collector.persistentQueue.size grows each replica\'s queue claim the same way', async () => {
    const name = 'queues';
    const names = stackNames(name);
    const statefulSetPath = `/apis/apps/v1/namespaces/${TEAM}/statefulsets/${names.collector}`;
    const claimPath = (ordinal: number) => `/api/v1/namespaces/${TEAM}/persistentvolumeclaims/${names.collectorQueueClaim}-${names.collector}-${ordinal}`;
    await applyStack(admin, TEAM, name, { collector: { replicas: 2 } });
    await waitForReady(admin, TEAM, name);
    for (const ordinal of [0, 1]) await eventually(`queue claim ${ordinal} to be Bound`, async () => (await admin.request<KubeObject & { status?: { phase?: string } }>('GET', claimPath(ordinal))).status?.phase === 'Bound');
    const before = await admin.request<KubeObject>('GET', statefulSetPath);
    const queueBytes = async () => {
      const configMap = await admin.request<KubeObject & { data: Record<string, string> }>('GET', `/api/v1/namespaces/${TEAM}/configmaps/${names.collectorConfig}`);
      return Object.values(configMap.data).join('\n').match(/queue_size: (\d+)/)?.[1];
    };
    const bytesBefore = await queueBytes();
    await applyStack(admin, TEAM, name, { collector: { replicas: 2, persistentQueue: { size: '3Gi' } } });
    await waitForReady(admin, TEAM, name);
    const after = await admin.request<KubeObject>('GET', statefulSetPath);
    expect(after.metadata.uid).not.toBe(before.metadata.uid);
    // The queue is sized in bytes from its volume (security review #4): a larger volume is a larger
    // queue, so the collector's configuration changes with the claims and its pods roll onto it.
    expect(Number(await queueBytes())).toBeGreaterThan(Number(bytesBefore));
    for (const ordinal of [0, 1]) {
      expect((await admin.request<KubeObject & { spec: { resources: { requests: { storage: string } } } }>('GET', claimPath(ordinal))).spec.resources.requests.storage).toBe('3Gi');
      await eventually(`collector pod ${ordinal} owned by the new StatefulSet`, async () => {
        const current = await admin.request<KubeObject>('GET', `/api/v1/namespaces/${TEAM}/pods/${names.collector}-${ordinal}`);
        return current.metadata.ownerReferences?.some((reference) => reference.controller && reference.uid === after.metadata.uid) ? current : undefined;
      });
    }
    await admin.request('DELETE', resourcePath(STACKS, TEAM, name));
  });

  it('shrinking the storage is refused in status and an event, and leaves every object as it was', async () => {
    const statefulSetPath = `/apis/apps/v1/namespaces/${TEAM}/statefulsets/${stackNames(STACK).clickhouse}`;
    const before = await admin.request<KubeObject>('GET', statefulSetPath);
    const ownedBefore = await ownedObjects(admin, TEAM, STACK);
    // A sanitizer edit in the same change is held back too: the edit is applied whole or not at all.
    await applyStack(admin, TEAM, STACK, { retention: { eventsDays: 30 }, clickhouse: { storage: { size: '10Gi' } }, sanitizer: { disabledPresets: ['email-addresses'] } });
    const stack = await eventually('Ready=False StorageShrinkRefused', async () => {
      const current = await getStack(admin, TEAM, STACK);
      return condition(current, 'Ready')?.reason === 'StorageShrinkRefused' ? current : undefined;
    });
    expect(condition(stack, 'Ready')!.message).toBe('spec.clickhouse.storage.size: a volume cannot shrink (from 40Gi to 10Gi); set it back to 40Gi or more. The running stack is left as it was');
    // The tests' own wait gives up at once on a stack only a person can fix, as `up` does.
    const waitStarted = Date.now();
    await expect(waitForReady(admin, TEAM, STACK)).rejects.toThrow(/^gave up waiting for team-a\/telemetry to be Ready: it will not become Ready without a person: Ready StorageShrinkRefused: spec\.clickhouse\.storage\.size: a volume cannot shrink/);
    expect(Date.now() - waitStarted).toBeLessThan(10_000);
    expect(condition(stack, 'Degraded')).toMatchObject({ status: 'True', reason: 'StorageShrinkRefused' });
    const ownedAfter = await ownedObjects(admin, TEAM, STACK);
    // Workloads by generation (controllers write their status), everything else by resourceVersion.
    const fingerprint = (owned: Map<string, KubeObject>) => [...owned].map(([key, object]) => [key, object.metadata.uid, object.metadata.generation ?? object.metadata.resourceVersion]);
    expect(fingerprint(ownedAfter)).toEqual(fingerprint(ownedBefore));
    expect((await admin.request<KubeObject>('GET', statefulSetPath)).metadata.uid).toBe(before.metadata.uid);
    expect(distinct(await eventsWithReason(admin, TEAM, 'StorageShrinkRefused', STACK)).map(([type]) => type)).toEqual(['Warning']);
    // The error is counted when the reconcile returns, just after it wrote the condition.
    await errorCounted('StorageShrinkRefused');
    await applyStack(admin, TEAM, STACK, { retention: { eventsDays: 30 }, clickhouse: { storage: { size: '40Gi' } } });
    await waitForReady(admin, TEAM, STACK);
  });

  it('a claim whose StorageClass cannot expand is named in status with the fix, and nothing is recreated', async () => {
    const name = 'fixed';
    const names = stackNames(name);
    const statefulSetPath = `/apis/apps/v1/namespaces/${TEAM}/statefulsets/${names.clickhouse}`;
    await applyStack(admin, TEAM, name, { clickhouse: { storage: { size: '5Gi', storageClassName: 'kwok-fixed-volume' } } });
    await waitForReady(admin, TEAM, name);
    const claimName = `${names.clickhouseDataClaim}-${names.clickhouse}-0`;
    await eventually('the claim to be Bound', async () => (await admin.request<KubeObject & { status?: { phase?: string } }>('GET', `/api/v1/namespaces/${TEAM}/persistentvolumeclaims/${claimName}`)).status?.phase === 'Bound');
    const before = await admin.request<KubeObject>('GET', statefulSetPath);
    await applyStack(admin, TEAM, name, { clickhouse: { storage: { size: '8Gi', storageClassName: 'kwok-fixed-volume' } } });
    const stack = await eventually('Ready=False StorageResizeFailed', async () => {
      const current = await getStack(admin, TEAM, name);
      return condition(current, 'Ready')?.reason === 'StorageResizeFailed' ? current : undefined;
    });
    const message = condition(stack, 'Ready')!.message;
    console.log(`[operator] resize refused: ${message}`);
    expect(message).toMatch(new RegExp(`^spec\\.clickhouse\\.storage\\.size: cannot grow claim ${TEAM}/${claimName} from 5Gi to 8Gi: .*forbidden.*\\. The claim must be Bound and its StorageClass "kwok-fixed-volume" must set allowVolumeExpansion: true; or set the size back to 5Gi\\. The running stack is left as it was$`, 'i'));
    expect((await admin.request<KubeObject>('GET', statefulSetPath)).metadata.uid).toBe(before.metadata.uid);
    await admin.request('DELETE', resourcePath(STACKS, TEAM, name));
  });

  it('an edit the API server refuses (a node port already taken) is reported as ApplyFailed, and undoing it recovers', async () => {
    const blocker = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'holds-30317', namespace: TEAM }, spec: { type: 'NodePort', selector: { app: 'none' }, ports: [{ port: 4317, nodePort: 30317 }] } };
    await apply(admin, blocker, `/api/v1/namespaces/${TEAM}/services/holds-30317`);
    try {
      await applyStack(admin, TEAM, STACK, { retention: { eventsDays: 30 }, clickhouse: { storage: { size: '40Gi' } }, collector: { service: { type: 'NodePort' } } });
      const stack = await eventually('Ready=False ApplyFailed', async () => {
        const current = await getStack(admin, TEAM, STACK);
        return condition(current, 'Ready')?.reason === 'ApplyFailed' ? current : undefined;
      });
      expect(condition(stack, 'Ready')!.message).toMatch(/30317.*already allocated/);
      expect(condition(stack, 'Degraded')).toMatchObject({ status: 'True', reason: 'ApplyFailed' });
      expect(distinct(await eventsWithReason(admin, TEAM, 'ApplyFailed', STACK))).toEqual([['Warning', condition(stack, 'Ready')!.message]]);
      // The error is counted when the reconcile returns, just after it wrote the condition.
      await errorCounted('ApplyFailed');
      await applyStack(admin, TEAM, STACK, { retention: { eventsDays: 30 }, clickhouse: { storage: { size: '40Gi' } } });
      await waitForReady(admin, TEAM, STACK);
    } finally {
      await admin.request('DELETE', `/api/v1/namespaces/${TEAM}/services/holds-30317`);
    }
  });

  it('deleting the stack garbage-collects everything it owned', async () => {
    await admin.request('DELETE', resourcePath(STACKS, TEAM, STACK));
    await eventually(
      'owned objects to be garbage-collected',
      async () => (await ownedObjects(admin, TEAM, STACK)).size === 0,
      90_000,
      500,
    );
    expect(await objectExists(admin, resourcePath(STACKS, TEAM, STACK))).toBe(false);
    expect(logs).not.toMatch(/"password"\s*:\s*"[^[]/);
  });
});

describe('Grafana', { timeout: 180_000 }, () => {
  it('enabled: Ready, and the operator hands the access plan grafana_reader with the hash from <stack>-grafana; disabled: the plan drops it', async () => {
    const name = 'dashboards';
    const key = `${TEAM}/${name}`;
    const users = { users: [{ name: 'owner', role: 'admin' }] };
    // Grafana is a Deployment, and so is the collector without its persistent queue: both must be owned kinds.
    const spec = (grafana: boolean) => ({ access: users, grafana: { enabled: grafana }, collector: { persistentQueue: { enabled: false } } });
    await applyStack(admin, TEAM, name, spec(true));
    await waitForReady(admin, TEAM, name);
    const owned = await ownedObjects(admin, TEAM, name);
    expect(owned.has(`Deployment/${stackNames(name).collector}`)).toBe(true);
    expect([...owned.keys()].filter((key) => key.startsWith('Deployment/')).length).toBe(2);
    const secret = await admin.request<KubeObject>('GET', resourcePath({ apiVersion: 'v1', kind: 'Secret', plural: 'secrets' }, TEAM, stackNames(name).grafanaSecret));
    const grafanaHash = Buffer.from((secret.data as Record<string, string>).password_sha256_hex!, 'base64').toString('utf8');
    expect(grafanaHash).toMatch(/^[0-9a-f]{64}$/);

    const enabled = lastLeg.get(key)!;
    expect(enabled.credentials.grafana?.username).toBe(GRAFANA_USER);
    const enabledCredentials = accessCredentials(enabled.credentials);
    expect(enabledCredentials.users[GRAFANA_USER]).toEqual({ passwordSha256: grafanaHash });
    const context = ddlContext(enabled.stack);
    const planned = planAccess(context, enabled.stack, enabledCredentials, EMPTY_ACCESS_STATE).statements.map((statement) => statement.sql);
    expect(planned).toContain(`CREATE USER IF NOT EXISTS \`${GRAFANA_USER}\` IDENTIFIED WITH sha256_hash BY '${grafanaHash}'`);
    expect(planned).toContain(`GRANT \`ts_claude_code_coordinator\` TO \`${GRAFANA_USER}\``);

    await applyStack(admin, TEAM, name, spec(false));
    const disabled = await eventually('a reconcile with Grafana off', async () => {
      const last = lastLeg.get(key);
      return last && !last.stack.spec.grafana.enabled ? last : undefined;
    });
    expect(disabled.credentials.grafana).toBeUndefined();
    const afterEnabled = convergedAccessState(context, enabled.stack, enabledCredentials);
    const dropped = planAccess(context, disabled.stack, accessCredentials(disabled.credentials), afterEnabled).statements.map((statement) => statement.sql);
    expect(dropped).toEqual([`DROP USER IF EXISTS \`${GRAFANA_USER}\``]);
    await admin.request('DELETE', resourcePath(STACKS, TEAM, name));
  });
});

describe('an external ClickHouse', { timeout: 180_000 }, () => {
  it('holds a finalizer until the stack\'s users are removed from it', async () => {
    const endpoint = 'https://clickhouse.example.internal:8443';
    await apply(
      admin,
      // Marked as a Secret a stack may send to its endpoint (docs/OPERATIONS.md, "Secret references and subjects").
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'external-admin', namespace: TEAM, labels: { [REFERENCEABLE_LABEL]: 'true' } }, stringData: { username: 'admin', password: 'not-a-real-password' } },
      `/api/v1/namespaces/${TEAM}/secrets/external-admin`,
    );
    await applyStack(admin, TEAM, 'external', { clickhouse: { mode: 'external', external: { endpoint, credentialsSecret: { name: 'external-admin' } } } });
    const stack = await waitForReady(admin, TEAM, 'external');
    expect(stack.metadata.finalizers).toEqual([FINALIZER]);
    expect(stack.status?.endpoints?.clickhouseHttp).toBe(endpoint);
    const owned = await ownedObjects(admin, TEAM, 'external');
    // No in-cluster ClickHouse (no StatefulSet, Service, ConfigMap or admin Secret) for an external one.
    expect([...owned.keys()].filter((key) => key.includes('clickhouse') && key !== 'Secret/external-clickhouse-ingest')).toEqual([]);
    expect(owned.has('StatefulSet/external-collector')).toBe(true);
    await admin.request('DELETE', resourcePath(STACKS, TEAM, 'external'));
    await eventually('the stack to be gone', async () => !(await objectExists(admin, resourcePath(STACKS, TEAM, 'external'))), 60_000);
    expect(removedFrom).toEqual([`${TEAM}/external@${endpoint}`]);
  });
});

describe('operator processes', { timeout: 240_000 }, () => {
  it('killed mid-reconcile and restarted, it converges with no duplicate objects', async () => {
    const first = await startChildOperator(cluster.kubeconfigPath, ['--namespace', 'team-b']);
    children.push(first);
    await applyStack(admin, 'team-b', STACK, { access: { users: [{ name: 'owner', role: 'admin' }, { name: 'bob' }, { name: 'carol' }] } });
    // Kill it as soon as it has started writing this stack's objects.
    await eventually('the first objects', async () => (await ownedObjects(admin, 'team-b', STACK)).size > 0, 60_000, 20);
    await first.stop('SIGKILL');
    const second = await startChildOperator(cluster.kubeconfigPath, ['--namespace', 'team-b']);
    children.push(second);
    const stack = await eventually('status for the current generation', async () => {
      const current = await getStack(admin, 'team-b', STACK);
      return current.status?.observedGeneration === current.metadata.generation && condition(current, 'CollectorReady')?.reason === 'WaitingForSchema' && condition(current, 'ClickHouseReady')?.reason === 'ClickHouseFailed' ? current : undefined;
    }, 120_000);
    // Outside the cluster without --clickhouse-url it port-forwards to the ClickHouse pod. kwok answers for the kubelet but
    // forwards nothing to this port, as a kubelet whose container is not listening: the condition says where it tried,
    // the kubelet's reason, and what to do.
    const clickhouseReady = condition(stack, 'ClickHouseReady')!;
    console.log(`[operator] port-forward failure: ${clickhouseReady.message}`);
    expect(clickhouseReady.status).toBe('False');
    expect(clickhouseReady.message).toMatch(/^cannot reach ClickHouse through a port-forward to pod team-b\/telemetry-clickhouse-0 port 8123: .+\. The operator runs outside the cluster: the pod must be Running and Ready, or run the operator with --clickhouse-url URL, or in the cluster$/);
    expect(clickhouseReady.message).not.toMatch(/127\.0\.0\.1:\d+|socket hang up/); // the API server's reason, not the local symptom
    expect(condition(stack, 'Degraded')).toMatchObject({ status: 'True', reason: 'ClickHouseFailed' });
    const owned = await ownedObjects(admin, 'team-b', STACK);
    const validated = validateStack(stackObject('team-b', STACK, { access: { users: [{ name: 'owner', role: 'admin' }, { name: 'bob' }, { name: 'carol' }] } }));
    if (!validated.ok) throw new Error('fixture invalid');
    const expectedCount = render(validated.stack).objects.length + 4 + 3; // admin, ingest, sanitizer key, htpasswd + 3 users
    expect(owned.size).toBe(expectedCount);
    const secrets = [...owned.values()].filter((object) => object.kind === 'Secret');
    expect(new Set(secrets.map((secret) => secret.metadata.uid)).size).toBe(secrets.length);
    await second.stop();
    expect(second.output()).not.toMatch(/password_sha256_hex|otlp-authorization"\s*:/);
    for (const line of second.output().trim().split('\n')) expect(() => JSON.parse(line)).not.toThrow();
  }, 240_000);

  it('two replicas elect one leader; the other takes over when the leader stops', async () => {
    // A namespace with no stacks: this is about the Lease; shutdown during stuck work has its own test.
    const args = ['--namespace', 'team-e', '--leader-elect', '--lease-namespace', 'ops'];
    const a = await startChildOperator(cluster.kubeconfigPath, args);
    const b = await startChildOperator(cluster.kubeconfigPath, args);
    children.push(a, b);
    const isLeader = async (child: ChildOperator) => /^telemetrystack_leader 1$/m.test(await child.metrics());
    const leader = await eventually('one leader', async () => {
      const flags = await Promise.all([isLeader(a), isLeader(b)]);
      return flags.filter(Boolean).length === 1 ? (flags[0] ? a : b) : undefined;
    }, 60_000, 250);
    const standby = leader === a ? b : a;
    // Stays one leader over several renew periods.
    for (let i = 0; i < 5; i++) {
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect([await isLeader(leader), await isLeader(standby)]).toEqual([true, false]);
    }
    const lease = await admin.request<KubeObject & { spec: { holderIdentity: string } }>('GET', '/apis/coordination.k8s.io/v1/namespaces/ops/leases/telemetry-stack-operator');
    expect(lease.spec.holderIdentity).toBeTruthy();
    expect(await leader.stop('SIGTERM')).toBe(0);
    // A graceful stop releases the Lease: the standby takes over well within the 15 s lease duration.
    const stopped = Date.now();
    await eventually('the standby to take over', () => isLeader(standby), 30_000, 250);
    expect(Date.now() - stopped).toBeLessThan(10_000);
    expect(leader.output()).toMatch(/"msg":"received signal".*"signal":"SIGTERM"/);
    await standby.stop();
  }, 180_000);

  it('SIGTERM during a reconcile stuck on an unanswering ClickHouse exits at the shutdown deadline, not never', async () => {
    // Accepts connections and never answers: the ClickHouse leg waits on it.
    const connections: Socket[] = [];
    const blackhole = createServer((socket) => connections.push(socket));
    await new Promise<void>((resolve) => blackhole.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(blackhole.address() as AddressInfo).port}`;
    try {
      const child = await startChildOperator(cluster.kubeconfigPath, ['--namespace', 'team-d', '--clickhouse-url', url, '--shutdown-timeout', '3s']);
      children.push(child);
      await applyStack(admin, 'team-d', STACK, {});
      await eventually('the ClickHouse leg to connect', async () => connections.length > 0, 60_000, 50);
      const signalled = Date.now();
      expect(await child.stop('SIGTERM', 15_000)).toBe(1);
      const took = Date.now() - signalled;
      console.log(`[operator] stuck shutdown exited after ${took} ms (deadline 3 s)`);
      expect(took).toBeGreaterThanOrEqual(3_000);
      expect(took).toBeLessThan(10_000);
      expect(child.output()).toMatch(/"msg":"shutdown deadline passed with work still running; exiting anyway".*"seconds":3/);
    } finally {
      for (const socket of connections) socket.destroy();
      await new Promise<void>((resolve) => blackhole.close(() => resolve()));
    }
  }, 120_000);

  it('as its own ServiceAccount with the shipped ClusterRole it reconciles, and it is denied outside that role', async () => {
    const install = parseAllDocuments(readFileSync(new URL('../dist/install-cluster-wide.yaml', import.meta.url), 'utf8')).map((document) => document.toJS() as KubeObject);
    const rbacKinds = new Set(['Namespace', 'ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    const paths: Record<string, (object: KubeObject) => string> = {
      Namespace: (o) => `/api/v1/namespaces/${o.metadata.name}`,
      ServiceAccount: (o) => `/api/v1/namespaces/${o.metadata.namespace}/serviceaccounts/${o.metadata.name}`,
      ClusterRole: (o) => `/apis/rbac.authorization.k8s.io/v1/clusterroles/${o.metadata.name}`,
      ClusterRoleBinding: (o) => `/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/${o.metadata.name}`,
      Role: (o) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${o.metadata.namespace}/roles/${o.metadata.name}`,
      RoleBinding: (o) => `/apis/rbac.authorization.k8s.io/v1/namespaces/${o.metadata.namespace}/rolebindings/${o.metadata.name}`,
    };
    let account: KubeObject | undefined;
    for (const object of install.filter((candidate) => rbacKinds.has(candidate.kind))) {
      await apply(admin, object, paths[object.kind]!(object));
      if (object.kind === 'ServiceAccount') account = object;
    }
    const asOperator = clientFor(impersonateServiceAccount(cluster.kubeConfig, account!.metadata.namespace!, account!.metadata.name));
    asOperator.recordRequests = true;
    const scoped = await startOperator({
      client: asOperator,
      log: jsonLogger(() => {}),
      inCluster: false,
      namespaces: ['team-c'],
      clickhouse: sqlClickHouseLeg(clickhouse.connect),
      clickhouseUrl: EMBEDDED_URL,
      leaderElection: { namespace: account!.metadata.namespace!, identity: 'impersonated', retryMs: 500 },
    });
    try {
      await applyStack(admin, 'team-c', STACK, { access: { users: [{ name: 'owner', role: 'admin' }, { name: 'dana', subject: { kind: 'Group', name: 'data-team' } }] } });
      await waitForReady(admin, 'team-c', STACK, 120_000);
      expect(asOperator.log.filter((request) => request.status === 403)).toEqual([]);
      expect(scoped.metrics.reconcileCount('success')).toBeGreaterThan(0);
      // Outside its role: no Pods, no Deployments in kube-system, no ClusterRoles.
      await expect(asOperator.request('GET', '/api/v1/namespaces/team-c/pods')).rejects.toMatchObject({ status: 403 });
      await expect(asOperator.request('POST', '/apis/rbac.authorization.k8s.io/v1/clusterroles', { body: { apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'ClusterRole', metadata: { name: 'x' }, rules: [] } })).rejects.toMatchObject({ status: 403 });
      await expect(asOperator.request('GET', '/api/v1/namespaces/kube-system/configmaps/does-not-matter/proxy')).rejects.toBeInstanceOf(KubeApiError);
    } finally {
      await scoped.stop();
    }
  }, 240_000);
  it('installed for two namespaces (synth --install --watch-namespace), it reconciles both with Roles only and reads no Secret elsewhere', async () => {
    const watched = ['team-f', 'team-g'];
    for (const namespace of watched) await createNamespace(admin, namespace);
    // A ServiceAccount of its own, so that the cluster-wide binding of the test above grants it nothing.
    const account = 'scoped-operator';
    const install = operatorInstallObjects({ watchNamespaces: watched }).filter((object) => ['ServiceAccount', 'Role', 'RoleBinding'].includes(object.kind));
    expect(install.some((object) => object.kind.startsWith('Cluster'))).toBe(false);
    await createNamespace(admin, OPERATOR_NAMESPACE);
    for (const object of install) {
      const renamed = structuredClone(object) as KubeObject & { subjects?: { name: string }[]; roleRef?: { name: string } };
      // The ServiceAccount, and the Lease Role and its binding in the operator's namespace, take the account's name.
      if (renamed.metadata.namespace === OPERATOR_NAMESPACE) renamed.metadata.name = account;
      if (renamed.roleRef && renamed.metadata.namespace === OPERATOR_NAMESPACE) renamed.roleRef.name = account;
      for (const subject of renamed.subjects ?? []) subject.name = account;
      const plural = { ServiceAccount: 'serviceaccounts', Role: 'roles', RoleBinding: 'rolebindings' }[renamed.kind as 'Role']!;
      const group = renamed.kind === 'ServiceAccount' ? '/api/v1' : '/apis/rbac.authorization.k8s.io/v1';
      await apply(admin, renamed, `${group}/namespaces/${renamed.metadata.namespace}/${plural}/${renamed.metadata.name}`);
    }
    const asOperator = clientFor(impersonateServiceAccount(cluster.kubeConfig, OPERATOR_NAMESPACE, account));
    asOperator.recordRequests = true;
    const scoped = await startOperator({
      client: asOperator,
      log: jsonLogger(() => {}),
      inCluster: false,
      namespaces: watched,
      clickhouse: sqlClickHouseLeg(clickhouse.connect),
      clickhouseUrl: EMBEDDED_URL,
      leaderElection: { namespace: OPERATOR_NAMESPACE, identity: 'scoped', retryMs: 500 },
    });
    try {
      for (const namespace of watched) await applyStack(admin, namespace, STACK, { access: { users: [{ name: 'owner', role: 'admin' }] } });
      for (const namespace of watched) await waitForReady(admin, namespace, STACK, 120_000);
      expect(asOperator.log.filter((request) => request.status === 403)).toEqual([]);
      // Nothing cluster-wide was asked for: every request named one of its namespaces.
      expect(asOperator.log.filter((request) => !/\/namespaces\/(team-f|team-g|telemetry-stack-system)\//.test(request.path)).map((request) => request.path)).toEqual([]);
      await expect(asOperator.request('GET', `/api/v1/namespaces/${TEAM}/secrets`)).rejects.toMatchObject({ status: 403 });
      await expect(asOperator.request('GET', '/api/v1/secrets')).rejects.toMatchObject({ status: 403 });
    } finally {
      await scoped.stop();
    }
  }, 240_000);
});
