/**
 * The plan half of a reconcile (src/operator/plan.ts) and the error policy (src/operator/errors.ts),
 * without a cluster: the status each set of observed facts gives, condition by condition, and
 * which failures wait for a person. The real-cluster tests (operator-cluster, collector-startup-order,
 * security-ownership) check that reconcile observes and acts on these.
 */
import { describe, expect, it } from 'vitest';
import { CollectorConfigTooLargeError } from '../src/charts/collector/config.ts';
import { Applier, ObjectConflictError } from '../src/operator/apply.ts';
import type { ClickHouseOutcome } from '../src/operator/clickhouse-leg.ts';
import { CONDITION, REASON } from '../src/stack/conditions.ts';
import { SecretReferenceError } from '../src/operator/credentials.ts';
import { applyNeedsPerson, preparationNeedsPerson, ReconcileError } from '../src/operator/errors.ts';
import type { KubeObject } from '../src/kube/client.ts';
import { applyWaves, type ComponentFacts, desiredObjects, invalidSpecStatus, schemaInput, stackStatus } from '../src/operator/plan.ts';
import { KubeApiError, type KubeClient, type RequestOptions } from '../src/kube/client.ts';
import { EventRecorder } from '../src/operator/events.ts';
import { jsonLogger } from '../src/operator/log.ts';
import { reconcileStack } from '../src/operator/reconcile.ts';
import type { TelemetryStackStatus } from '../src/api/status.ts';
import { scripted } from './support/scripted-kube.ts';
import { SCHEMA_VERSION_ANNOTATION } from '../src/stack/hash.ts';
import { stackFrom } from '../harness/stacks.ts';

const stack = stackFrom({ access: { users: [{ name: 'ann', subject: { kind: 'User', name: 'ann@example.com' } }, { name: 'bob' }] } }, 'local', 'telemetry');
const NOW = '2026-11-30T04:00:00Z';
const LATER = '2026-11-30T05:00:00Z';

const workload = (ready: boolean, replicas = 1): KubeObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'w', generation: 3 },
  spec: { replicas },
  status: { observedGeneration: 3, readyReplicas: ready ? replicas : 0, updatedReplicas: ready ? replicas : 0 },
});
const outcome = (extra: Partial<ClickHouseOutcome> = {}): ClickHouseOutcome => ({
  appliedRetention: { eventsDays: 30, metricsDays: 90 } as never,
  users: 2,
  schemaVersion: 7,
  changes: [],
  ...extra,
});
const healthy: ComponentFacts = { collector: workload(true), clickhouse: workload(true), outcome: outcome() };

/** type -> "status reason" for every condition of a status. */
function conditions(facts: ComponentFacts, previous?: ReturnType<typeof stackStatus>) {
  const status = stackStatus(stack, { previous, generation: 4, now: NOW, facts });
  return Object.fromEntries(status.conditions!.map((condition) => [condition.type, `${condition.status} ${condition.reason}`]));
}

describe('the status a reconcile writes, from what it saw', () => {
  it('everything ready: Ready, nothing progressing or degraded, every component True', () => {
    expect(conditions(healthy)).toEqual({
      [CONDITION.ready]: `True ${REASON.reconciled}`,
      [CONDITION.progressing]: `False ${REASON.asExpected}`,
      [CONDITION.degraded]: `False ${REASON.asExpected}`,
      [CONDITION.collector]: `True ${REASON.available}`,
      [CONDITION.clickhouse]: `True ${REASON.schemaApplied}`,
      [CONDITION.access]: `True ${REASON.usersProvisioned}`,
    });
    const status = stackStatus(stack, { previous: undefined, generation: 4, now: NOW, facts: healthy });
    expect(status).toMatchObject({ observedGeneration: 4, users: 2, endpoints: { otlpHttp: 'http://local-collector.telemetry.svc:4318' } });
  });

  it('pods rolling out: Progressing, not Ready, not Degraded; Ready names the waiting component', () => {
    const got = stackStatus(stack, { previous: undefined, generation: 4, now: NOW, facts: { ...healthy, collector: workload(false, 2) } });
    const byType = Object.fromEntries(got.conditions!.map((c) => [c.type, c]));
    expect(byType[CONDITION.progressing]).toMatchObject({ status: 'True', reason: REASON.rollingOut });
    expect(byType[CONDITION.degraded]).toMatchObject({ status: 'False' });
    expect(byType[CONDITION.ready]).toMatchObject({ status: 'False', reason: REASON.componentsNotReady, message: `${CONDITION.collector}: 0/2 replicas ready and up to date` });
  });

  it('the collector held for the schema: WaitingForSchema counts as a rollout', () => {
    expect(conditions({ ...healthy, collectorHeld: true, outcome: undefined })).toMatchObject({
      [CONDITION.collector]: `False ${REASON.waitingForSchema}`,
      [CONDITION.clickhouse]: `False ${REASON.waitingForPods}`,
      [CONDITION.progressing]: `True ${REASON.rollingOut}`,
      [CONDITION.ready]: `False ${REASON.componentsNotReady}`,
    });
  });

  it('ClickHouse failing degrades the stack; not configured leaves ClickHouseReady Unknown and does not', () => {
    expect(conditions({ ...healthy, outcome: undefined, clickhouseProblem: { reason: REASON.clickhouseFailed, message: 'refused' } })).toMatchObject({
      [CONDITION.clickhouse]: `False ${REASON.clickhouseFailed}`,
      [CONDITION.degraded]: `True ${REASON.clickhouseFailed}`,
      [CONDITION.ready]: `False ${REASON.componentsNotReady}`,
    });
    expect(conditions({ ...healthy, outcome: undefined, clickhouseProblem: { reason: REASON.clickhouseNotConfigured, message: 'outside' } })).toMatchObject({
      [CONDITION.clickhouse]: `Unknown ${REASON.clickhouseNotConfigured}`,
      [CONDITION.degraded]: `False ${REASON.asExpected}`,
    });
  });

  it('a withheld retention keeps the stack not Ready, with the confirming command', () => {
    const withheld = outcome({ withheldRetention: [{ signal: 'eventsDays', fromDays: 30, toDays: 7, tables: ['otel_logs'] }] as never });
    const status = stackStatus(stack, { previous: undefined, generation: 4, now: NOW, facts: { ...healthy, outcome: withheld } });
    const clickhouse = status.conditions!.find((c) => c.type === CONDITION.clickhouse)!;
    expect(clickhouse).toMatchObject({ status: 'False', reason: REASON.retentionShorteningUnconfirmed });
    expect(clickhouse.message).toContain('kubectl annotate telemetrystack local -n telemetry');
  });

  it('a failure keeps the components as the last complete reconcile left them and says what failed on the summary', () => {
    const previous = stackStatus(stack, { previous: undefined, generation: 4, now: NOW, facts: healthy });
    const failed = stackStatus(stack, { previous, generation: 5, now: LATER, facts: { failure: { reason: REASON.objectConflict, message: 'ConfigMap x is not ours' } } });
    const byType = Object.fromEntries(failed.conditions!.map((c) => [c.type, c]));
    expect(byType[CONDITION.ready]).toMatchObject({ status: 'False', reason: REASON.objectConflict, message: 'ConfigMap x is not ours', lastTransitionTime: LATER });
    expect(byType[CONDITION.degraded]).toMatchObject({ status: 'True', reason: REASON.objectConflict });
    expect(byType[CONDITION.progressing]).toMatchObject({ status: 'False', reason: REASON.asExpected, lastTransitionTime: NOW });
    // Components unchanged, transition times kept.
    expect(byType[CONDITION.collector]).toMatchObject({ status: 'True', reason: REASON.available, lastTransitionTime: NOW });
    expect(failed.users).toBe(2);
  });

  it('the same facts twice give the same status (a resync writes nothing); a status change moves lastTransitionTime only where it changed', () => {
    const first = stackStatus(stack, { previous: undefined, generation: 4, now: NOW, facts: healthy });
    expect(stackStatus(stack, { previous: first, generation: 4, now: LATER, facts: healthy })).toEqual(first);
    const rolling = stackStatus(stack, { previous: first, generation: 4, now: LATER, facts: { ...healthy, clickhouse: workload(false) } });
    const times = Object.fromEntries(rolling.conditions!.map((c) => [c.type, c.lastTransitionTime]));
    expect(times).toMatchObject({ [CONDITION.clickhouse]: LATER, [CONDITION.ready]: LATER, [CONDITION.collector]: NOW, [CONDITION.access]: NOW });
  });

  it('an invalid spec: the summary says so, every other condition and field is kept', () => {
    const previous = stackStatus(stack, { previous: undefined, generation: 4, now: NOW, facts: healthy });
    const invalid = invalidSpecStatus('spec.level: must be basic, enhanced or full', { previous, generation: 5, now: LATER });
    expect(invalid.endpoints).toEqual(previous.endpoints);
    expect(invalid.observedGeneration).toBe(5);
    const byType = Object.fromEntries(invalid.conditions!.map((c) => [c.type, c]));
    expect(byType[CONDITION.ready]).toMatchObject({ status: 'False', reason: REASON.invalidSpec, message: 'spec.level: must be basic, enhanced or full' });
    expect(byType[CONDITION.progressing]).toMatchObject({ status: 'False', reason: REASON.invalidSpec, message: 'the spec is invalid; the running objects are left as they were' });
    expect(byType[CONDITION.degraded]).toMatchObject({ status: 'True', reason: REASON.invalidSpec });
    expect(byType[CONDITION.collector]).toEqual(previous.conditions!.find((c) => c.type === CONDITION.collector));
    // A stack that was never valid has only the summary.
    expect(invalidSpecStatus('x', { previous: undefined, generation: 1, now: NOW }).conditions!.map((c) => c.type)).toEqual([CONDITION.ready, CONDITION.progressing, CONDITION.degraded]);
  });
});

describe('what a reconcile applies', () => {
  const owner = { apiVersion: 'telemetrystack.io/v1alpha1', kind: 'TelemetryStack', name: 'local', uid: 'u-1', controller: true, blockOwnerDeletion: true };
  const ingestAuth: KubeObject = { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'local-ingest-auth', namespace: 'telemetry' } };

  it('every desired object is owned by the stack; RoleBindings come in a second wave', () => {
    const desired = desiredObjects(stack, {}, owner, ingestAuth);
    expect(desired.length).toBeGreaterThan(5);
    expect(desired.filter((object) => object !== ingestAuth).every((object) => object.metadata.ownerReferences?.[0]?.uid === 'u-1')).toBe(true);
    const waves = applyWaves(desired);
    expect(waves.length).toBe(2);
    expect(waves[1]!.every((object) => object.kind === 'RoleBinding')).toBe(true);
    expect(waves[0]!.some((object) => object.kind === 'RoleBinding')).toBe(false);
    expect(waves.flat().length).toBe(desired.length);
  });

  it('the schema render is told: the live collector\'s annotation, pending for a new one, nothing for one an older operator started', () => {
    expect(schemaInput(undefined)).toEqual({ schemaVersion: 'pending' });
    const annotated = { ...workload(true), spec: { replicas: 1, template: { metadata: { annotations: { [SCHEMA_VERSION_ANNOTATION]: '7' } } } } };
    expect(schemaInput(annotated)).toEqual({ schemaVersion: 7 });
    expect(schemaInput(workload(true))).toEqual({});
    expect(schemaInput(workload(true, 0))).toEqual({ schemaVersion: 'pending' });
  });
});

describe('which failures wait for a person (errors.ts)', () => {
  const conflict = new ObjectConflictError([{ kind: 'ConfigMap', name: 'local-collector', namespace: 'telemetry', controller: undefined }]);

  it('before anything is written: conflicts, refused Secret references, undeployable specs and a reason already given', () => {
    expect(preparationNeedsPerson(conflict)?.failure.reason).toBe(REASON.objectConflict);
    expect(preparationNeedsPerson(new SecretReferenceError('spec.upstream.caSecret: not referenceable'))?.failure).toMatchObject({ reason: REASON.secretNotReferenceable, message: 'spec.upstream.caSecret: not referenceable' });
    expect(preparationNeedsPerson(new CollectorConfigTooLargeError('too large'))?.failure).toMatchObject({ reason: REASON.invalidSpec, message: 'spec.sanitizer.rules: too large' });
    const given = new ReconcileError(REASON.invalidHashKey, 'bad key');
    expect(preparationNeedsPerson(given)?.failure).toBe(given);
    // A retry heals these.
    expect(preparationNeedsPerson(new KubeApiError(500, 'InternalError', 'etcd'))).toBeUndefined();
    expect(preparationNeedsPerson(new Error('socket hang up'))).toBeUndefined();
  });

  it('applying: a refused object needs a person, a missing reference, a stale read or throttling does not', () => {
    expect(applyNeedsPerson(conflict)?.failure.reason).toBe(REASON.objectConflict);
    expect(applyNeedsPerson(new KubeApiError(422, 'Invalid', 'spec.replicas: Invalid value'))?.failure).toMatchObject({ reason: REASON.applyFailed, message: 'spec.replicas: Invalid value' });
    expect(applyNeedsPerson(new KubeApiError(403, 'Forbidden', 'cannot create'))?.failure.reason).toBe(REASON.applyFailed);
    for (const status of [404, 409, 429, 500, 0]) expect(applyNeedsPerson(new KubeApiError(status, 'x', 'y')), `status ${status}`).toBeUndefined();
  });
});

describe('reconcile\'s request sequence (scripted API)', () => {
  const STACK_PATH = '/apis/telemetrystack.io/v1alpha1/namespaces/telemetry/telemetrystacks/local';
  const EVENTS_PATH = '/api/v1/namespaces/telemetry/events';
  const raw = (spec: unknown, status?: unknown) => ({
    apiVersion: 'telemetrystack.io/v1alpha1',
    kind: 'TelemetryStack',
    metadata: { name: 'local', namespace: 'telemetry', uid: 'u-1', generation: 2, resourceVersion: '9' },
    spec,
    ...(status ? { status } : {}),
  });
  const deps = (client: KubeClient) => {
    const log = jsonLogger(() => {}, { level: 'error' });
    return { client, applier: new Applier(client), events: new EventRecorder(client, log, () => new Date(NOW)), log, inCluster: false, now: () => new Date(NOW) };
  };

  it('a deleted stack: one GET, nothing written', async () => {
    const { client, calls } = scripted({ [`GET ${STACK_PATH}`]: [new KubeApiError(404, 'NotFound', 'gone')] });
    expect(await reconcileStack(deps(client), 'telemetry/local')).toEqual({});
    expect(calls.map((call) => `${call.method} ${call.path}`)).toEqual([`GET ${STACK_PATH}`]);
  });

  it('an invalid spec: the Warning event first, then the status; the same spec again writes nothing', async () => {
    const invalid = { level: 'everything' };
    let written: { status: TelemetryStackStatus } | undefined;
    const { client, calls } = scripted({
      [`GET ${STACK_PATH}`]: [raw(invalid)],
      [`POST ${EVENTS_PATH}`]: [{}],
      [`PATCH ${STACK_PATH}/status`]: [(options?: RequestOptions) => ((written = options!.body as never), {})],
    });
    await reconcileStack(deps(client), 'telemetry/local');
    expect(calls.map((call) => `${call.method} ${call.path}`)).toEqual([`GET ${STACK_PATH}`, `POST ${EVENTS_PATH}`, `PATCH ${STACK_PATH}/status`]);
    expect((calls[1]!.body as { reason: string; type: string })).toMatchObject({ type: 'Warning', reason: REASON.invalidSpec });
    expect(written!.status.conditions!.find((c) => c.type === CONDITION.ready)).toMatchObject({ status: 'False', reason: REASON.invalidSpec });
    expect(written!.status.conditions!.find((c) => c.type === CONDITION.ready)!.message).toContain('spec.level');

    // The next resync finds its own status: no event, no write.
    const again = scripted({ [`GET ${STACK_PATH}`]: [raw(invalid, written!.status)] });
    await reconcileStack(deps(again.client), 'telemetry/local');
    expect(again.calls.map((call) => call.method)).toEqual(['GET']);
  });
});
