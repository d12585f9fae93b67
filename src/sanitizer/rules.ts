/**
 * The one rule table both consumers read: compile.ts renders it as OTTL for the collector,
 * preview.ts executes it in-process. Everything that decides what happens to a value (which
 * pattern, which replacement template, which order, which field) is decided here, once.
 */
import { RE2JS } from 're2js';
import { RULE_TARGETS, type TelemetryStackSpec } from '../api/spec.ts';
import { KNOWN_ATTRIBUTE_KEYS } from './fields.ts';
import { HASHED_GROUP, KEEP_AFTER, KEEP_BEFORE, PRESETS } from './presets.ts';

export type RuleTarget = (typeof RULE_TARGETS)[number];
export type RuleAction = 'redact' | 'hash' | 'drop';

export interface EffectiveRule {
  readonly name: string;
  readonly pattern: string;
  readonly action: RuleAction;
  readonly targets: readonly RuleTarget[];
  /** True for built-in presets, whose keep-groups the replacement writes back. */
  readonly preset: boolean;
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
      preset: true,
    })),
    ...spec.sanitizer.rules.map((rule) => ({
      name: rule.name,
      pattern: rule.pattern,
      action: rule.action,
      targets: rule.targets,
      preset: false,
    })),
  ];
}

// ------------------------------------------------------------------ replacements

export const redactedMarker = (rule: string) => `[REDACTED:${rule}]`;
export const droppedMarker = (rule: string) => `[DROPPED:${rule}]`;
/** fmt.Sprintf format of a keyed hash (OTTL replace_pattern's replacementFormat). */
export const hashFormat = (rule: string) => `[HASH:${rule}:%s]`;

/** Group names in the order they appear in the pattern. */
function groupNames(pattern: string): string[] {
  const named = RE2JS.compile(pattern).namedGroups();
  return Object.keys(named).sort((a, b) => named[a]! - named[b]!);
}

/**
 * The Go regexp template (Expand syntax, `${name}`) a `redact` rule replaces each match with:
 * the preset's keep-groups around the marker. Custom rules replace the whole match (their
 * own groups mean nothing to us).
 */
export function redactTemplate(rule: EffectiveRule): string {
  if (!rule.preset) return redactedMarker(rule.name);
  const names = groupNames(rule.pattern);
  const refs = (stem: string) => names.filter((name) => new RegExp(`^${stem}[0-9]+$`).test(name)).map((name) => `\${${name}}`).join('');
  return `${refs(KEEP_BEFORE)}${redactedMarker(rule.name)}${refs(KEEP_AFTER)}`;
}

/** The template of what a `hash` rule hashes, after the key: a preset's "value" group, else the whole match. */
export function hashInputTemplate(rule: EffectiveRule): string {
  return rule.preset && groupNames(rule.pattern).includes(HASHED_GROUP) ? `\${${HASHED_GROUP}}` : '${0}';
}

/** A pattern matching a whole value that contains a match of `pattern` (for drop on strings). */
export function wholeValuePattern(pattern: string): string {
  return `(?s)^.*(?:${pattern}).*$`;
}

// ------------------------------------------------------------------ steps

/** One OTTL statement context of the transform processor. */
export type StepContext = 'resource' | 'log' | 'datapoint';

interface StepBase {
  readonly rule: string;
  /** The rule's position among the effective rules: a rule's steps on several fields share it. */
  readonly order: number;
  /** Which string the step rewrites within its context. */
  readonly field: 'body' | 'attributes';
  readonly pattern: string;
}

/** Every match becomes `template` expanded (Go Regexp.ReplaceAllString). */
export interface ReplaceStep extends StepBase {
  readonly action: 'redact';
  readonly template: string;
}

/** Every match becomes hashFormat(SHA-256(key + input expanded)) (OTTL replace_pattern with SHA256). */
export interface HashStep extends StepBase {
  readonly action: 'hash';
  readonly input: string;
  readonly format: string;
}

/**
 * A value holding a match goes: attributes under a known key are deleted; any other
 * attribute, and the body, become the marker (OTTL cannot delete a key it does not name).
 */
export interface DropStep extends StepBase {
  readonly action: 'drop';
  readonly wholeValue: string;
  readonly marker: string;
  /** Keys deleted outright; empty for the body. */
  readonly deleteKeys: readonly string[];
}

export type SanitizerStep = ReplaceStep | HashStep | DropStep;

export interface StepGroup {
  readonly context: StepContext;
  readonly steps: readonly SanitizerStep[];
}

function step(rule: EffectiveRule, order: number, field: 'body' | 'attributes'): SanitizerStep {
  const base = { rule: rule.name, order, field, pattern: rule.pattern };
  switch (rule.action) {
    case 'redact':
      return { ...base, action: 'redact', template: redactTemplate(rule) };
    case 'hash':
      return { ...base, action: 'hash', input: hashInputTemplate(rule), format: hashFormat(rule.name) };
    case 'drop':
      return {
        ...base,
        action: 'drop',
        wholeValue: wholeValuePattern(rule.pattern),
        marker: droppedMarker(rule.name),
        deleteKeys: field === 'body' ? [] : KNOWN_ATTRIBUTE_KEYS,
      };
  }
}

/**
 * The sanitizer as ordered steps per context. Within the log context the body steps of all
 * rules run first, then the attribute steps; each rule runs over all values before the next.
 */
export function sanitizerSteps(spec: TelemetryStackSpec): { logs: StepGroup[]; metrics: StepGroup[] } {
  const rules = effectiveRules(spec);
  const targeting = (target: RuleTarget, field: 'body' | 'attributes') =>
    rules.flatMap((rule, order) => (rule.targets.includes(target) ? [step(rule, order, field)] : []));
  const group = (context: StepContext, steps: SanitizerStep[]): StepGroup[] => (steps.length > 0 ? [{ context, steps }] : []);
  const resource = group('resource', targeting('resourceAttributes', 'attributes'));
  return {
    logs: [...resource, ...group('log', [...targeting('body', 'body'), ...targeting('attributes', 'attributes')])],
    metrics: [...resource, ...group('datapoint', targeting('metricAttributes', 'attributes'))],
  };
}
