/**
 * The error policy, kept out of the reconcile body: every failure maps to one constant
 * reason (a metric label and a log field). All of them retry with backoff; the reconcile
 * itself turns the ones a person must fix (invalid spec, rejected object, missing
 * Secret) into conditions first.
 */
import { KubeApiError } from './kube.ts';

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
