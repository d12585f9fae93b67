/**
 * The last successful ClickHouse leg of each stack, by what it was given: a reconcile whose leg
 * would get the same inputs (the stack's uid, spec and annotations, the URL, every account's
 * credentials) as one that succeeded less than `recheckMs` ago reuses that outcome instead of
 * sending ClickHouse its 150 statements again.
 *
 * Why: a stack is reconciled many times while it converges (each write of its own, each pod
 * coming up, queues it again), and every leg re-read the schema, the TTLs and every user and
 * grant to find nothing to do. On the embedded engine, where all stacks' legs share one process,
 * that doubled the leg's work while a hundred stacks converged.
 *
 * What still runs the leg: any change of its inputs; a failed leg (nothing is kept); a reconcile
 * that found ClickHouse not serving (its pod restarted: the data may be new, the entry is
 * dropped); every resync (the controller empties the memo, so a change made inside ClickHouse by
 * hand, a user dropped or a TTL altered, is repaired, and an outage of an external server seen,
 * at the same pace as before); and `recheckMs` as a bound. Only the fingerprint and the small
 * outcome are kept, never a password: the fingerprint is a SHA-256 over the inputs.
 */
import type { TelemetryStack } from '../api/resource.ts';
import { contentHash } from '../stack/hash.ts';
import type { ClickHouseCredentials, ClickHouseOutcome } from './clickhouse-leg.ts';

/** How long an unchanged leg is trusted at most (the controller passes its resync period). */
export const CLICKHOUSE_RECHECK_MS = 5 * 60_000;

export class ClickHouseMemo {
  private readonly entries = new Map<string, { fingerprint: string; at: number; outcome: ClickHouseOutcome }>();
  private readonly recheckMs: number;
  private readonly clock: () => number;

  constructor(options: { recheckMs?: number; now?: () => number } = {}) {
    this.recheckMs = options.recheckMs ?? CLICKHOUSE_RECHECK_MS;
    this.clock = options.now ?? Date.now;
  }

  /** The fingerprint of a leg's inputs. */
  static fingerprint(stack: TelemetryStack, url: string, credentials: ClickHouseCredentials): string {
    const account = (value: { username: string; password: string } | undefined) => (value ? contentHash(value.username, value.password) : '');
    return contentHash(
      JSON.stringify({ uid: stack.metadata.uid, spec: stack.spec, annotations: stack.metadata.annotations ?? {} }),
      url,
      account(credentials.admin),
      account(credentials.ingest),
      account(credentials.grafana),
      ...[...credentials.users].sort(([a], [b]) => a.localeCompare(b)).map(([name, value]) => `${name}=${account(value)}`),
    );
  }

  /** The outcome of the last leg with these inputs, if it succeeded recently enough; its `changes` are empty (nothing was sent). */
  reuse(key: string, fingerprint: string): ClickHouseOutcome | undefined {
    const entry = this.entries.get(key);
    if (!entry || entry.fingerprint !== fingerprint || this.clock() - entry.at >= this.recheckMs) return undefined;
    return { ...entry.outcome, changes: [] };
  }

  /**
   * Keeps a successful outcome. One with shorter retention withheld is not kept: its message
   * names the bytes a disk cap would drop, which grow, and it waits on a person's confirmation.
   */
  remember(key: string, fingerprint: string, outcome: ClickHouseOutcome): void {
    if (outcome.withheldRetention?.length) {
      this.entries.delete(key);
      return;
    }
    this.entries.set(key, { fingerprint, at: this.clock(), outcome: { ...outcome, changes: [] } });
  }

  clear(): void {
    this.entries.clear();
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
