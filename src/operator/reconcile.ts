/**
 * reconcile(key): level-triggered, idempotent. It reads the stack and what it owns (from the
 * controller's watch caches, reader.ts), and makes the world match: validate -> Secrets ->
 * render -> apply -> prune -> ClickHouse -> status. It never asks which event woke it. Every
 * write is skipped when it would change nothing, so a steady-state resync writes nothing (and,
 * reading caches, sends no request).
 *
 * This file observes and acts; what to apply, in which order, and the status to write from
 * what was observed are pure functions in plan.ts, and which failures need a person is the
 * policy in errors.ts.
 */
import { API_GROUP, SKIP_CLEANUP_ANNOTATION } from '../api/constants.ts';
import type { TelemetryStack } from '../api/resource.ts';
import type { TelemetryStackStatus } from '../api/status.ts';
import { validateStack } from '../api/validate.ts';
import { stackNames } from '../stack/naming.ts';
import { render } from '../charts/render.ts';
import type { RenderInputs } from '../charts/render-inputs.ts';
import type { RandomSource } from '../stack/secrets.ts';
import { SECRET_KEYS } from '../stack/secrets.ts';
import { Applier, FIELD_MANAGER, ObjectConflictError, pathOf, withOwner } from './apply.ts';
import type { ClickHouseForwards, ClickHouseRoute } from './clickhouse-forward.ts';
import { ClickHouseMemo } from './clickhouse-memo.ts';
import { type ClickHouseCredentials, type ClickHouseLeg, type ClickHouseOutcome, clickhouseUrl } from './clickhouse-leg.ts';
import { CONDITION, REASON } from '../stack/conditions.ts';
import { findCondition, sameStatus } from './conditions.ts';
import { checkSecretReferences, decodeSecretData, ensureSecrets, type EnsuredSecrets, MissingCredentialsError, ownerReference, readExternalCredentials, SecretReferenceError } from './credentials.ts';
import { applyNeedsPerson, preparationNeedsPerson, ReconcileError } from './errors.ts';
import type { EventRecorder } from './events.ts';
import { type KubeClient, type KubeObject, serverSideApply } from '../kube/client.ts';
import type { Logger } from './log.ts';
import type { ReconcileResult } from './queue.ts';
import { apiReader, type StackReader } from './reader.ts';
import { resourcePath, splitKey, STACKS } from './resources.ts';
import { resizeStatefulSetClaims, STATEFULSETS } from './storage.ts';
import { hashKeyProblem } from '../sanitizer/compile.ts';
import { applyWaves, COLLECTOR_KINDS, type ComponentFacts, collectorWorkload, desiredObjects, invalidSpecStatus, schemaInput, stackStatus, withheldMessage, workloadReady } from './plan.ts';

/** Held while external ClickHouse users exist, so that deleting the stack removes them first. */
export const FINALIZER = `${API_GROUP}/clickhouse-users`;

export interface ReconcileDeps {
  readonly client: KubeClient;
  readonly applier: Applier;
  /** Where the stack and its objects are read: the controller's watch caches; unset, the API server (reader.ts). */
  readonly reader?: StackReader;
  readonly events: EventRecorder;
  readonly log: Logger;
  /** The data layer; without it ClickHouse is left alone and the stack is not Ready. */
  readonly clickhouse?: ClickHouseLeg;
  /** The last successful leg per stack (clickhouse-memo.ts): an unchanged leg is not sent again until its recheck; unset, every reconcile runs it. */
  readonly clickhouseMemo?: ClickHouseMemo;
  /** ClickHouse URL to use instead of the in-cluster Service (a port-forward, or a test engine). */
  readonly clickhouseUrl?: string;
  /** Outside the cluster with no clickhouseUrl: reach an in-cluster ClickHouse through port-forwards. */
  readonly clickhouseForwards?: ClickHouseForwards;
  /** Whether the operator runs in a pod (then in-cluster Service DNS names resolve). */
  readonly inCluster: boolean;
  /** The namespace the operator's pods run in: the ClickHouse NetworkPolicy admits the operator from there only. */
  readonly operatorNamespace?: string;
  readonly now?: () => Date;
  readonly random?: RandomSource;
}

type StackObject = KubeObject & { spec?: unknown; status?: TelemetryStackStatus };

/** Re-check ClickHouse this often while it fails (the queue's backoff covers API errors). */
const CLICKHOUSE_RETRY_MS = 30_000;

export async function reconcileStack(deps: ReconcileDeps, key: string): Promise<ReconcileResult> {
  const { namespace, name } = splitKey(key);
  const reader = readerOf(deps);
  const raw = (await reader.stack(namespace, name)) as StackObject | undefined;
  if (!raw) {
    deps.clickhouseMemo?.forget(key);
    await deps.clickhouseForwards?.forget(key);
    return {}; // deleted: owner references let the garbage collector do the rest
  }
  const log = deps.log.child({ stack: key, generation: raw.metadata.generation });
  const now = (deps.now ?? (() => new Date()))().toISOString().replace(/\.\d+Z$/, 'Z');

  const validated = validateStack({ apiVersion: raw.apiVersion, kind: raw.kind, metadata: raw.metadata, spec: raw.spec ?? {} });
  if (raw.metadata.deletionTimestamp) {
    if (validated.ok) await finalize(deps, raw, validated.stack, log, now);
    else await setFinalizer(deps.client, raw, false);
    return {};
  }
  if (!validated.ok) {
    const message = validated.problems.map((problem) => `${problem.path}: ${problem.message}`).join('; ');
    const previousReady = findCondition(raw.status, CONDITION.ready);
    // The event goes first: whoever sees the condition in status can also find its event.
    if (previousReady?.reason !== REASON.invalidSpec || previousReady.message !== message) {
      log.warn('invalid spec; running objects left as they were', { problems: validated.problems.length });
      await deps.events.record(raw, 'Warning', REASON.invalidSpec, message);
    }
    await writeStatus(deps.client, raw, invalidSpecStatus(message, { previous: raw.status, generation: raw.metadata.generation, now }));
    return {};
  }

  const stack = validated.stack;
  const external = stack.spec.clickhouse.mode === 'external';
  await setFinalizer(deps.client, raw, external);
  const owner = ownerReference(raw);
  const live = await reader.owned(namespace, name);
  let secrets: EnsuredSecrets;
  let desired: KubeObject[];
  let renderInputs: RenderInputs;
  try {
    // Before anything is rendered: a pod must not be handed a Secret nobody marked as referenceable.
    await checkSecretReferences(deps.client, stack);
    secrets = await ensureSecrets(deps.client, stack, owner, live, deps.random);
    if (secrets.created.length > 0) log.info('created generated Secrets', { names: secrets.created });
    // A hash key made by hand with "$", '"', "\\" or a newline would break the collector's config or silently change the key.
    const hashKey = hashKeyProblem(secrets.data.get(stackNames(name).sanitizerKeySecret)?.[SECRET_KEYS.hashKey]);
    if (hashKey) {
      throw new ReconcileError(REASON.invalidHashKey, `Secret "${stackNames(name).sanitizerKeySecret}" key "${SECRET_KEYS.hashKey}" ${hashKey}; nothing written`);
    }
    // The upstream header reaches the collector as ${env:...} too, and its resolver expands a "${...}" inside the
    // value: a hand-written header Secret must not be able to pull the ingest password into a request upstream.
    const headers = stack.spec.upstream?.headersSecret;
    if (headers) {
      const path = resourcePath({ apiVersion: 'v1', kind: 'Secret', plural: 'secrets' }, namespace, headers.name);
      const value = decodeSecretData(await deps.client.request<KubeObject>('GET', path))[headers.key] ?? '';
      if (/[$\x00-\x1f\x7f]/.test(value)) {
        throw new SecretReferenceError(
          `spec.upstream.headersSecret: Secret "${headers.name}" key "${headers.key}" holds "$" or a control character, which the collector would not send literally (it reads "\${...}" as a reference to its environment); write the header value literally, e.g. "Basic <base64>"`,
        );
      }
    }
    // The htpasswd digest rolls the collector when a credential changes (its basicauth reads the file only at start).
    renderInputs = {
      ingestAuthDigest: secrets.ingestAuthDigest,
      ...(deps.operatorNamespace ? { operatorNamespace: deps.operatorNamespace } : {}),
      ...schemaInput(collectorWorkload(live, name)),
    };
    desired = desiredObjects(stack, renderInputs, owner, secrets.ingestAuth);
    // All or nothing: a workload applied beside a foreign ConfigMap or Secret of the same name would run with its content.
    const conflicts = await deps.applier.preflight(desired, live, owner.uid);
    if (conflicts.length > 0) throw new ObjectConflictError(conflicts);
  } catch (error) {
    throw await reportIfPersonNeeded(deps, raw, stack, now, error, preparationNeedsPerson);
  }
  await growVolumes(deps, raw, stack, desired, live, log, now);
  const applied = new Map<string, KubeObject>();
  try {
    for (const wave of applyWaves(desired)) {
      const results = await Promise.all(wave.map(async (object) => ({ path: pathOf(object), ...(await deps.applier.apply(object, live.get(pathOf(object)))) })));
      for (const result of results) {
        applied.set(result.path, result.object);
        if (result.wrote) log.debug('applied', { path: result.path });
      }
    }
  } catch (error) {
    throw await reportIfPersonNeeded(deps, raw, stack, now, error, applyNeedsPerson);
  }
  const pruned = await deps.applier.prune(live, new Set([...applied.keys(), ...secrets.paths]), owner.uid);
  if (pruned.length > 0) log.info('pruned', { objects: pruned });

  const names = stackNames(name);
  // The collector is a StatefulSet with its persistent queue on, a Deployment with it off.
  const workload = (workloadName: string) =>
    applied.get(resourcePath(STATEFULSETS, namespace, workloadName)) ??
    applied.get(resourcePath({ apiVersion: 'apps/v1', kind: 'Deployment', plural: 'deployments' }, namespace, workloadName));
  const clickhouseWorkload = external ? undefined : workload(names.clickhouse);
  const clickhouseServing = external || workloadReady(clickhouseWorkload);

  let outcome: ClickHouseOutcome | undefined;
  let clickhouseProblem: { reason: string; message: string } | undefined;
  let url = clickhouseUrl(stack, { inCluster: deps.inCluster, ...(deps.clickhouseUrl ? { override: deps.clickhouseUrl } : {}) });
  // Outside the cluster with no override: a port-forward to the pod, opened once the pod serves.
  const forwards = url ? undefined : deps.clickhouseForwards;
  if (!deps.clickhouse || (!url && !forwards)) {
    clickhouseProblem = {
      reason: REASON.clickhouseNotConfigured,
      message: 'the operator runs outside the cluster and cannot reach the ClickHouse Service: run it with --clickhouse-url (e.g. a port-forward) or in the cluster',
    };
  } else if (!clickhouseServing && !deps.clickhouseUrl) {
    // Its pod is not serving (restarting, perhaps on a new volume): the next leg checks everything again.
    deps.clickhouseMemo?.forget(key);
  } else {
    let route: ClickHouseRoute | undefined;
    try {
      if (forwards) {
        route = await forwards.route(stack);
        url = route.url;
      }
      const credentials = await credentialsFor(deps.client, stack, secrets);
      const fingerprint = deps.clickhouseMemo ? ClickHouseMemo.fingerprint(stack, url!, credentials) : '';
      outcome = deps.clickhouseMemo?.reuse(key, fingerprint);
      if (!outcome) {
        outcome = await deps.clickhouse.reconcile(stack, url!, credentials);
        deps.clickhouseMemo?.remember(key, fingerprint, outcome);
      }
      if (outcome.changes.length > 0) log.info('clickhouse changed', { statements: outcome.changes.length });
    } catch (error) {
      deps.clickhouseMemo?.forget(key);
      const message = route ? route.failure(error as Error) : `ClickHouse at ${url ?? 'a port-forward'}: ${(error as Error).message}`;
      clickhouseProblem = { reason: REASON.clickhouseFailed, message };
      log.warn('clickhouse leg failed', { error: clickhouseProblem.message, cause: error instanceof MissingCredentialsError || error instanceof SecretReferenceError ? 'admin Secret' : 'ClickHouse' });
    }
  }

  // The schema is in place now (or changed): start or roll the collector, whose exporter reads the columns only at start.
  if (outcome && renderInputs.schemaVersion !== outcome.schemaVersion) {
    const collectorObject = render(stack, { ...renderInputs, schemaVersion: outcome.schemaVersion }).objects.find((object) => COLLECTOR_KINDS.includes(object.kind) && object.metadata.name === names.collector);
    if (collectorObject) {
      const path = pathOf(collectorObject as KubeObject);
      // The leg took a while: the watch cache has most likely seen the workload's status move since our apply,
      // and applying under the older resourceVersion would only earn a 409 and a GET. (Not with the API reader: no request for this.)
      const result = await deps.applier.apply(withOwner(collectorObject as KubeObject, owner), newer(applied.get(path), deps.reader ? (await deps.reader.owned(namespace, name)).get(path) : undefined));
      applied.set(path, result.object);
      renderInputs = { ...renderInputs, schemaVersion: outcome.schemaVersion };
      log.info('collector rendered for the ClickHouse schema', { schemaVersion: outcome.schemaVersion });
    }
  }

  if (outcome?.withheldRetention?.length) {
    const message = withheldMessage(stack, outcome.withheldRetention);
    if (findCondition(raw.status, CONDITION.clickhouse)?.message !== message) {
      log.warn('shorter retention withheld until confirmed', { signals: outcome.withheldRetention.map((entry) => entry.signal) });
      await deps.events.record(raw, 'Warning', REASON.retentionShorteningUnconfirmed, message);
    }
  }
  const ready = await writeComponentStatus(deps, raw, stack, now, {
    collector: workload(names.collector),
    collectorHeld: renderInputs.schemaVersion === 'pending',
    clickhouse: clickhouseWorkload,
    external,
    ...(outcome ? { outcome } : {}),
    ...(clickhouseProblem ? { clickhouseProblem } : {}),
  });
  if (clickhouseProblem?.reason === REASON.clickhouseFailed) return { requeueAfterMs: CLICKHOUSE_RETRY_MS };
  log.debug('reconciled', { ready });
  return {};
}

/** The later of two readings of one object (same uid), by resourceVersion; the first when they cannot be compared. */
function newer(first: KubeObject | undefined, second: KubeObject | undefined): KubeObject | undefined {
  if (!first || !second || first.metadata.uid !== second.metadata.uid) return first;
  const [a, b] = [first.metadata.resourceVersion, second.metadata.resourceVersion];
  return a && b && /^\d+$/.test(a) && /^\d+$/.test(b) && BigInt(b) > BigInt(a) ? second : first;
}

function readerOf(deps: ReconcileDeps): StackReader {
  return deps.reader ?? apiReader(deps.client, deps.applier);
}

export async function credentialsFor(client: KubeClient, stack: TelemetryStack, secrets: EnsuredSecrets): Promise<ClickHouseCredentials> {
  const names = stackNames(stack.metadata.name);
  const account = (secretName: string) => {
    const data = secrets.data.get(secretName)!;
    return { username: data[SECRET_KEYS.username]!, password: data[SECRET_KEYS.password]! };
  };
  const admin = stack.spec.clickhouse.mode === 'external' ? await readExternalCredentials(client, stack) : account(names.clickhouseAdminSecret);
  return {
    admin,
    ingest: account(names.clickhouseIngestSecret),
    users: new Map(stack.spec.access.users.map((user) => [user.name, account(names.userSecret(user.name))])),
    ...(stack.spec.grafana.enabled ? { grafana: account(names.grafanaSecret) } : {}),
  };
}

/**
 * A raised volume size recreates its StatefulSet (orphaning the pods) after growing the claims;
 * the live object is then forgotten so that the apply creates it. A change that cannot be made
 * fails the reconcile before anything is applied, with status and a Warning event.
 */
async function growVolumes(deps: ReconcileDeps, raw: StackObject, stack: TelemetryStack, desired: readonly KubeObject[], live: Map<string, KubeObject>, log: Logger, now: string): Promise<void> {
  try {
    for (const object of desired.filter((candidate) => candidate.kind === 'StatefulSet')) {
      const path = pathOf(object);
      const resized = await resizeStatefulSetClaims({ client: deps.client }, stack, object, live.get(path));
      if (!resized) continue;
      live.delete(path);
      deps.applier.forget(path);
      const sizes = resized.sizes.map((size) => `${size.field} from ${size.from} to ${size.to}`).join(', ');
      const message = `grew ${sizes} (${resized.claims.length > 0 ? resized.claims.join(', ') : 'no claims yet'}); StatefulSet ${resized.statefulSet} was recreated, its pods kept`;
      log.info('resized volumes', { statefulSet: resized.statefulSet, sizes: resized.sizes, claims: resized.claims });
      await deps.events.record(raw, 'Normal', 'StorageResized', message);
    }
  } catch (error) {
    if (error instanceof ReconcileError) await reportFailure(deps, raw, stack, now, error);
    throw error;
  }
}

/**
 * A failure only a person can fix: a Warning event when it is new, then Ready=False in status.
 * The event goes first, so whoever sees the condition can also find its event.
 */
async function reportFailure(deps: ReconcileDeps, raw: StackObject, stack: TelemetryStack, now: string, error: ReconcileError): Promise<void> {
  const previous = findCondition(raw.status, CONDITION.ready);
  if (previous?.reason !== error.reason || previous.message !== error.message) await deps.events.record(raw, 'Warning', error.reason, error.message);
  await writeComponentStatus(deps, raw, stack, now, { failure: { reason: error.reason, message: error.message } });
}

/**
 * A failure the policy (errors.ts) says only a person can fix is reported in status and a
 * Warning event, and becomes a ReconcileError with a constant reason. Returns what to throw.
 */
async function reportIfPersonNeeded(
  deps: ReconcileDeps,
  raw: StackObject,
  stack: TelemetryStack,
  now: string,
  error: unknown,
  policy: (error: unknown) => { failure: ReconcileError; log: string } | undefined,
): Promise<unknown> {
  const needed = policy(error);
  if (!needed) return error;
  deps.log.warn(needed.log, { stack: `${stack.metadata.namespace}/${stack.metadata.name}` });
  await reportFailure(deps, raw, stack, now, needed.failure);
  return needed.failure;
}

/** Writes the status plan.ts derives from what this reconcile saw, if it differs. Returns Ready. */
async function writeComponentStatus(deps: ReconcileDeps, raw: StackObject, stack: TelemetryStack, now: string, facts: ComponentFacts): Promise<boolean> {
  const status = stackStatus(stack, { previous: raw.status, generation: raw.metadata.generation, now, facts });
  await writeStatus(deps.client, raw, status);
  return findCondition(status, CONDITION.ready)?.status === 'True';
}

/** Server-side applies the status subresource when it differs from what is stored. Returns whether it wrote. */
async function writeStatus(client: KubeClient, raw: StackObject, status: TelemetryStackStatus): Promise<boolean> {
  if (sameStatus(raw.status, status)) return false;
  const { namespace, name } = raw.metadata;
  await serverSideApply(client, resourcePath(STACKS, namespace, name, 'status'), { apiVersion: raw.apiVersion, kind: raw.kind, metadata: { name, namespace }, status }, { fieldManager: FIELD_MANAGER, force: true });
  return true;
}

/** Adds or removes the operator's finalizer with a metadata-only apply (no write when it is already as wanted). */
async function setFinalizer(client: KubeClient, raw: StackObject, wanted: boolean): Promise<void> {
  const has = (raw.metadata.finalizers ?? []).includes(FINALIZER);
  if (has === wanted) return;
  const { namespace, name } = raw.metadata;
  await serverSideApply(client, resourcePath(STACKS, namespace, name), { apiVersion: raw.apiVersion, kind: raw.kind, metadata: { name, namespace, ...(wanted ? { finalizers: [FINALIZER] } : {}) } }, {
    fieldManager: FIELD_MANAGER,
    force: true,
  });
}

/**
 * The stack is being deleted: remove external ClickHouse users, then let it go. While that fails
 * (ClickHouse unreachable, its credentials gone) the deletion waits, retried with backoff, and
 * says why in status (Ready=False, CleanupBlocked) and a Warning event, with the way out: the
 * SKIP_CLEANUP_ANNOTATION lets the stack go and leaves the users for a person to drop. No
 * automatic give-up: users left behind in a shared ClickHouse are a decision for a person.
 */
async function finalize(deps: ReconcileDeps, raw: StackObject, stack: TelemetryStack, log: Logger, now: string): Promise<void> {
  if (!(raw.metadata.finalizers ?? []).includes(FINALIZER)) return;
  if (stack.spec.clickhouse.mode === 'external' && deps.clickhouse) {
    const endpoint = stack.spec.clickhouse.external!.endpoint;
    const skip = `kubectl annotate telemetrystack ${stack.metadata.name} -n ${stack.metadata.namespace} ${SKIP_CLEANUP_ANNOTATION}=true`;
    if (raw.metadata.annotations?.[SKIP_CLEANUP_ANNOTATION] === 'true') {
      log.warn('deleted without removing the stack\'s users from the external ClickHouse', { endpoint });
      await deps.events.record(raw, 'Warning', 'CleanupSkipped', `${SKIP_CLEANUP_ANNOTATION}=true: the users this stack created in the ClickHouse at ${endpoint} were not removed; drop them there by hand (docs/OPERATIONS.md)`);
    } else {
      try {
        const live = await readerOf(deps).owned(stack.metadata.namespace!, stack.metadata.name);
        const secrets = await ensureSecrets(deps.client, stack, ownerReference(raw), live, deps.random);
        await deps.clickhouse.remove(stack, endpoint, await credentialsFor(deps.client, stack, secrets));
        log.info('removed users from the external ClickHouse');
      } catch (error) {
        const message = `deletion waits to remove this stack's users from the ClickHouse at ${endpoint}: ${(error as Error).message}. Once ClickHouse is back it goes on by itself; to delete now and drop the users by hand: ${skip}`;
        log.warn('deletion waits for the external ClickHouse', { error: (error as Error).message });
        const failure = new ReconcileError(REASON.cleanupBlocked, message);
        await reportFailure(deps, raw, stack, now, failure);
        throw failure;
      }
    }
  }
  await setFinalizer(deps.client, raw, false);
}
