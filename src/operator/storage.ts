/**
 * Growing a StatefulSet's volumes when their size is raised in the spec: ClickHouse's data
 * (`clickhouse.storage.size`) and the collector's queue (`collector.persistentQueue.size`).
 *
 * The size lives in the StatefulSet's volumeClaimTemplates, which the API server refuses to
 * change, and the claims the template made are not touched by a template change anyway. So a
 * size edit is carried out the way a person would do it by hand, in an order that loses nothing:
 *   1. grow each existing claim (the StorageClass must allow expansion, the claim must be Bound);
 *   2. delete the StatefulSet with propagationPolicy=Orphan: its pods keep running, untouched;
 *   3. the apply that follows creates it again with the new template, and it adopts those pods.
 * Any step that cannot be done stops before the StatefulSet is touched, with a condition that
 * names the claim, the API server's reason and the fix. Shrinking is refused: no StorageClass
 * can shrink a volume, and ClickHouse's data would not fit.
 */
import { parseQuantity } from '../api/quantity.ts';
import type { TelemetryStack } from '../api/resource.ts';
import { stackNames } from '../stack/naming.ts';
import { REASON } from '../stack/conditions.ts';
import { ReconcileError } from './errors.ts';
import { isNotFound, KubeApiError, type KubeClient, type KubeObject } from '../kube/client.ts';
import { resourcePath } from './resources.ts';

const CLAIMS = { apiVersion: 'v1', kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims' };
export const STATEFULSETS = { apiVersion: 'apps/v1', kind: 'StatefulSet', plural: 'statefulsets' };
const MERGE_PATCH = 'application/merge-patch+json';

interface ClaimTemplate {
  metadata?: { name?: string };
  spec?: { resources?: { requests?: { storage?: string } } };
}

export interface StorageResize {
  readonly statefulSet: string;
  /** One entry per claim template that grew: the spec field, and the sizes. */
  readonly sizes: readonly { readonly field: string; readonly from: string; readonly to: string }[];
  /** The claims that were grown, as namespace/name. */
  readonly claims: readonly string[];
}

export interface StorageDeps {
  readonly client: KubeClient;
  /** How long to wait for the orphaning delete to finish (the garbage collector removes its finalizer). */
  readonly deleteTimeoutMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
}

function claimSize(template: ClaimTemplate | undefined): string | undefined {
  return template?.spec?.resources?.requests?.storage;
}

function claimTemplate(statefulSet: KubeObject, claimName: string): ClaimTemplate | undefined {
  const templates = (statefulSet.spec as { volumeClaimTemplates?: ClaimTemplate[] } | undefined)?.volumeClaimTemplates ?? [];
  return templates.find((template) => template.metadata?.name === claimName);
}

/** The spec field behind each claim template the charts render, for messages a person can act on. */
export function claimSpecPath(stack: TelemetryStack, statefulSet: string, claim: string): string {
  const names = stackNames(stack.metadata.name);
  if (statefulSet === names.clickhouse && claim === names.clickhouseDataClaim) return 'spec.clickhouse.storage.size';
  if (statefulSet === names.collector && claim === names.collectorQueueClaim) return 'spec.collector.persistentQueue.size';
  return `the ${claim} claim template of StatefulSet ${statefulSet}`;
}

/**
 * Brings a live StatefulSet's claims to the sizes its rendered template asks for (ClickHouse's
 * data, the collector's queue). Returns what it did when it recreated the StatefulSet (the caller
 * must then create it, not patch it), or undefined when the sizes agree or there is none yet.
 */
export async function resizeStatefulSetClaims(deps: StorageDeps, stack: TelemetryStack, desired: KubeObject, live: KubeObject | undefined): Promise<StorageResize | undefined> {
  if (!live) return undefined;
  const namespace = live.metadata.namespace ?? stack.metadata.namespace!;
  const wanted = ((desired.spec as { volumeClaimTemplates?: ClaimTemplate[] } | undefined)?.volumeClaimTemplates ?? []).flatMap((template) => {
    const name = template.metadata?.name;
    const to = claimSize(template);
    const from = name === undefined ? undefined : claimSize(claimTemplate(live, name));
    if (name === undefined || to === undefined || from === undefined || parseQuantity(from) === parseQuantity(to)) return [];
    return [{ name, from, to, field: claimSpecPath(stack, live.metadata.name, name) }];
  });
  if (wanted.length === 0) return undefined;
  for (const { from, to, field } of wanted) {
    const fromBytes = parseQuantity(from);
    if (fromBytes !== undefined && parseQuantity(to)! < fromBytes) {
      throw new ReconcileError(REASON.storageShrinkRefused, `${field}: a volume cannot shrink (from ${from} to ${to}); set it back to ${from} or more. The running stack is left as it was`);
    }
  }

  // Grow every claim the StatefulSet made (one per template per replica ordinal), before touching the StatefulSet.
  const replicas = (live.spec as { replicas?: number } | undefined)?.replicas ?? 1;
  const grown: string[] = [];
  for (const { name, from, to, field } of wanted) {
    const toBytes = parseQuantity(to)!;
    for (let ordinal = 0; ordinal < replicas; ordinal++) {
      const claimName = `${name}-${live.metadata.name}-${ordinal}`;
      const path = resourcePath(CLAIMS, namespace, claimName);
      let claim: KubeObject;
      try {
        claim = await deps.client.request<KubeObject>('GET', path);
      } catch (error) {
        if (isNotFound(error)) continue; // not made yet: the new template makes it at the new size
        throw error;
      }
      const current = claimSize(claim as ClaimTemplate);
      if (current !== undefined && (parseQuantity(current) ?? 0) >= toBytes) continue;
      try {
        await deps.client.request('PATCH', path, { body: { spec: { resources: { requests: { storage: to } } } }, contentType: MERGE_PATCH });
      } catch (error) {
        if (error instanceof KubeApiError && error.status >= 400 && error.status < 500 && error.status !== 409 && error.status !== 429) {
          const storageClass = (claim.spec as { storageClassName?: string } | undefined)?.storageClassName;
          throw new ReconcileError(
            REASON.storageResizeFailed,
            `${field}: cannot grow claim ${namespace}/${claimName} from ${current ?? from} to ${to}: ${error.message}. ` +
              `The claim must be Bound and its StorageClass${storageClass ? ` "${storageClass}"` : ''} must set allowVolumeExpansion: true; ` +
              `or set the size back to ${from}. The running stack is left as it was`,
          );
        }
        throw error;
      }
      grown.push(`${namespace}/${claimName}`);
    }
  }
  // Orphan: the pods and their claims stay; only the StatefulSet object goes, to come back with the new template.
  const statefulSetPath = resourcePath(STATEFULSETS, namespace, live.metadata.name);
  try {
    await deps.client.request('DELETE', statefulSetPath, {
      body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Orphan', preconditions: { uid: live.metadata.uid } },
    });
  } catch (error) {
    if (!isNotFound(error)) throw error;
  }
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const deadline = Date.now() + (deps.deleteTimeoutMs ?? 60_000);
  for (;;) {
    try {
      const current = await deps.client.request<KubeObject>('GET', statefulSetPath);
      if (current.metadata.uid !== live.metadata.uid) break; // already created again
    } catch (error) {
      if (isNotFound(error)) break;
      throw error;
    }
    // Retried by the queue: the next reconcile finds the claims grown and continues from here.
    if (Date.now() > deadline) throw new Error(`StatefulSet ${namespace}/${live.metadata.name} is still being deleted (orphaning its pods)`);
    await sleep(250);
  }
  return { statefulSet: live.metadata.name, sizes: wanted.map(({ field, from, to }) => ({ field, from, to })), claims: grown };
}
