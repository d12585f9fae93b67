/**
 * The pure half of a reconcile (observe -> plan -> act, as controller-rs splits it): from what
 * reconcile.ts observed, which objects to apply and in which order, what render is told about the
 * schema, and the whole status to write. No request is made here, so every branch of the status
 * derivation is a unit test (test/operator-plan.test.ts) and the real-cluster tests check the acts.
 */
import { SHORTEN_RETENTION_ANNOTATION } from '../api/constants.ts';
import type { TelemetryStack } from '../api/resource.ts';
import type { TelemetryStackStatus } from '../api/status.ts';
import { SCHEMA_VERSION_ANNOTATION } from '../stack/hash.ts';
import { PORTS, stackNames } from '../stack/naming.ts';
import { render } from '../charts/render.ts';
import type { RenderInputs } from '../charts/render-inputs.ts';
import { shorteningToken } from '../clickhouse/retention.ts';
import type { ClickHouseOutcome, WithheldRetention } from './clickhouse-leg.ts';
import { CONDITION, REASON, SUMMARY_CONDITIONS } from '../stack/conditions.ts';
import { type ConditionInput, mergeConditions } from './conditions.ts';
import { withOwner } from './apply.ts';
import type { KubeObject, OwnerReference } from '../kube/client.ts';
import { userAccessObjects } from './user-access.ts';

export const COLLECTOR_KINDS: readonly string[] = ['StatefulSet', 'Deployment'];

/** The collector workload among the live objects (a StatefulSet with the persistent queue, a Deployment without). */
export function collectorWorkload(live: ReadonlyMap<string, KubeObject>, stackName: string): KubeObject | undefined {
  const name = stackNames(stackName).collector;
  return [...live.values()].find((object) => COLLECTOR_KINDS.includes(object.kind) && object.metadata.name === name);
}

/**
 * What render is told about the schema, from the live collector: the version its pods carry (a
 * reconcile keeps it until the ClickHouse leg reports another); `pending` (0 replicas) while no
 * migration has run for it. A collector an older operator started (replicas, no annotation) keeps
 * running and gets the annotation, hence a restart, once the leg has migrated.
 */
export function schemaInput(live: KubeObject | undefined): Pick<RenderInputs, 'schemaVersion'> {
  const spec = live?.spec as { replicas?: number; template?: { metadata?: { annotations?: Record<string, string> } } } | undefined;
  const annotated = Number.parseInt(spec?.template?.metadata?.annotations?.[SCHEMA_VERSION_ANNOTATION] ?? '', 10);
  if (Number.isInteger(annotated)) return { schemaVersion: annotated };
  if (live && (spec?.replicas ?? 1) > 0) return {};
  return { schemaVersion: 'pending' };
}

/** Everything the stack should own: the rendered chart, the per-user access objects and the collector's htpasswd Secret, each owned by the stack. */
export function desiredObjects(stack: TelemetryStack, inputs: RenderInputs, owner: OwnerReference, ingestAuth: KubeObject): KubeObject[] {
  return [...render(stack, inputs).objects.map((object) => withOwner(object as KubeObject, owner)), ...userAccessObjects(stack).map((object) => withOwner(object, owner)), ingestAuth];
}

/**
 * The objects in the order the API server needs them: RoleBindings after everything else.
 * Without `bind`, the API server lets the operator create a RoleBinding only after checking that
 * the operator holds every rule of the Role it names, so that Role must already exist (applied
 * in the same wave, the binding was refused with 404 now and then).
 */
export function applyWaves(desired: readonly KubeObject[]): KubeObject[][] {
  const bindings = desired.filter((object) => object.kind === 'RoleBinding');
  return [desired.filter((object) => object.kind !== 'RoleBinding'), bindings].filter((wave) => wave.length > 0);
}

export function workloadReady(workload: KubeObject | undefined): boolean {
  if (!workload) return false;
  const spec = workload.spec as { replicas?: number } | undefined;
  const status = (workload.status ?? {}) as { observedGeneration?: number; readyReplicas?: number; updatedReplicas?: number; currentRevision?: string; updateRevision?: string };
  const replicas = spec?.replicas ?? 1;
  return (
    (status.observedGeneration ?? 0) >= (workload.metadata.generation ?? 0) &&
    (status.readyReplicas ?? 0) >= replicas &&
    (status.updatedReplicas ?? 0) >= replicas &&
    (status.updateRevision === undefined || status.currentRevision === status.updateRevision)
  );
}

function workloadCondition(type: string, workload: KubeObject | undefined): ConditionInput {
  if (workloadReady(workload)) return { type, status: 'True', reason: REASON.available, message: 'all replicas are updated and ready' };
  const status = (workload?.status ?? {}) as { readyReplicas?: number };
  const replicas = (workload?.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  return { type, status: 'False', reason: REASON.waitingForPods, message: `${status.readyReplicas ?? 0}/${replicas} replicas ready and up to date` };
}

/** Why a shorter retention waits, what it would delete, and the one command that confirms it. */
export function withheldMessage(stack: TelemetryStack, withheld: readonly WithheldRetention[]): string {
  const ttls = withheld.filter((entry) => entry.signal !== 'maxDiskGiB');
  const cap = withheld.find((entry) => entry.signal === 'maxDiskGiB');
  const parts: string[] = [];
  if (ttls.length > 0) {
    const what = ttls.map((entry) => `retention.${entry.signal} ${entry.fromDays} -> ${entry.toDays} days (${entry.tables.join(', ')})`).join(' and ');
    parts.push(`${what} would delete the rows older than the new limit at ClickHouse's next merge, for good; it is not applied.`);
  }
  if (cap && 'partitions' in cap) {
    const gib = (cap.bytes / 1024 ** 3).toFixed(2);
    parts.push(`retention.maxDiskGiB ${cap.fromDays ?? 'none'} -> ${cap.toDays} would drop ${cap.partitions} daily partition(s) (${gib} GiB) at once, for good; it is not applied${cap.fromDays === undefined ? '' : ` (the cap of ${cap.fromDays} GiB stays in force)`}.`);
  }
  const tokens = withheld.map(shorteningToken).join(',');
  return (
    `${parts.join(' ')} ` +
    `To go ahead: kubectl annotate telemetrystack ${stack.metadata.name} -n ${stack.metadata.namespace} ${SHORTEN_RETENTION_ANNOTATION}=${tokens} --overwrite`
  );
}

/** A failure only a person can fix, as status shows it. */
export interface Failure {
  readonly reason: string;
  readonly message: string;
  /** Progressing's message when it should name the failure (an invalid spec); otherwise "no rollout in progress". */
  readonly progressing?: string;
}

/** What a reconcile saw of the components; with `failure`, it stopped before looking. */
export interface ComponentFacts {
  readonly collector?: KubeObject | undefined;
  /** Rendered with 0 replicas: no migration has run for it yet. */
  readonly collectorHeld?: boolean;
  readonly clickhouse?: KubeObject | undefined;
  readonly external?: boolean;
  readonly outcome?: ClickHouseOutcome;
  readonly clickhouseProblem?: { reason: string; message: string };
  readonly failure?: Failure;
}

const COMPONENTS: readonly string[] = [CONDITION.collector, CONDITION.clickhouse, CONDITION.access];

/** The component conditions: from the facts, or, after a failure, as the last complete reconcile left them. */
export function componentConditions(stack: TelemetryStack, facts: ComponentFacts, previous: TelemetryStackStatus | undefined): ConditionInput[] {
  if (facts.failure) {
    return (previous?.conditions ?? []).filter((condition) => COMPONENTS.includes(condition.type)).map(({ type, status, reason, message }) => ({ type, status, reason, message }));
  }
  let clickhouse: ConditionInput;
  if (facts.clickhouseProblem) clickhouse = { type: CONDITION.clickhouse, status: facts.clickhouseProblem.reason === REASON.clickhouseNotConfigured ? 'Unknown' : 'False', ...facts.clickhouseProblem };
  else if (!facts.external && !workloadReady(facts.clickhouse)) clickhouse = workloadCondition(CONDITION.clickhouse, facts.clickhouse);
  else if (!facts.outcome) clickhouse = { type: CONDITION.clickhouse, status: 'False', reason: REASON.waitingForPods, message: 'waiting for the ClickHouse server' };
  else if (facts.outcome.withheldRetention?.length) clickhouse = { type: CONDITION.clickhouse, status: 'False', reason: REASON.retentionShorteningUnconfirmed, message: withheldMessage(stack, facts.outcome.withheldRetention) };
  else clickhouse = { type: CONDITION.clickhouse, status: 'True', reason: REASON.schemaApplied, message: 'schema, retention and users are applied' };
  const collector: ConditionInput = facts.collectorHeld
    ? {
        type: CONDITION.collector,
        status: 'False',
        reason: REASON.waitingForSchema,
        message: `held at 0 replicas until the ClickHouse schema is migrated (its exporter reads the table columns only at start); waiting for ${CONDITION.clickhouse}`,
      }
    : workloadCondition(CONDITION.collector, facts.collector);
  const users = stack.spec.access.users.length;
  const access: ConditionInput = { type: CONDITION.access, status: 'True', reason: REASON.usersProvisioned, message: `${users} user(s) have credentials` };
  return [collector, clickhouse, access];
}

/** Ready, Progressing and Degraded, from the component conditions and a failure if there was one: the one place they are derived. */
export function summaryConditions(components: readonly ConditionInput[], facts: Pick<ComponentFacts, 'failure' | 'clickhouseProblem'>): ConditionInput[] {
  const { failure } = facts;
  const notReady = components.filter((condition) => condition.status !== 'True');
  const rollingOut = !failure && components.some((condition) => condition.reason === REASON.waitingForPods || condition.reason === REASON.waitingForSchema);
  const degradedBy = failure ?? (facts.clickhouseProblem?.reason === REASON.clickhouseFailed ? facts.clickhouseProblem : undefined);
  const ready = !failure && notReady.length === 0;
  return [
    ready
      ? { type: CONDITION.ready, status: 'True', reason: REASON.reconciled, message: 'the stack is running as specified' }
      : {
          type: CONDITION.ready,
          status: 'False',
          reason: failure?.reason ?? REASON.componentsNotReady,
          message: failure?.message ?? notReady.map((condition) => `${condition.type}: ${condition.message}`).join('; '),
        },
    rollingOut
      ? { type: CONDITION.progressing, status: 'True', reason: REASON.rollingOut, message: 'waiting for pods to be updated and ready' }
      : failure?.progressing
        ? { type: CONDITION.progressing, status: 'False', reason: failure.reason, message: failure.progressing }
        : { type: CONDITION.progressing, status: 'False', reason: REASON.asExpected, message: 'no rollout in progress' },
    degradedBy
      ? { type: CONDITION.degraded, status: 'True', reason: degradedBy.reason, message: degradedBy.message }
      : { type: CONDITION.degraded, status: 'False', reason: REASON.asExpected, message: 'no failures' },
  ];
}

export interface StatusInput {
  readonly previous: TelemetryStackStatus | undefined;
  readonly generation: number | undefined;
  /** RFC 3339, seconds. */
  readonly now: string;
  readonly facts: ComponentFacts;
}

/** The whole status of a valid stack, from what this reconcile saw. */
export function stackStatus(stack: TelemetryStack, input: StatusInput): TelemetryStackStatus {
  const { previous, facts } = input;
  const names = stackNames(stack.metadata.name);
  const namespace = stack.metadata.namespace;
  const components = componentConditions(stack, facts, previous);
  return {
    observedGeneration: input.generation ?? 0,
    conditions: mergeConditions(previous?.conditions, [...summaryConditions(components, facts), ...components], input.generation, input.now),
    endpoints: {
      otlpGrpc: `${names.collector}.${namespace}.svc:${PORTS.otlpGrpc}`,
      otlpHttp: `http://${names.collector}.${namespace}.svc:${PORTS.otlpHttp}`,
      clickhouseHttp: stack.spec.clickhouse.mode === 'external' ? stack.spec.clickhouse.external!.endpoint : `http://${names.clickhouse}.${namespace}.svc:${PORTS.clickhouseHttp}`,
    },
    ...(facts.outcome ? { appliedRetention: facts.outcome.appliedRetention } : previous?.appliedRetention ? { appliedRetention: previous.appliedRetention } : {}),
    users: facts.outcome?.users ?? previous?.users ?? 0,
  };
}

/**
 * The status of a stack whose spec does not validate: the summary says why, every other
 * condition and field stays as the last valid reconcile left it (the running objects are
 * left as they were, so what status said of them is still true).
 */
export function invalidSpecStatus(message: string, input: Omit<StatusInput, 'facts'>): TelemetryStackStatus {
  const { previous } = input;
  const failure: Failure = { reason: REASON.invalidSpec, message, progressing: 'the spec is invalid; the running objects are left as they were' };
  const kept = (previous?.conditions ?? []).filter((condition) => !SUMMARY_CONDITIONS.includes(condition.type));
  return {
    ...previous,
    observedGeneration: input.generation ?? 0,
    conditions: [...kept, ...mergeConditions(previous?.conditions, summaryConditions([], { failure }), input.generation, input.now)],
  };
}
