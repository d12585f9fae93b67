/**
 * The work queue between watches and reconciles, with client-go's workqueue semantics:
 * a key added while it waits is added once (a burst of events becomes one reconcile);
 * a key added while it is being reconciled waits until that reconcile finishes and then
 * runs once more (never two reconciles of one key at once); failures retry with capped,
 * jittered exponential backoff.
 */

export interface BackoffPolicy {
  /** Delay after the first failure. */
  readonly baseMs: number;
  /** Longest delay, however many failures. */
  readonly capMs: number;
  /** Fraction of the delay that is randomised (0.2: the delay is 80-100% of nominal). */
  readonly jitter: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, capMs: 5 * 60_000, jitter: 0.2 };

/** Delay before retry number `failures` (1-based): base * 2^(failures-1), capped, minus up to `jitter` of it. */
export function backoffDelay(failures: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random: () => number = Math.random): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const nominal = Math.min(policy.capMs, policy.baseMs * 2 ** exponent);
  return Math.round(nominal * (1 - policy.jitter * random()));
}

/** What a reconcile asks of the queue after it succeeded. */
export interface ReconcileResult {
  /** Reconcile again after this long even if nothing changes (e.g. waiting on something outside Kubernetes). */
  readonly requeueAfterMs?: number;
}

export type Reconciler = (key: string) => Promise<ReconcileResult | void>;

export interface QueueOptions {
  readonly backoff?: BackoffPolicy;
  readonly random?: () => number;
  /** Called after each reconcile with its outcome (metrics, logs). */
  readonly onResult?: (key: string, outcome: { ok: true; durationMs: number } | { ok: false; durationMs: number; error: unknown; retryInMs: number }) => void;
}

export class WorkQueue {
  /** Keys waiting to be processed, in order; every key here is also in `dirty`. */
  private readonly pending: string[] = [];
  /** Keys that need a reconcile (waiting, or added again while being processed). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private readonly idleWaiters: (() => void)[] = [];
  private readonly sleepers: (() => void)[] = [];
  private stopped = false;
  private workers: Promise<void>[] = [];
  private readonly backoff: BackoffPolicy;
  private readonly random: () => number;
  private readonly onResult: QueueOptions['onResult'];

  constructor(options: QueueOptions = {}) {
    this.backoff = options.backoff ?? DEFAULT_BACKOFF;
    this.random = options.random ?? Math.random;
    this.onResult = options.onResult;
  }

  /** Keys waiting (not counting the ones being processed): the queue-depth metric. */
  get depth(): number {
    return this.pending.length;
  }

  get inFlight(): number {
    return this.processing.size;
  }

  add(key: string): void {
    if (this.stopped || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return; // re-queued by done()
    this.pending.push(key);
    this.wakeOne();
  }

  /** Adds the key after a delay; of several delayed adds of one key the earliest wins. */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped) return;
    if (delayMs <= 0) return this.add(key);
    const at = Date.now() + delayMs;
    const existing = this.timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) clearTimeout(existing.timer);
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.add(key);
    }, delayMs);
    timer.unref?.();
    this.timers.set(key, { at, timer });
  }

  /** Counts a failure of the key and returns the backoff delay it is re-added after. */
  addRateLimited(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = backoffDelay(failures, this.backoff, this.random);
    this.addAfter(key, delay);
    return delay;
  }

  /** Resets the failure count of a key (after a success). */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failureCount(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** Starts `concurrency` workers calling `reconcile`; distinct keys run in parallel, one key never does. */
  start(reconcile: Reconciler, concurrency = 2): void {
    for (let i = 0; i < concurrency; i++) this.workers.push(this.work(reconcile));
  }

  /** Resolves when nothing waits and nothing runs (delayed adds excluded). */
  whenIdle(): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops taking keys, cancels delayed adds and waits for running reconciles to finish. */
  async shutdown(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.pending.length = 0;
    this.dirty.clear();
    this.wakeAll();
    await Promise.all(this.workers);
  }

  private isIdle(): boolean {
    return this.pending.length === 0 && this.processing.size === 0;
  }

  private wakeOne(): void {
    this.sleepers.shift()?.();
  }

  private wakeAll(): void {
    for (const wake of this.sleepers.splice(0)) wake();
  }

  private async next(): Promise<string | undefined> {
    while (!this.stopped) {
      const key = this.pending.shift();
      if (key !== undefined) {
        this.dirty.delete(key);
        this.processing.add(key);
        // More keys may be waiting: let another idle worker look.
        if (this.pending.length > 0) this.wakeOne();
        return key;
      }
      await new Promise<void>((resolve) => this.sleepers.push(resolve));
    }
    return undefined;
  }

  private async work(reconcile: Reconciler): Promise<void> {
    for (;;) {
      const key = await this.next();
      if (key === undefined) return;
      const started = performance.now();
      try {
        const result = await reconcile(key);
        this.forget(key);
        this.onResult?.(key, { ok: true, durationMs: performance.now() - started });
        if (result?.requeueAfterMs !== undefined) this.addAfter(key, result.requeueAfterMs);
      } catch (error) {
        const retryInMs = this.stopped ? 0 : this.addRateLimited(key);
        this.onResult?.(key, { ok: false, durationMs: performance.now() - started, error, retryInMs });
      } finally {
        this.processing.delete(key);
        if (this.dirty.has(key) && !this.stopped) {
          this.pending.push(key);
          this.wakeOne();
        }
        if (this.isIdle()) for (const resolve of this.idleWaiters.splice(0)) resolve();
      }
    }
  }
}
