/**
 * Where a reconcile reads the stack and what it owns: the controller's watch caches (no request
 * at all, so a steady-state resync of a hundred stacks reads nothing from the API server), or the
 * API server itself (tests that call reconcileStack directly, with a scripted client).
 *
 * A cache can be behind the server by the watch's latency. That never causes a wrong write:
 * - every change the cache has not seen yet arrives as a watch event, which queues the stack
 *   again, and that reconcile sees it (level-triggered: the last reconcile reads the last state);
 * - an object the cache lacks is fetched by name before anything is written (Applier.preflight)
 *   and created by a server-side apply without force, so an object that exists is never adopted;
 * - an object the cache has is re-applied with force only under its cached resourceVersion
 *   (Applier.apply): if it changed meanwhile (even deleted and made again by someone else), the
 *   API server answers 409 and the object is read again by name before a second try;
 * - generated Secrets are created with POST (409 when they exist) and patched under their
 *   resourceVersion (credentials.ts).
 */
import { STACK_LABEL } from '../stack/labels.ts';
import { isNotFound, type KubeClient, type KubeObject } from '../kube/client.ts';
import type { Applier } from './apply.ts';
import { pathOf } from './apply.ts';
import { keyOf, resourcePath, STACKS } from './resources.ts';
import type { ListWatcher } from './watch.ts';

export interface StackReader {
  /** The stack, or undefined when there is none (deleted, or not seen yet: its watch event will queue it). */
  stack(namespace: string, name: string): Promise<KubeObject | undefined>;
  /** Every object of every owned kind that carries the stack's label, keyed by path. The objects are shared: read them, never change them. */
  owned(namespace: string, stackName: string): Promise<Map<string, KubeObject>>;
}

/** Reads from the API server: one GET for the stack, one list per owned kind. */
export function apiReader(client: KubeClient, applier: Applier): StackReader {
  return {
    async stack(namespace, name) {
      try {
        return await client.request<KubeObject>('GET', resourcePath(STACKS, namespace, name));
      } catch (error) {
        if (isNotFound(error)) return undefined;
        throw error;
      }
    },
    owned: (namespace, stackName) => applier.listOwned(namespace, stackName),
  };
}

/** Reads from the controller's list-watch caches (which keep whole objects); makes no request. */
export function cacheReader(stacks: readonly ListWatcher[], owned: readonly ListWatcher[]): StackReader {
  return {
    async stack(namespace, name) {
      const key = keyOf(namespace, name);
      for (const watcher of stacks) {
        const found = watcher.cache.get(key);
        if (found) return found;
      }
      return undefined;
    },
    async owned(namespace, stackName) {
      const out = new Map<string, KubeObject>();
      for (const watcher of owned) {
        for (const object of watcher.cache.values()) {
          if (object.metadata.namespace === namespace && object.metadata.labels?.[STACK_LABEL] === stackName) out.set(pathOf(object), object);
        }
      }
      return out;
    },
  };
}
