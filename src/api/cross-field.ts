import type { z } from 'zod';

/**
 * A rule that spans several fields. It is written twice on purpose, in one place: as a
 * CEL expression that the API server checks at `kubectl apply` time (emitted into the
 * CRD as x-kubernetes-validations), and as a TypeScript predicate that `synth` and the
 * operator check. Until the real-API-server tests (operator issue) run the invalid-spec
 * table through both, keeping each pair side by side here is what keeps them in step.
 */
export interface CrossFieldRule<T> {
  /** CEL expression over `self`; true means valid. */
  readonly cel: string;
  /** The same rule in TypeScript; true means valid. */
  readonly holds: (value: T) => boolean;
  /** What is wrong and how to fix it, shown to the user. */
  readonly message: string;
  /** The field the message is about, relative to `self` (e.g. ['external']). */
  readonly path?: readonly string[];
}

/** Attaches cross-field rules to an object schema: zod checks them, and the CRD generator emits them as CEL. */
export function withRules<S extends z.ZodType>(schema: S, rules: readonly CrossFieldRule<z.output<S>>[]): S {
  const checked = schema.superRefine((value, ctx) => {
    for (const rule of rules) {
      if (!rule.holds(value)) {
        ctx.addIssue({ code: 'custom', message: rule.message, path: [...(rule.path ?? [])] });
      }
    }
  }) as S;
  const existing = (checked.meta()?.['x-kubernetes-validations'] as unknown[] | undefined) ?? [];
  return checked.meta({
    ...checked.meta(),
    'x-kubernetes-validations': [
      ...existing,
      ...rules.map((rule) => ({
        rule: rule.cel,
        message: rule.message,
        ...(rule.path?.length ? { fieldPath: rule.path.map((p) => `.${p}`).join('') } : {}),
      })),
    ],
  }) as S;
}
