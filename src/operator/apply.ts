/**
 * Server-side apply with one field manager, then prune. An object is applied again only
 * when what we would send differs from what we last sent, or when someone else changed it
 * since (anything but its status: a StatefulSet whose pods come up moves its resourceVersion
 * many times, and is not applied again for that): a steady-state resync sends no write at all,
 * while drift is still corrected. The API server would also persist nothing for an identical apply; this
 * only saves the round trips.
 *
 * Ownership: the operator writes only objects this stack controls (a controller owner
 * reference with the stack's uid) or objects it creates. A same-named object that exists
 * without that reference (made by a person, another tool or another stack) is a conflict:
 * nothing is written, and the reconcile reports it. `preflight` finds these before any write:
 * the objects listed by the stack label are checked as listed; every desired object missing
 * from that list is fetched by name (an unlabelled object is invisible to the list). An
 * object the preflight found absent is then created by a server-side apply *without* force,
 * so one that appears between the check and the write (a race of milliseconds) makes the
 * API server answer 409 on any field it sets differently, instead of being taken over;
 * that 409 is checked again by name.
 */
import { contentHash } from '../stack/hash.ts';
import { STACK_LABEL } from '../stack/labels.ts';
import type { KubeClient, KubeObject, ObjectList, OwnerReference } from '../kube/client.ts';
import { isConflict, isNotFound, serverSideApply } from '../kube/client.ts';
import { OWNED, resourceOf, resourcePath } from './resources.ts';

export const FIELD_MANAGER = 'telemetry-stack-operator';
export { APPLY_PATCH } from '../kube/client.ts';

export function pathOf(object: KubeObject): string {
  return resourcePath(resourceOf(object.apiVersion, object.kind), object.metadata.namespace, object.metadata.name);
}

export function isControlledBy(object: KubeObject, ownerUid: string): boolean {
  return (object.metadata.ownerReferences ?? []).some((reference) => reference.controller === true && reference.uid === ownerUid);
}

export function withOwner(object: KubeObject, owner: OwnerReference): KubeObject {
  return { ...object, metadata: { ...object.metadata, ownerReferences: [owner] } };
}

/** A name this stack wants that an object it does not control already has. */
export interface OwnershipConflict {
  readonly kind: string;
  readonly name: string;
  readonly namespace: string | undefined;
  /** `Kind/name` of the object's controller, or undefined when it has none. */
  readonly controller: string | undefined;
}

export function ownershipConflict(existing: KubeObject, kind = existing.kind): OwnershipConflict {
  const controller = (existing.metadata.ownerReferences ?? []).find((reference) => reference.controller === true);
  return { kind, name: existing.metadata.name, namespace: existing.metadata.namespace, controller: controller ? `${controller.kind}/${controller.name}` : undefined };
}

/** One line per conflict: the object, who holds it, and the fix. */
export function conflictMessage(conflicts: readonly OwnershipConflict[]): string {
  const each = conflicts.map((conflict) => {
    const holder = conflict.controller ? `is controlled by ${conflict.controller}` : 'has no controller';
    const namespace = conflict.namespace ? ` -n ${conflict.namespace}` : '';
    return `${conflict.kind} "${conflict.name}" already exists and ${holder}, not this stack (kubectl delete ${conflict.kind.toLowerCase()} ${conflict.name}${namespace}, if nothing else needs it)`;
  });
  return `${each.join('; ')}. The operator never takes over an object it did not create; delete or rename ${conflicts.length === 1 ? 'it' : 'them'}, or give the stack another name`;
}

/** Desired objects whose names are taken by objects this stack does not control; nothing was written. */
export class ObjectConflictError extends Error {
  override readonly name = 'ObjectConflictError';
  readonly conflicts: readonly OwnershipConflict[];
  constructor(conflicts: readonly OwnershipConflict[]) {
    super(conflictMessage(conflicts));
    this.conflicts = conflicts;
  }
}

function controllerUid(object: KubeObject): string | undefined {
  return (object.metadata.ownerReferences ?? []).find((reference) => reference.controller === true)?.uid;
}

/**
 * A digest of an object without what others write and we never apply: its status, and the
 * metadata the server keeps (resourceVersion, generation, managedFields, timestamps). Keys are
 * sorted, so an object from a watch and the same object from an apply answer digest alike.
 */
export function withoutStatusDigest(object: KubeObject): string {
  const { status: _status, metadata, ...rest } = object as KubeObject & { status?: unknown };
  const { resourceVersion: _rv, generation: _generation, managedFields: _managed, creationTimestamp: _created, ...kept } = metadata as KubeObject['metadata'] & { managedFields?: unknown; creationTimestamp?: unknown };
  return contentHash(stableJson({ ...rest, metadata: kept }));
}

function stableJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  if (value && typeof value === 'object') {
    return `{${Object.keys(value).sort().filter((key) => (value as Record<string, unknown>)[key] !== undefined).map((key) => `${JSON.stringify(key)}:${stableJson((value as Record<string, unknown>)[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export class Applier {
  private readonly client: KubeClient;
  /** path -> hash of what we sent, the resourceVersion the server answered with, and the digest of that answer without its status. */
  private readonly lastApplied = new Map<string, { intent: string; resourceVersion: string | undefined; digest: string }>();

  constructor(client: KubeClient) {
    this.client = client;
  }

  /** Every object of every owned kind that carries the stack's label, keyed by path. */
  async listOwned(namespace: string, stackName: string): Promise<Map<string, KubeObject>> {
    const out = new Map<string, KubeObject>();
    const lists = await Promise.all(
      OWNED.map(async (resource) => {
        const list = await this.client.request<ObjectList>('GET', resourcePath(resource, namespace), {
          query: { labelSelector: `${STACK_LABEL}=${stackName}` },
        });
        // Lists omit apiVersion/kind on items.
        return list.items.map((item) => ({ ...item, apiVersion: resource.apiVersion, kind: resource.kind }));
      }),
    );
    for (const item of lists.flat()) out.set(pathOf(item), item);
    return out;
  }

  /**
   * The desired objects whose names are held by an object `ownerUid` does not control. Those in
   * `live` (listed by the stack label) are checked as they are; the others are fetched by name.
   * Call it before writing anything: a workload applied next to a foreign ConfigMap or Secret
   * would run with that object's content.
   */
  async preflight(desired: readonly KubeObject[], live: ReadonlyMap<string, KubeObject>, ownerUid: string): Promise<OwnershipConflict[]> {
    const found = await Promise.all(
      desired.map(async (object) => {
        const path = pathOf(object);
        let existing = live.get(path);
        if (!existing) {
          try {
            existing = await this.client.request<KubeObject>('GET', path);
          } catch (error) {
            if (isNotFound(error)) return undefined;
            throw error;
          }
        }
        return isControlledBy(existing, ownerUid) ? undefined : ownershipConflict(existing, object.kind);
      }),
    );
    return found.filter((conflict) => conflict !== undefined);
  }

  /**
   * Applies one object unless neither it nor the live object changed since our last apply. Returns the live object.
   * `live` is the object as listed or cached (this stack's, after `preflight`); without it the object is created, without force.
   * With it, the forced apply carries live's resourceVersion: when the object changed since it was read (a cache a moment
   * behind, or an object deleted and made again by someone else), the API server answers 409 instead of taking it over,
   * and the object is read again by name.
   */
  async apply(desired: KubeObject, live: KubeObject | undefined): Promise<{ object: KubeObject; wrote: boolean }> {
    const path = pathOf(desired);
    const intent = contentHash(JSON.stringify(desired));
    const last = this.lastApplied.get(path);
    // A moved resourceVersion with the same digest is a status update (a StatefulSet's pods coming up): nothing of ours changed.
    if (live && last && last.intent === intent && (last.resourceVersion === live.metadata.resourceVersion || last.digest === withoutStatusDigest(live))) return { object: live, wrote: false };
    // Force only over an object that is ours, as it was read: it takes back fields someone else changed (drift).
    const send = (over: KubeObject | undefined) =>
      serverSideApply(this.client, path, over ? { ...desired, metadata: { ...desired.metadata, resourceVersion: over.metadata.resourceVersion } } : desired, {
        fieldManager: FIELD_MANAGER,
        force: over !== undefined,
      });
    let object: KubeObject;
    try {
      object = await send(live);
    } catch (error) {
      if (!isConflict(error) && !(live && isNotFound(error))) throw error;
      // Someone else holds fields of an object we did not see (ours with its label removed, or not ours at all), or the one we saw changed or went.
      let current: KubeObject | undefined;
      try {
        current = await this.client.request<KubeObject>('GET', path);
      } catch (readError) {
        if (!isNotFound(readError)) throw readError;
      }
      const ownerUid = controllerUid(desired);
      if (current && (ownerUid === undefined || !isControlledBy(current, ownerUid))) throw new ObjectConflictError([ownershipConflict(current, desired.kind)]);
      object = await send(current);
    }
    this.lastApplied.set(path, { intent, resourceVersion: object.metadata.resourceVersion, digest: withoutStatusDigest(object) });
    return { object, wrote: last === undefined || object.metadata.resourceVersion !== live?.metadata.resourceVersion };
  }

  /** Deletes owned objects (controller reference to `ownerUid`) that are not desired any more. Returns their paths. */
  async prune(live: Map<string, KubeObject>, desiredPaths: ReadonlySet<string>, ownerUid: string): Promise<string[]> {
    const pruned: string[] = [];
    for (const [path, object] of live) {
      if (desiredPaths.has(path) || !isControlledBy(object, ownerUid)) continue;
      try {
        await this.client.request('DELETE', path, {
          body: { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', preconditions: { uid: object.metadata.uid } },
        });
      } catch (error) {
        if (!isNotFound(error)) throw error;
      }
      this.lastApplied.delete(path);
      pruned.push(path);
    }
    return pruned;
  }

  forget(path: string): void {
    this.lastApplied.delete(path);
  }
}
