/**
 * Validation with errors a person can act on: every problem names the field path
 * (spec.access.users[1].name) and says what is wrong and how to fix it.
 */
import type { z } from 'zod';
import { API_GROUP_VERSION, KIND } from './constants.ts';
import { type TelemetryStack, TelemetryStackResource } from './resource.ts';

export interface FieldProblem {
  /** Dotted path from the document root, e.g. "spec.retention.eventsDays". */
  readonly path: string;
  readonly message: string;
}

export type Validated =
  | { readonly ok: true; readonly stack: TelemetryStack }
  | { readonly ok: false; readonly problems: readonly FieldProblem[] };

export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out || '(root)';
}

function describeIssue(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'unrecognized_keys':
      return `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}; check the spelling against schema/telemetrystack.schema.json`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`;
    case 'invalid_type':
      // zod does not keep the input in issues; its message says what it received.
      if (issue.message.endsWith('received undefined')) return `is required (expected ${issue.expected})`;
      return `must be ${issue.expected === 'int' ? 'an integer' : `a ${issue.expected}`}`;
    case 'too_small':
      return issue.origin === 'array'
        ? `must have at least ${String(issue.minimum)} item(s)`
        : issue.origin === 'string'
          ? `must not be empty`
          : `must be at least ${String(issue.minimum)}`;
    case 'too_big':
      return issue.origin === 'array'
        ? `must have at most ${String(issue.maximum)} items`
        : issue.origin === 'string'
          ? `must be at most ${String(issue.maximum)} characters`
          : `must be at most ${String(issue.maximum)}`;
    default:
      return issue.message;
  }
}

function problemsOf(error: z.ZodError): FieldProblem[] {
  return error.issues.map((issue) => ({ path: formatPath(issue.path), message: describeIssue(issue) }));
}

/**
 * Validates a full TelemetryStack resource, or a bare spec (then `name` names it).
 * Returns defaults applied; never throws for user mistakes.
 */
export function validateStack(document: unknown, options: { name?: string; namespace?: string } = {}): Validated {
  const resource = isResource(document)
    ? document
    : {
        apiVersion: API_GROUP_VERSION,
        kind: KIND,
        metadata: { name: options.name ?? 'telemetry', ...(options.namespace ? { namespace: options.namespace } : {}) },
        spec: document ?? {},
      };
  const parsed = TelemetryStackResource.safeParse(resource);
  if (parsed.success) return { ok: true, stack: parsed.data };
  // A bare spec's paths still start at "spec." so they match the resource form users see in docs.
  return { ok: false, problems: problemsOf(parsed.error) };
}

export function isResource(document: unknown): document is Record<string, unknown> {
  return typeof document === 'object' && document !== null && 'kind' in document && 'apiVersion' in document;
}
