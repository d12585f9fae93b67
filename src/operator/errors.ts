/**
 * The error policy, kept out of the reconcile body: every failure maps to one constant
 * reason (a metric label and a log field), and this file decides which failures only a
 * person can fix. All of them retry with backoff; the reconcile turns the ones a person
 * must fix (invalid spec, conflicting or refused objects, unreferenceable Secrets) into
 * conditions and a Warning event first.
 */
import { CollectorConfigTooLargeError } from '../charts/collector/config.ts';
import { ObjectConflictError } from './apply.ts';
import { REASON } from '../stack/conditions.ts';
import { SecretReferenceError } from './credentials.ts';
import { KubeApiError } from '../kube/client.ts';

/** A reconcile step failed after status said why; `reason` is the condition reason. */
export class ReconcileError extends Error {
  readonly reason: string;
  constructor(reason: string, message: string) {
    super(message);
    this.name = 'ReconcileError';
    this.reason = reason;
  }
}

export function errorReason(error: unknown): string {
  if (error instanceof ReconcileError) return error.reason;
  if (error instanceof KubeApiError) {
    if (error.status === 0) return 'ApiUnreachable';
    if (error.status === 409) return 'Conflict';
    if (error.status === 429) return 'Throttled';
    if (error.status === 403) return 'Forbidden';
    if (error.status >= 500) return 'ApiServerError';
    return 'ApiRejected';
  }
  return 'Unexpected';
}

/** A failure a person must fix, with the one line the operator logs for it. */
export interface PersonNeeded {
  readonly failure: ReconcileError;
  readonly log: string;
}

/**
 * Failures found while preparing (before anything is written) that no retry heals: objects of
 * the stack's names that are not the stack's, a Secret reference that is refused, a spec that
 * validates but cannot be deployed. Undefined for anything a retry may heal.
 */
export function preparationNeedsPerson(error: unknown): PersonNeeded | undefined {
  if (error instanceof ReconcileError) return { failure: error, log: `${error.reason}; nothing written` };
  if (error instanceof ObjectConflictError) return { failure: new ReconcileError(REASON.objectConflict, error.message), log: 'objects of this name exist and are not this stack\'s; nothing written' };
  if (error instanceof SecretReferenceError) return { failure: new ReconcileError(REASON.secretNotReferenceable, error.message), log: 'a Secret reference is refused; nothing written' };
  if (error instanceof CollectorConfigTooLargeError) return { failure: new ReconcileError(REASON.invalidSpec, `${error.path}: ${error.message}`), log: 'the spec validates but cannot be deployed; nothing written' };
  return undefined;
}

/**
 * Failures of an apply that no retry heals: an object created by someone else between the
 * preflight and the apply, and a request the API server rejects as invalid or forbidden. Not a
 * 404 (something the object refers to is not there yet, or its namespace is going away), a 409
 * (a stale read) or a 429 (throttling): a retry heals those.
 */
export function applyNeedsPerson(error: unknown): PersonNeeded | undefined {
  if (error instanceof ObjectConflictError) return preparationNeedsPerson(error);
  if (error instanceof KubeApiError && error.status >= 400 && error.status < 500 && ![404, 409, 429].includes(error.status)) {
    return { failure: new ReconcileError(REASON.applyFailed, error.message), log: 'the API server refused an object' };
  }
  return undefined;
}
