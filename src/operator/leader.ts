/**
 * Lease-based leader election (coordination.k8s.io/v1), as client-go's leaderelection does:
 * the leader renews the Lease every `retryMs`; a candidate takes it over only when it has
 * seen the same record unchanged for `leaseDurationMs` of its own clock (no trust in other
 * machines' clocks); updates carry the resourceVersion, so two candidates never both win.
 * A leader that cannot renew within `renewDeadlineMs` steps down.
 */
import { isConflict, isNotFound, type KubeClient, type KubeObject } from '../kube/client.ts';
import type { Logger } from './log.ts';
import { LEASES, resourcePath } from './resources.ts';

export interface LeaderElectionOptions {
  readonly client: KubeClient;
  readonly namespace: string;
  readonly name: string;
  readonly identity: string;
  readonly log: Logger;
  readonly leaseDurationMs?: number;
  readonly renewDeadlineMs?: number;
  readonly retryMs?: number;
}

interface LeaseSpec {
  holderIdentity?: string | null;
  leaseDurationSeconds?: number;
  acquireTime?: string | null;
  renewTime?: string | null;
  leaseTransitions?: number;
}

type Lease = KubeObject & { spec?: LeaseSpec };

const microTime = (date: Date) => date.toISOString().replace(/Z$/, '000Z');

export class LeaderElector {
  private readonly options: Required<Omit<LeaderElectionOptions, 'client' | 'log'>> & Pick<LeaderElectionOptions, 'client' | 'log'>;
  private leading = false;
  private stopped = false;
  private observed: { record: string; at: number } | undefined;
  private lastRenew = 0;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(options: LeaderElectionOptions) {
    this.options = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryMs: 2_000, ...options };
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /**
   * Campaigns until stopped. `onStartedLeading` runs when this replica wins; `onStoppedLeading`
   * when it loses the Lease (the caller should stop working, as controller-runtime exits).
   */
  run(callbacks: { onStartedLeading: () => void; onStoppedLeading: () => void }): void {
    this.loop ??= (async () => {
      while (!this.stopped) {
        const won = await this.tryAcquireOrRenew().catch((error: unknown) => {
          this.options.log.warn('lease update failed', { lease: this.options.name, error: (error as Error).message });
          return false;
        });
        if (won) {
          this.lastRenew = Date.now();
          if (!this.leading) {
            this.leading = true;
            this.options.log.info('became leader', { lease: `${this.options.namespace}/${this.options.name}`, identity: this.options.identity });
            callbacks.onStartedLeading();
          }
        } else if (this.leading && Date.now() - this.lastRenew > this.options.renewDeadlineMs) {
          this.leading = false;
          this.options.log.warn('lost leadership', { lease: this.options.name });
          callbacks.onStoppedLeading();
        }
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.options.retryMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
    })();
  }

  /** Stops campaigning; a leader releases the Lease so a standby takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    if (this.leading) {
      this.leading = false;
      await this.release().catch((error: unknown) => this.options.log.warn('lease release failed', { error: (error as Error).message }));
    }
  }

  private path(name?: string) {
    return resourcePath(LEASES, this.options.namespace, name);
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const { client, identity, name } = this.options;
    const now = new Date();
    const spec: LeaseSpec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(this.options.leaseDurationMs / 1000),
      acquireTime: microTime(now),
      renewTime: microTime(now),
      leaseTransitions: 0,
    };
    let lease: Lease;
    try {
      lease = await client.request<Lease>('GET', this.path(name));
    } catch (error) {
      if (!isNotFound(error)) throw error;
      try {
        await client.request('POST', this.path(), { body: { apiVersion: LEASES.apiVersion, kind: LEASES.kind, metadata: { name, namespace: this.options.namespace }, spec } });
        return true;
      } catch (createError) {
        if (isConflict(createError)) return false;
        throw createError;
      }
    }
    const current = lease.spec ?? {};
    const record = JSON.stringify(current);
    if (this.observed?.record !== record) this.observed = { record, at: Date.now() };
    const holder = current.holderIdentity ?? '';
    const durationMs = (current.leaseDurationSeconds ?? 0) * 1000;
    const expired = holder === '' || Date.now() - this.observed.at > durationMs;
    if (holder !== identity && !expired) return false;
    const next: LeaseSpec =
      holder === identity
        ? { ...current, renewTime: spec.renewTime, leaseDurationSeconds: spec.leaseDurationSeconds }
        : { ...spec, leaseTransitions: (current.leaseTransitions ?? 0) + 1 };
    try {
      const updated = await client.request<Lease>('PUT', this.path(name), { body: { ...lease, spec: next } });
      this.observed = { record: JSON.stringify(updated.spec ?? {}), at: Date.now() };
      return true;
    } catch (error) {
      if (isConflict(error)) return false; // someone else wrote first
      throw error;
    }
  }

  private async release(): Promise<void> {
    const lease = await this.options.client.request<Lease>('GET', this.path(this.options.name));
    if (lease.spec?.holderIdentity !== this.options.identity) return;
    await this.options.client.request('PUT', this.path(this.options.name), {
      body: { ...lease, spec: { ...lease.spec, holderIdentity: null, leaseDurationSeconds: 1, acquireTime: null, renewTime: null } },
    });
  }
}
