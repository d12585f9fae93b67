/**
 * Compiles the sanitizer section of a spec (presets plus custom rules) and the
 * collection level into collector processors. Pure: the same spec always yields the
 * same configuration, so the config hash only changes when the rules do.
 */
import type { TelemetryStackSpec } from '../api/spec.ts';
import { LEVEL_POLICIES } from './levels.ts';
import { escapeForConfmap, ottlPattern, ottlString } from './ottl.ts';
import { sanitizerSteps, type SanitizerStep, type StepGroup } from './rules.ts';

export { effectiveRules, type EffectiveRule } from './rules.ts';

/** Environment variable through which the collector receives the hash key (from a generated Secret, never a ConfigMap). */
export const HASH_KEY_ENV = 'SANITIZER_HASH_KEY';

/** The OTTL statements of one step. */
function statements(step: SanitizerStep): string[] {
  const pattern = ottlPattern(step.pattern);
  const onBody = step.field === 'body';
  /** replace_pattern on the body, replace_all_patterns over every string value of the map. */
  const replace = (regex: string, replacement: string, hash = '') =>
    onBody
      ? `replace_pattern(body, ${regex}, ${replacement}${hash}) where IsString(body)`
      : `replace_all_patterns(attributes, "value", ${regex}, ${replacement}${hash})`;
  switch (step.action) {
    case 'redact':
      // The template holds ${preN} references: escaped to $${preN} for the config resolver.
      return [replace(pattern, ottlPattern(step.template))];
    case 'hash': {
      // Keyed hash: SHA-256 over key + input. The key comes from the environment, so it is in
      // neither the ConfigMap nor the custom resource; the input template ("${0}", "${value}")
      // is escaped for the resolver, the ${env:...} reference is not.
      const input = ottlString(step.input);
      const replacement = `"\${env:${HASH_KEY_ENV}}${escapeForConfmap(input.slice(1))}`;
      return [replace(pattern, replacement, `, SHA256, ${ottlString(step.format)}`)];
    }
    case 'drop': {
      // OTTL has no stable "delete where the value matches" (delete_matching_values is newer
      // than our collector; Filter needs an alpha feature gate), so known keys are deleted by
      // name and whatever is left becomes the marker, whole.
      const deletes = step.deleteKeys.map(
        (key) => `delete_key(attributes, ${ottlString(key)}) where IsMatch(attributes[${ottlString(key)}], ${pattern})`,
      );
      return [...deletes, replace(ottlPattern(step.wholeValue), ottlString(step.marker))];
    }
  }
}

function render(groups: readonly StepGroup[]) {
  return groups.map((group) => ({ context: group.context, statements: group.steps.flatMap(statements) }));
}

/** The transform processor that sanitizes logs and metrics. */
export function sanitizerProcessor(spec: TelemetryStackSpec): Record<string, unknown> {
  const { logs, metrics } = sanitizerSteps(spec);
  return { error_mode: 'ignore', log_statements: render(logs), metric_statements: render(metrics) };
}

/** Processors that enforce the collection level on logs, keyed by processor id (empty for `full`). */
export function levelProcessors(spec: TelemetryStackSpec): Record<string, Record<string, unknown>> {
  const policy = LEVEL_POLICIES[spec.level];
  if (!policy.events) {
    // Keep the logs pipeline so clients get a success response rather than "unimplemented",
    // and drop every record in it.
    return { 'filter/level': { error_mode: 'ignore', logs: { log_record: ['true'] } } };
  }
  if (policy.removedEventAttributes.length === 0) return {};
  return {
    'transform/level': {
      error_mode: 'ignore',
      log_statements: [
        {
          context: 'log',
          statements: policy.removedEventAttributes.map((key) => `delete_key(attributes, ${ottlString(key)})`),
        },
      ],
    },
  };
}
