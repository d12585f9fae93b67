/**
 * metav1.Condition bookkeeping: lastTransitionTime changes only when a condition's status
 * changes, so that a reconcile that finds nothing new produces an identical status (and
 * the operator then writes nothing).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Condition, TelemetryStackStatus } from '../api/status.ts';

export type ConditionStatus = Condition['status'];

export interface ConditionInput {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** Merges new conditions into the previous list, keeping lastTransitionTime where the status did not change. */
export function mergeConditions(previous: readonly Condition[] | undefined, next: readonly ConditionInput[], generation: number | undefined, now: string): Condition[] {
  return next.map((condition) => {
    const old = previous?.find((candidate) => candidate.type === condition.type);
    const lastTransitionTime = old && old.status === condition.status ? old.lastTransitionTime : now;
    return {
      type: condition.type,
      status: condition.status,
      ...(generation !== undefined ? { observedGeneration: generation } : {}),
      lastTransitionTime,
      reason: condition.reason,
      // The API caps messages at 32 KiB.
      message: condition.message.slice(0, 32_000),
    };
  });
}

export function findCondition(status: TelemetryStackStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((condition) => condition.type === type);
}

/** Status equality that ignores condition order (the API server keeps list order, but a map-list's order carries no meaning). */
export function sameStatus(a: TelemetryStackStatus | undefined, b: TelemetryStackStatus): boolean {
  const normalise = (status: TelemetryStackStatus | undefined) =>
    status === undefined ? undefined : { ...status, conditions: [...(status.conditions ?? [])].sort((x, y) => x.type.localeCompare(y.type)) };
  return isDeepStrictEqual(normalise(a), normalise(b));
}
