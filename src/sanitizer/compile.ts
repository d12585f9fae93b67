/**
 * Compiles the sanitizer section of a spec (presets plus custom rules) and the
 * collection level into collector processors. Pure: the same spec always yields the
 * same configuration, so the config hash only changes when the rules do.
 */
import { RULE_TARGETS, type TelemetryStackSpec } from '../api/spec.ts';
import { LEVEL_POLICIES } from './levels.ts';
import { escapeForConfmap, ottlPattern, ottlString } from './ottl.ts';
import { PRESETS } from './presets.ts';

type Target = (typeof RULE_TARGETS)[number];

/** Environment variable through which the collector receives the hash key (from a generated Secret, never a ConfigMap). */
export const HASH_KEY_ENV = 'SANITIZER_HASH_KEY';

export interface EffectiveRule {
  readonly name: string;
  readonly pattern: string;
  readonly action: 'redact' | 'hash' | 'drop';
  readonly targets: readonly Target[];
}

/** Presets that are on (in preset order), then the custom rules in the order the spec lists them. */
export function effectiveRules(spec: TelemetryStackSpec): EffectiveRule[] {
  const disabled = new Set<string>(spec.sanitizer.disabledPresets);
  return [
    ...PRESETS.filter((preset) => !disabled.has(preset.name)).map((preset) => ({
      name: preset.name,
      pattern: preset.pattern,
      action: preset.action,
      targets: RULE_TARGETS,
    })),
    ...spec.sanitizer.rules.map((rule) => ({
      name: rule.name,
      pattern: rule.pattern,
      action: rule.action,
      targets: rule.targets,
    })),
  ];
}

/** The statement that applies one rule to one string field (`body`) or to every value of a map (`attributes`). */
function statement(rule: EffectiveRule, field: 'body' | 'attributes'): string {
  const pattern = ottlPattern(rule.pattern);
  const label = rule.name;
  if (rule.action === 'drop') {
    // OTTL cannot delete map entries by value, so a dropped value becomes a marker that
    // keeps the fact of removal visible; the whole value goes, not just the match.
    const wholeValue = ottlPattern(`(?s)^.*(?:${rule.pattern}).*$`);
    const marker = ottlString(`[DROPPED:${label}]`);
    return field === 'body'
      ? `replace_pattern(body, ${wholeValue}, ${marker}) where IsString(body)`
      : `replace_all_patterns(attributes, "value", ${wholeValue}, ${marker})`;
  }
  if (rule.action === 'hash') {
    // Keyed hash: SHA-256 over key + match. The key comes from the environment, so it is
    // in neither the ConfigMap nor the custom resource; "${0}" is the whole match.
    const replacement = `"\${env:${HASH_KEY_ENV}}${escapeForConfmap('${0}')}"`;
    const format = ottlString(`[HASH:${label}:%s]`);
    return field === 'body'
      ? `replace_pattern(body, ${pattern}, ${replacement}, SHA256, ${format}) where IsString(body)`
      : `replace_all_patterns(attributes, "value", ${pattern}, ${replacement}, SHA256, ${format})`;
  }
  const redacted = ottlString(`[REDACTED:${label}]`);
  return field === 'body'
    ? `replace_pattern(body, ${pattern}, ${redacted}) where IsString(body)`
    : `replace_all_patterns(attributes, "value", ${pattern}, ${redacted})`;
}

interface StatementGroup {
  context: 'log' | 'resource' | 'datapoint';
  statements: string[];
}

function group(context: StatementGroup['context'], statements: string[]): StatementGroup[] {
  return statements.length > 0 ? [{ context, statements }] : [];
}

/** The transform processor that sanitizes logs and metrics. */
export function sanitizerProcessor(spec: TelemetryStackSpec): Record<string, unknown> {
  const rules = effectiveRules(spec);
  const targeting = (target: Target) => rules.filter((rule) => rule.targets.includes(target));
  const logStatements = [
    ...targeting('body').map((rule) => statement(rule, 'body')),
    ...targeting('attributes').map((rule) => statement(rule, 'attributes')),
  ];
  const resourceStatements = targeting('resourceAttributes').map((rule) => statement(rule, 'attributes'));
  const datapointStatements = targeting('metricAttributes').map((rule) => statement(rule, 'attributes'));
  return {
    error_mode: 'ignore',
    log_statements: [...group('resource', resourceStatements), ...group('log', logStatements)],
    metric_statements: [...group('resource', resourceStatements), ...group('datapoint', datapointStatements)],
  };
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
