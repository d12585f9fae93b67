/**
 * List-then-watch of one resource, with a local cache, in the manner of client-go's
 * reflector and kube-rs's watcher. client-node's informer is not used: it stops on
 * non-410 errors and has no watchdog. Here a watch that errors is retried with backoff
 * from the last resourceVersion, "410 Gone" (expired resourceVersion) relists, and a
 * watch that stays silent longer than the server's bookmark interval allows is torn down
 * and restarted.
 */
import { isGone, type KubeClient, type KubeObject } from '../kube/client.ts';
import type { Logger } from './log.ts';
import { backoffDelay, type BackoffPolicy } from './queue.ts';
import { type ApiResource, keyOf, resourcePath } from './resources.ts';

export type ChangeType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface ListWatchOptions {
  readonly client: KubeClient;
  readonly resource: ApiResource;
  /** Watch one namespace; unset watches all namespaces. */
  readonly namespace?: string;
  readonly labelSelector?: string;
  readonly onChange: (type: ChangeType, object: KubeObject) => void;
  readonly log: Logger;
  /** A watch with no event (bookmarks included) for this long is restarted. Default: the server timeout plus 30 s. */
  readonly silenceMs?: number;
  /** Asks the server to end each watch after this long; the watch then resumes from the last resourceVersion. */
  readonly serverTimeoutSeconds?: number;
  readonly backoff?: BackoffPolicy;
  /** Counts restarts by cause, for metrics. */
  readonly onRestart?: (cause: 'silent' | 'error' | 'gone') => void;
  /**
   * Keep whole objects (minus managedFields) rather than identities: the controller's reconciles
   * read from these caches instead of the API server. Default: identities only.
   */
  readonly whole?: boolean;
}

/**
 * What an identity cache keeps of an object: enough to find its stack and to tell a change on
 * relist. No spec, no status, no managed fields, no Secret data.
 */
function identity(object: KubeObject): KubeObject {
  const { name, namespace, uid, resourceVersion, generation, labels, ownerReferences, deletionTimestamp } = object.metadata;
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: {
      name,
      ...(namespace !== undefined ? { namespace } : {}),
      ...(uid !== undefined ? { uid } : {}),
      ...(resourceVersion !== undefined ? { resourceVersion } : {}),
      ...(generation !== undefined ? { generation } : {}),
      ...(labels !== undefined ? { labels } : {}),
      ...(ownerReferences !== undefined ? { ownerReferences } : {}),
      ...(deletionTimestamp !== undefined ? { deletionTimestamp } : {}),
    },
  };
}

/**
 * What a whole-object cache keeps: the object as the server sent it, minus managedFields (often
 * the largest part, and nothing the operator reads), with apiVersion and kind (list items lack them).
 */
function whole(object: KubeObject, resource: ApiResource): KubeObject {
  const { managedFields: _managedFields, ...metadata } = object.metadata;
  return { ...object, apiVersion: resource.apiVersion, kind: resource.kind, metadata };
}

const WATCH_BACKOFF: BackoffPolicy = { baseMs: 250, capMs: 30_000, jitter: 0.2 };

export class ListWatcher {
  readonly cache = new Map<string, KubeObject>();
  private readonly options: ListWatchOptions;
  private readonly path: string;
  private stopped = false;
  private current: AbortController | undefined;
  private loop: Promise<void> | undefined;
  private markSynced!: () => void;
  readonly synced: Promise<void>;
  private isSynced = false;

  constructor(options: ListWatchOptions) {
    this.options = options;
    this.path = resourcePath(options.resource, options.namespace);
    this.synced = new Promise((resolve) => (this.markSynced = resolve));
  }

  get hasSynced(): boolean {
    return this.isSynced;
  }

  start(): void {
    this.loop ??= this.run();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.current?.abort();
    await this.loop;
  }

  private async list(): Promise<string> {
    const seen = new Map<string, KubeObject>();
    let resourceVersion = '';
    let continueToken: string | undefined;
    do {
      const page = await this.options.client.request<{ metadata: { resourceVersion: string; continue?: string }; items: KubeObject[] }>('GET', this.path, {
        query: { labelSelector: this.options.labelSelector, limit: 500, continue: continueToken },
      });
      for (const item of page.items) seen.set(keyOf(item.metadata.namespace, item.metadata.name), item);
      resourceVersion = page.metadata.resourceVersion;
      continueToken = page.metadata.continue || undefined;
    } while (continueToken);
    // Replace the cache; tell the controller about everything that changed while we were not watching.
    for (const [key, old] of this.cache) if (!seen.has(key)) this.emit('DELETED', key, old);
    for (const [key, object] of seen) {
      const old = this.cache.get(key);
      if (!old) this.emit('ADDED', key, object);
      else if (old.metadata.resourceVersion !== object.metadata.resourceVersion) this.emit('MODIFIED', key, object);
    }
    return resourceVersion;
  }

  private emit(type: ChangeType, key: string, full: KubeObject): void {
    const object = this.options.whole ? whole(full, this.options.resource) : identity(full);
    if (type === 'DELETED') this.cache.delete(key);
    else this.cache.set(key, object);
    this.options.onChange(type, object);
  }

  private async run(): Promise<void> {
    const { log, resource } = this.options;
    const serverTimeoutSeconds = this.options.serverTimeoutSeconds ?? 240;
    // The server ends every watch after serverTimeoutSeconds (sending bookmarks meanwhile): one
    // that stays open and silent past that is stuck (a dead connection nobody noticed).
    const silenceMs = this.options.silenceMs ?? (serverTimeoutSeconds + 30) * 1000;
    let resourceVersion: string | undefined;
    let failures = 0;
    while (!this.stopped) {
      let silent = false;
      let gone = false;
      try {
        if (resourceVersion === undefined) {
          resourceVersion = await this.list();
          if (!this.isSynced) {
            this.isSynced = true;
            this.markSynced();
          }
        }
        const abort = new AbortController();
        this.current = abort;
        let watchdog: NodeJS.Timeout | undefined;
        const arm = () => {
          clearTimeout(watchdog);
          watchdog = setTimeout(() => {
            silent = true;
            abort.abort();
          }, silenceMs);
          watchdog.unref?.();
        };
        arm();
        try {
          await this.options.client.watch(
            this.path,
            {
              labelSelector: this.options.labelSelector,
              resourceVersion,
              allowWatchBookmarks: true,
              timeoutSeconds: serverTimeoutSeconds,
            },
            (event) => {
              arm();
              failures = 0;
              if (event.type === 'ERROR') {
                if (event.object.code === 410) gone = true;
                else log.warn('watch error event', { resource: resource.plural, code: event.object.code, reason: event.object.reason });
                abort.abort();
                return;
              }
              resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
              if (event.type === 'BOOKMARK') return;
              this.emit(event.type, keyOf(event.object.metadata.namespace, event.object.metadata.name), event.object);
            },
            abort.signal,
          );
        } finally {
          clearTimeout(watchdog);
          this.current = undefined;
        }
        if (gone) {
          log.info('watch expired (410 Gone), relisting', { resource: resource.plural });
          this.options.onRestart?.('gone');
          resourceVersion = undefined;
        } else if (silent) {
          log.warn('watch silent too long, restarting', { resource: resource.plural, silenceMs });
          this.options.onRestart?.('silent');
        }
      } catch (error) {
        if (this.stopped) break;
        if (silent) {
          log.warn('watch silent too long, restarting', { resource: resource.plural, silenceMs });
          this.options.onRestart?.('silent');
          continue;
        }
        if (gone || isGone(error)) {
          this.options.onRestart?.('gone');
          resourceVersion = undefined;
          continue;
        }
        failures++;
        this.options.onRestart?.('error');
        // After repeated failures the resourceVersion may be the problem: start over from a list.
        if (failures >= 5) resourceVersion = undefined;
        const delay = backoffDelay(failures, this.options.backoff ?? WATCH_BACKOFF);
        log.warn('watch failed, retrying', { resource: resource.plural, error: (error as Error).message, retryInMs: delay });
        await new Promise((resolve) => setTimeout(resolve, delay).unref?.());
      }
    }
  }
}
