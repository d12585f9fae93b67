/**
 * Server-side apply with one field manager, then prune. An object is applied again only
 * when what we would send differs from what we last sent, or when someone else changed it
 * since (its resourceVersion moved): a steady-state resync sends no write at all, while drift
 * is still corrected. The API server would also persist nothing for an identical apply; this
 * only saves the round trips.
 */
import { STACK_LABEL } from '../charts/labels.ts';
import type { KubeClient, KubeObject, ObjectList, OwnerReference } from './kube.ts';
import { isNotFound } from './kube.ts';
import { OWNED, resourceOf, resourcePath } from './resources.ts';

export const FIELD_MANAGER = 'telemetry-stack-operator';
export const APPLY_PATCH = 'application/apply-patch+yaml';

export function pathOf(object: KubeObject): string {
  return resourcePath(resourceOf(object.apiVersion, object.kind), object.metadata.namespace, object.metadata.name);
}

export function isControlledBy(object: KubeObject, ownerUid: string): boolean {
  return (object.metadata.ownerReferences ?? []).some((reference) => reference.controller === true && reference.uid === ownerUid);
}

export function withOwner(object: KubeObject, owner: OwnerReference): KubeObject {
  return { ...object, metadata: { ...object.metadata, ownerReferences: [owner] } };
}

export class Applier {
  private readonly client: KubeClient;
  /** path -> what we sent and the resourceVersion the server answered with. */
  private readonly lastApplied = new Map<string, { intent: string; resourceVersion: string | undefined }>();

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

  /** Applies one object unless neither it nor the live object changed since our last apply. Returns the live object. */
  async apply(desired: KubeObject, live: KubeObject | undefined): Promise<{ object: KubeObject; wrote: boolean }> {
    const path = pathOf(desired);
    const intent = JSON.stringify(desired);
    const last = this.lastApplied.get(path);
    if (live && last && last.intent === intent && last.resourceVersion === live.metadata.resourceVersion) return { object: live, wrote: false };
    const object = await this.client.request<KubeObject>('PATCH', path, {
      body: desired,
      contentType: APPLY_PATCH,
      query: { fieldManager: FIELD_MANAGER, force: true },
    });
    this.lastApplied.set(path, { intent, resourceVersion: object.metadata.resourceVersion });
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
