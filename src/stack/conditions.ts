/**
 * The stack's condition vocabulary, shared by the operator (which sets them), the status schema
 * and the CLI (which reads them): every condition type and reason is a constant here, and the
 * reasons that wait for a person are derived from the same set.
 */
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
  /** A volume size was lowered: volumes cannot shrink. */
  storageShrinkRefused: 'StorageShrinkRefused',
  /** A claim could not be grown (its StorageClass does not allow expansion, or the API refused). */
  storageResizeFailed: 'StorageResizeFailed',
} as const;

export type Reason = (typeof REASON)[keyof typeof REASON];

/**
 * Condition reasons after which the operator will not get further until a person changes
 * something (the spec, a StorageClass, an annotation); each such condition's message says what.
 * `telemetry-stack up` stops waiting on them.
 */
export const NEEDS_A_PERSON: readonly string[] = [
  REASON.invalidSpec,
  REASON.applyFailed,
  REASON.storageShrinkRefused,
  REASON.storageResizeFailed,
  REASON.retentionShorteningUnconfirmed,
  REASON.objectConflict,
  REASON.secretNotReferenceable,
  REASON.invalidHashKey,
] satisfies readonly Reason[];

/** The summary conditions, in the order a person reads them: the verdict, what is happening, what failed. */
export const SUMMARY_CONDITIONS: readonly string[] = [CONDITION.ready, CONDITION.progressing, CONDITION.degraded];
