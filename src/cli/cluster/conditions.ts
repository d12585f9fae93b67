/** A stack's status in words, and waiting for it to become Ready while showing progress. */
import type { Condition } from '../../api/status.ts';
import { CONDITION, NEEDS_A_PERSON, SUMMARY_CONDITIONS } from '../../stack/conditions.ts';
import type { CommandIo } from '../framework/io.ts';
import { UserError } from '../framework/io.ts';
import { getOptional, type Kube } from './connection.ts';
import { type ClusterStack, fromRaw, stackPath } from './stacks.ts';

/** The order a person reads them in: the verdict first, then what is happening, then the parts. */
const ORDER = SUMMARY_CONDITIONS;

export function sortConditions(conditions: readonly Condition[]): Condition[] {
  const rank = (type: string) => (ORDER.includes(type) ? ORDER.indexOf(type) : ORDER.length);
  return [...conditions].sort((a, b) => rank(a.type) - rank(b.type) || a.type.localeCompare(b.type));
}

/** "3m ago", "2h ago": how long a condition has held. */
export function ago(since: string, now: Date): string {
  const seconds = Math.max(0, Math.round((now.getTime() - Date.parse(since)) / 1000));
  if (!Number.isFinite(seconds)) return 'at an unknown time';
  if (seconds < 90) return `${seconds}s ago`;
  if (seconds < 90 * 60) return `${Math.round(seconds / 60)}m ago`;
  if (seconds < 36 * 3600) return `${Math.round(seconds / 3600)}h ago`;
  return `${Math.round(seconds / 86400)}d ago`;
}

/** Words for one condition, e.g. "Ready: no (ClickHouseStarting) since 2m ago: waiting for ...". */
export function describeCondition(condition: Condition, now: Date): string {
  // Degraded is the one whose True is bad news.
  const word = condition.status === 'Unknown' ? 'unknown' : condition.status === 'True' ? 'yes' : 'no';
  const message = condition.message ? `: ${condition.message}` : '';
  return `${condition.type}: ${word} (${condition.reason}) since ${ago(condition.lastTransitionTime, now)}${message}`;
}

export function readyCondition(found: Pick<ClusterStack, 'status'>): Condition | undefined {
  return found.status.conditions?.find((c) => c.type === CONDITION.ready);
}

/** Ready=True for the current generation (a Ready from before the last edit does not count). */
export function isReady(found: ClusterStack): boolean {
  const ready = readyCondition(found);
  if (ready?.status !== 'True') return false;
  const observed = ready.observedGeneration ?? found.status.observedGeneration;
  return found.generation === undefined || observed === undefined || observed >= found.generation;
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly pollMs: number;
  readonly sleep: (ms: number) => Promise<void>;
  readonly now: () => Date;
}

/** Polls the stack until it is Ready, printing each change of its conditions to stderr. */
export async function waitForReady(kube: Kube, namespace: string, name: string, io: CommandIo, options: WaitOptions): Promise<ClusterStack> {
  const started = options.now().getTime();
  const printed = new Set<string>();
  let last: ClusterStack | undefined;
  for (;;) {
    const raw = await getOptional<Parameters<typeof fromRaw>[0]>(kube, stackPath(namespace, name), `TelemetryStack ${namespace}/${name}`);
    if (!raw) throw new UserError(`TelemetryStack ${namespace}/${name} disappeared while waiting for it (deleted by someone else?)`);
    last = fromRaw(raw);
    for (const condition of sortConditions(last.status.conditions ?? [])) {
      const key = `${condition.type}/${condition.status}/${condition.reason}/${condition.message}`;
      if (printed.has(key)) continue;
      printed.add(key);
      io.stderr.write(`  ${condition.type}=${condition.status} ${condition.reason}${condition.message ? `: ${condition.message}` : ''}\n`);
    }
    if (isReady(last)) return last;
    const current = last;
    const blocked = (current.status.conditions ?? []).find(
      (condition) => NEEDS_A_PERSON.includes(condition.reason) && (condition.observedGeneration ?? current.status.observedGeneration ?? 0) >= (current.generation ?? 0),
    );
    if (blocked) {
      throw new UserError(`TelemetryStack ${namespace}/${name} will not become Ready until you act: ${describeCondition(blocked, options.now())}`);
    }
    const elapsed = options.now().getTime() - started;
    if (elapsed >= options.timeoutMs) {
      const conditions = sortConditions(last.status.conditions ?? []).map((c) => `  ${describeCondition(c, options.now())}`);
      throw new UserError(
        `TelemetryStack ${namespace}/${name} is not Ready after ${Math.round(elapsed / 1000)}s` +
          (conditions.length > 0 ? `:\n${conditions.join('\n')}` : ': it has no status yet, so the operator has not reconciled it (is the operator running?)') +
          `\nFix: run "telemetry-stack doctor -n ${namespace} --stack ${name}" for the failing check and its fix; pods that cannot pull images or lack memory show in "kubectl get events -n ${namespace}".`,
      );
    }
    await options.sleep(options.pollMs);
  }
}
