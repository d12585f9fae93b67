/**
 * Compiles the sanitizer section of a spec (presets plus custom rules) and the
 * collection level into collector processors. Pure: the same spec always yields the
 * same configuration, so the config hash only changes when the rules do.
 *
 * Statements are plain text here: the config resolver's "$" escaping is applied to the whole
 * configuration at once (confmap.ts), and the one reference a statement holds, the hash key,
 * is an EnvReference inside a ConfigText.
 */
import { RE2JS } from 're2js';
import type { TelemetryStackSpec } from '../api/spec.ts';
import { type ConfigText, configText, envReference } from './confmap.ts';
import { LEVEL_POLICIES } from './levels.ts';
import { ottlString } from './ottl.ts';
import { type DropStep, sanitizerSteps, type SanitizerStep, type StepGroup } from './rules.ts';

export { effectiveRules, type EffectiveRule } from './rules.ts';

/** Environment variable through which the collector receives the hash key (from a generated Secret, never a ConfigMap). */
export const HASH_KEY_ENV = 'SANITIZER_HASH_KEY';

/**
 * Why a hash key cannot be used, or undefined. The key reaches the collector through
 * ${env:SANITIZER_HASH_KEY} inside an OTTL string literal that Go's regexp then expands, and
 * none of these readers can be told to take its characters literally: the config
 * resolver expands "${...}" in it again and turns "$$" into "$", OTTL ends the literal at '"' and
 * reads "\\" as an escape, a control character (a trailing newline from `echo`) is not allowed
 * in a literal, and regexp expansion reads "$1" as a group. Generated keys are hex; a key made by
 * hand must stay within the characters that mean nothing to any of them.
 */
export function hashKeyProblem(key: string | undefined): string | undefined {
  if (key === undefined || key.length === 0) return 'is empty; a keyed hash without a key is a plain SHA-256 that a dictionary reverses';
  const bad = /[$"\\\x00-\x1f\x7f]/u.exec(key);
  if (!bad) return undefined;
  const shown = bad[0] === '\n' ? 'a newline' : /[\x00-\x1f\x7f]/.test(bad[0]) ? 'a control character' : `'${bad[0]}'`;
  return `contains ${shown}, which the collector would not read literally (its config resolver, OTTL and Go regexp give "$", '"', "\\" and control characters meanings); use letters, digits and punctuation other than these, e.g. \`openssl rand -hex 32\``;
}

/** One OTTL statement: text, or text holding the hash key's reference. */
export type Statement = string | ConfigText;

/** replace_pattern on the body, replace_all_patterns over every string value of the map. */
function replace(step: SanitizerStep, regex: string, replacement: string | ConfigText, hash = ''): Statement {
  return step.field === 'body'
    ? configText`replace_pattern(body, ${regex}, ${replacement}${hash}) where IsString(body)`
    : configText`replace_all_patterns(attributes, "value", ${regex}, ${replacement}${hash})`;
}

/** Deletes each known key whose value matches `pattern`. */
function deleteMatching(keys: readonly string[], pattern: string): string[] {
  const regex = ottlString(pattern);
  return keys.map((key) => `delete_key(attributes, ${ottlString(key)}) where IsMatch(attributes[${ottlString(key)}], ${regex})`);
}

/** The OTTL statements of one step (a drop's deletes come from dropRun). */
function statements(step: SanitizerStep): Statement[] {
  const pattern = ottlString(step.pattern);
  switch (step.action) {
    case 'redact':
      // The template's ${preN} group references are Go regexp syntax; confmap.ts escapes them for the resolver.
      return [replace(step, pattern, ottlString(step.template))];
    case 'hash': {
      // Keyed hash: SHA-256 over key + input. The key comes from the environment, so it is in
      // neither the ConfigMap nor the custom resource; the input template ("${0}", "${value}")
      // is text, the ${env:...} reference is the chart's.
      const input = ottlString(step.input);
      const replacement = configText`"${envReference(HASH_KEY_ENV)}${input.slice(1)}`;
      return [replace(step, pattern, replacement, `, SHA256, ${ottlString(step.format)}`)];
    }
    case 'drop':
      // What is left after the deletes becomes the marker, whole.
      return [replace(step, ottlString(step.wholeValue), ottlString(step.marker))];
  }
}

/** The patterns of several drop steps as one: a value matches it when it matches any of them. */
function eitherPattern(steps: readonly DropStep[]): string | undefined {
  if (steps.length === 1) return steps[0]!.pattern;
  const combined = steps.map((step) => `(?:${step.pattern})`).join('|');
  try {
    // Two rules may use the same group name, which one pattern cannot hold: then each keeps its own deletes.
    RE2JS.compile(combined);
    return combined;
  } catch {
    return undefined;
  }
}

/**
 * A run of consecutive drop steps on attributes. OTTL has no stable "delete where the value
 * matches" (Filter needs the alpha lambda feature gate), so known keys are deleted by name, one
 * statement per key. Done per rule, 25 drop rules were 25 x 70 statements on every record (43x
 * the CPU of no rules; docs/BENCHMARKS.md); one set of deletes on the rules' patterns together removes exactly what the rules
 * one after the other would: a value one rule's marker replaced is not under a known key (that
 * key was deleted), and a marker changes only values its own rule matched.
 */
function dropRun(steps: readonly DropStep[]): Statement[] {
  const keys = steps[0]!.deleteKeys;
  const combined = eitherPattern(steps);
  const deletes = combined === undefined ? steps.flatMap((step) => deleteMatching(keys, step.pattern)) : deleteMatching(keys, combined);
  return [...deletes, ...steps.flatMap(statements)];
}

function groupStatements(steps: readonly SanitizerStep[]): Statement[] {
  const out: Statement[] = [];
  let run: DropStep[] = [];
  const flush = () => {
    if (run.length > 0) out.push(...dropRun(run));
    run = [];
  };
  for (const step of steps) {
    if (step.action === 'drop' && step.deleteKeys.length > 0) {
      run.push(step);
      continue;
    }
    flush();
    out.push(...statements(step));
  }
  flush();
  return out;
}

function render(groups: readonly StepGroup[]) {
  return groups.map((group) => ({ context: group.context, statements: groupStatements(group.steps) }));
}

/** The transform processor that sanitizes logs and metrics (a tree for confmap.ts's toConfmap). */
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
