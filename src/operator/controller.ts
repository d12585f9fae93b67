/**
 * The controller: watches TelemetryStacks and everything they own, turns every change into
 * the owning stack's key on the work queue, and runs reconcileStack for each key, which reads
 * the stack and its objects from these watches' caches (reader.ts), not from the API server. A periodic
 * resync re-queues every stack, so drift nobody was told about is repaired too.
 */
import { STACK_LABEL } from '../stack/labels.ts';
import { Applier } from './apply.ts';
import type { ClickHouseForwards } from './clickhouse-forward.ts';
import type { ClickHouseLeg } from './clickhouse-leg.ts';
import { ClickHouseMemo } from './clickhouse-memo.ts';
import { errorReason } from './errors.ts';
import { EventRecorder } from './events.ts';
import type { KubeClient, KubeObject } from '../kube/client.ts';
import type { Logger } from './log.ts';
import type { OperatorMetrics } from './metrics.ts';
import { type BackoffPolicy, WorkQueue } from './queue.ts';
import { cacheReader, type StackReader } from './reader.ts';
import { reconcileStack } from './reconcile.ts';
import { keyOf, OWNED, STACKS } from './resources.ts';
import { ListWatcher } from './watch.ts';

export interface ControllerOptions {
  readonly client: KubeClient;
  readonly log: Logger;
  readonly metrics: OperatorMetrics;
  /** Only these namespaces (one watch per kind in each, so namespaced RBAC suffices); unset or empty: all namespaces. */
  readonly namespaces?: readonly string[];
  readonly concurrency?: number;
  /** Re-queue every stack this often. */
  readonly resyncMs?: number;
  readonly clickhouse?: ClickHouseLeg;
  readonly clickhouseUrl?: string;
  readonly clickhouseForwards?: ClickHouseForwards;
  readonly inCluster: boolean;
  /** The namespace the operator's pods run in (the ClickHouse NetworkPolicy admits the operator from there only). */
  readonly operatorNamespace?: string;
  readonly watchSilenceMs?: number;
  readonly backoff?: BackoffPolicy;
  /** An unchanged ClickHouse leg runs again after this long at the latest (clickhouse-memo.ts; default: the resync period, and every resync runs it); 0 runs it on every reconcile. */
  readonly clickhouseRecheckMs?: number;
}

/** The key of the stack that owns an object: its controller reference, else its stack label. */
export function ownerKey(object: KubeObject): string | undefined {
  const controller = (object.metadata.ownerReferences ?? []).find((reference) => reference.controller && reference.kind === STACKS.kind && reference.apiVersion === STACKS.apiVersion);
  if (controller) return keyOf(object.metadata.namespace, controller.name);
  const label = object.metadata.labels?.[STACK_LABEL];
  return label ? keyOf(object.metadata.namespace, label) : undefined;
}

const DEFAULT_RESYNC_MS = 5 * 60_000;

export class Controller {
  readonly queue: WorkQueue;
  private readonly options: ControllerOptions;
  private readonly stacks: ListWatcher[];
  private readonly owned: ListWatcher[];
  /** What reconciles read: the stack and its objects as the watches last saw them. */
  readonly reader: StackReader;
  /** The last successful ClickHouse leg per stack: reconciles between two resyncs do not repeat it (clickhouse-memo.ts). */
  private readonly clickhouseMemo: ClickHouseMemo | undefined;
  private resyncTimer: NodeJS.Timeout | undefined;
  private started = false;

  constructor(options: ControllerOptions) {
    this.options = options;
    const { client, log, metrics } = options;
    this.queue = new WorkQueue({
      ...(options.backoff ? { backoff: options.backoff } : {}),
      onResult: (key, outcome) => {
        metrics.observeReconcile(outcome.ok ? 'success' : 'error', outcome.durationMs / 1000);
        if (!outcome.ok) {
          const reason = errorReason(outcome.error);
          metrics.countError(reason);
          log.warn('reconcile failed', { stack: key, reason, error: (outcome.error as Error).message, retryInMs: outcome.retryInMs });
        }
      },
    });
    metrics.queueDepth = () => this.queue.depth;
    // Every namespace (undefined) or one watch per listed namespace.
    const scopes: (string | undefined)[] = options.namespaces?.length ? [...options.namespaces] : [undefined];
    const watch = (resource: (typeof OWNED)[number], labelSelector: string | undefined, toKey: (object: KubeObject) => string | undefined) =>
      scopes.map((namespace) => new ListWatcher({
        client,
        log,
        resource,
        ...(namespace ? { namespace } : {}),
        ...(labelSelector ? { labelSelector } : {}),
        ...(options.watchSilenceMs ? { silenceMs: options.watchSilenceMs } : {}),
        onRestart: (cause) => metrics.countWatchRestart(resource.plural, cause),
        // Reconciles read from these caches (reader.ts), so they keep whole objects.
        whole: true,
        onChange: (_type, object) => {
          const key = toKey(object);
          if (key) this.queue.add(key);
        },
      }));
    this.stacks = watch(STACKS, undefined, (object) => keyOf(object.metadata.namespace, object.metadata.name));
    this.owned = OWNED.flatMap((resource) => watch(resource, STACK_LABEL, ownerKey));
    this.reader = cacheReader(this.stacks, this.owned);
    const recheckMs = options.clickhouseRecheckMs ?? options.resyncMs ?? DEFAULT_RESYNC_MS;
    this.clickhouseMemo = recheckMs > 0 ? new ClickHouseMemo({ recheckMs }) : undefined;
  }

  /** Starts the watches, waits until each has listed once, then starts reconciling. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    const watchers = [...this.stacks, ...this.owned];
    for (const watcher of watchers) watcher.start();
    await Promise.all(watchers.map((watcher) => watcher.synced));
    const deps = {
      client: this.options.client,
      applier: new Applier(this.options.client),
      reader: this.reader,
      events: new EventRecorder(this.options.client, this.options.log),
      log: this.options.log,
      inCluster: this.options.inCluster,
      ...(this.options.operatorNamespace ? { operatorNamespace: this.options.operatorNamespace } : {}),
      ...(this.options.clickhouse ? { clickhouse: this.options.clickhouse } : {}),
      ...(this.clickhouseMemo ? { clickhouseMemo: this.clickhouseMemo } : {}),
      ...(this.options.clickhouseUrl ? { clickhouseUrl: this.options.clickhouseUrl } : {}),
      ...(this.options.clickhouseForwards ? { clickhouseForwards: this.options.clickhouseForwards } : {}),
    };
    this.queue.start((key) => reconcileStack(deps, key), this.options.concurrency ?? 4);
    const resyncMs = this.options.resyncMs ?? DEFAULT_RESYNC_MS;
    this.resyncTimer = setInterval(() => this.resync(), resyncMs);
    this.resyncTimer.unref?.();
    this.options.log.info('controller started', { namespaces: this.options.namespaces?.length ? this.options.namespaces.join(',') : '(all)', resyncMs });
  }

  /** Every watch has listed once. */
  get synced(): boolean {
    return [...this.stacks, ...this.owned].every((watcher) => watcher.hasSynced);
  }

  /**
   * Queues every known stack. A resync also checks ClickHouse again for every stack (drift made
   * inside it by hand, an outage of an external server): the memo that spares the reconciles in
   * between is emptied.
   */
  resync(): number {
    this.clickhouseMemo?.clear();
    let count = 0;
    for (const watcher of this.stacks) {
      for (const key of watcher.cache.keys()) this.queue.add(key);
      count += watcher.cache.size;
    }
    return count;
  }

  /** Resolves when no reconcile runs or waits. */
  idle(): Promise<void> {
    return this.queue.whenIdle();
  }

  async stop(): Promise<void> {
    clearInterval(this.resyncTimer);
    await Promise.all([this.queue.shutdown(), ...[...this.stacks, ...this.owned].map((watcher) => watcher.stop())]);
  }
}
