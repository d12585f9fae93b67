/**
 * metav1.Condition bookkeeping: lastTransitionTime changes only when a condition's status
 * changes, so that a reconcile that finds nothing new produces an identical status (and
 * the operator then writes nothing).
 */
import { isDeepStrictEqual } from 'node:util';
import type { Condition, TelemetryStackStatus } from '../api/status.ts';

export type ConditionStatus = Condition['status'];

/** Condition types, and the constant reasons the operator sets (also the error-metric labels). */
export const CONDITION = {
  ready: 'Ready',
  progressing: 'Progressing',
  degraded: 'Degraded',
  collector: 'CollectorReady',
  clickhouse: 'ClickHouseReady',
  access: 'AccessReady',
} as const;

export const REASON = {
  invalidSpec: 'InvalidSpec',
  applyFailed: 'ApplyFailed',
  available: 'Available',
  rollingOut: 'RollingOut',
  waitingForPods: 'WaitingForPods',
  /** The collector is held at 0 replicas until the ClickHouse schema it writes into is migrated. */
  waitingForSchema: 'WaitingForSchema',
  reconciled: 'Reconciled',
  schemaApplied: 'SchemaApplied',
  clickhouseFailed: 'ClickHouseFailed',
  clickhouseNotConfigured: 'ClickHouseNotConfigured',
  usersProvisioned: 'UsersProvisioned',
  asExpected: 'AsExpected',
  componentsNotReady: 'ComponentsNotReady',
  retentionShorteningUnconfirmed: 'RetentionShorteningUnconfirmed',
  /** An object with a name this stack wants exists and is not controlled by the stack: nothing was written. */
  objectConflict: 'ObjectConflict',
  /** The spec names a Secret that does not carry REFERENCEABLE_LABEL (or does not exist): it is not read or referenced. */
  secretNotReferenceable: 'SecretNotReferenceable',
  /** Deleting an external-mode stack waits to remove its users from the external ClickHouse. */
  cleanupBlocked: 'CleanupBlocked',
  /** The sanitizer's hash key Secret holds characters the collector would not read literally: nothing written. */
  invalidHashKey: 'InvalidHashKey',
} as const;

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
