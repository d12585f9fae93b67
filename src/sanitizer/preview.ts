/**
 * The preview engine: what the collector would store for a log record, computed in-process
 * from the same step table the collector configuration is compiled from (rules.ts), with the
 * semantics of the OTTL functions compile.ts emits:
 *
 *   level (filter/level drops every event; transform/level deletes free-text keys)
 *   -> sanitizer steps of the log context, in order:
 *        redact  replace_pattern / replace_all_patterns     = Go ReplaceAllString(template)
 *        hash    ... with SHA256 and a format               = per match: format % sha256hex(Expand(key + input))
 *        drop    delete_key where IsMatch for known keys, then the whole-value marker
 *   -> identity (attributes/identity upserts enduser.id)  -- only when a user is given
 *
 * The processor order is the one config.ts renders; test/identity.test.ts walks the rendered
 * pipeline to keep the two in step. Records carry only a body and string attributes, so
 * resource and data-point steps do not apply here.
 */
import { createHash } from 'node:crypto';
import type { TelemetryStackSpec } from '../api/spec.ts';
import { IDENTITY_ATTRIBUTE } from './fields.ts';
import { GoRegexp } from './go-regexp.ts';
import { LEVEL_POLICIES } from './levels.ts';
import { sanitizerSteps, type SanitizerStep } from './rules.ts';

/** One input or output line of `telemetry-stack sanitize`. */
export interface PreviewRecord {
  body?: string;
  attributes?: Record<string, string>;
}

/** What happened to one field of one record, for --explain. */
export interface Firing {
  /** "body" or "attributes.<key>". */
  readonly field: string;
  /** Rule name, or "level:<level>" / "identity". */
  readonly rule: string;
  readonly effect: 'redacted' | 'hashed' | 'deleted' | 'replaced by marker' | 'stamped' | 'record dropped';
  /** Matches replaced (redact, hash). */
  readonly matches?: number;
}

export interface PreviewResult {
  /** undefined when the level stores no events. */
  readonly record: PreviewRecord | undefined;
  readonly firings: readonly Firing[];
}

export interface PreviewOptions {
  /** The collector's SANITIZER_HASH_KEY. */
  readonly hashKey: string;
  /** Authenticated user to stamp as the collector does; omitted: no stamp. */
  readonly user?: string | undefined;
}

interface CompiledStep {
  readonly step: SanitizerStep;
  readonly regexp: GoRegexp;
  readonly wholeValue?: GoRegexp;
  readonly deleteKeys: ReadonlySet<string>;
}

export class SanitizerPreview {
  private readonly spec: TelemetryStackSpec;
  private readonly options: PreviewOptions;
  private readonly steps: readonly CompiledStep[];

  constructor(spec: TelemetryStackSpec, options: PreviewOptions) {
    this.spec = spec;
    this.options = options;
    this.steps = sanitizerSteps(spec)
      .logs.filter((group) => group.context === 'log')
      .flatMap((group) => group.steps)
      .map((step) => ({
        step,
        regexp: new GoRegexp(step.pattern),
        ...(step.action === 'drop' ? { wholeValue: new GoRegexp(step.wholeValue) } : {}),
        deleteKeys: new Set(step.action === 'drop' ? step.deleteKeys : []),
      }));
  }

  apply(input: PreviewRecord): PreviewResult {
    const firings: Firing[] = [];
    const record: PreviewRecord = {
      ...(input.body !== undefined ? { body: input.body } : {}),
      ...(input.attributes !== undefined ? { attributes: { ...input.attributes } } : {}),
    };
    const policy = LEVEL_POLICIES[this.spec.level];
    const levelRule = `level:${policy.level}`;
    if (!policy.events) return { record: undefined, firings: [...firings, { field: '*', rule: levelRule, effect: 'record dropped' }] };
    for (const key of policy.removedEventAttributes) {
      if (record.attributes && key in record.attributes) {
        delete record.attributes[key];
        firings.push({ field: `attributes.${key}`, rule: levelRule, effect: 'deleted' });
      }
    }
    for (const compiled of this.steps) {
      if (compiled.step.field === 'body') {
        if (record.body !== undefined) {
          const result = this.rewrite(compiled, record.body);
          if (result !== undefined) {
            record.body = result.value;
            firings.push({ field: 'body', rule: compiled.step.rule, ...result.firing });
          }
        }
      } else if (record.attributes) {
        for (const [key, value] of Object.entries(record.attributes)) {
          const field = `attributes.${key}`;
          if (compiled.deleteKeys.has(key) && compiled.regexp.matchString(value)) {
            delete record.attributes[key];
            firings.push({ field, rule: compiled.step.rule, effect: 'deleted' });
            continue;
          }
          const result = this.rewrite(compiled, value);
          if (result !== undefined) {
            record.attributes[key] = result.value;
            firings.push({ field, rule: compiled.step.rule, ...result.firing });
          }
        }
      }
    }
    if (this.options.user !== undefined) {
      record.attributes = { ...record.attributes, [IDENTITY_ATTRIBUTE]: this.options.user };
      firings.push({ field: `attributes.${IDENTITY_ATTRIBUTE}`, rule: 'identity', effect: 'stamped' });
    }
    return { record, firings };
  }

  /** One step on one string; undefined when nothing matched (the OTTL functions check MatchString first too). */
  private rewrite(compiled: CompiledStep, value: string): { value: string; firing: Pick<Firing, 'effect' | 'matches'> } | undefined {
    const { step, regexp } = compiled;
    switch (step.action) {
      case 'redact': {
        if (!regexp.matchString(value)) return undefined;
        const matches = regexp.findAllSubmatchIndex(value).length;
        return { value: regexp.replaceAllString(value, step.template), firing: { effect: 'redacted', matches } };
      }
      case 'hash': {
        if (!regexp.matchString(value)) return undefined;
        // ExpandString(key + input) is what OTTL hands to SHA256; the key is a literal prefix of
        // the replacement string after ${env:...} substitution, so it is expanded too.
        const template = this.options.hashKey + step.input;
        let matches = 0;
        const hashed = regexp.replaceAllFunc(value, (match) => {
          matches += 1;
          const digest = createHash('sha256').update(regexp.expandString(template, value, match), 'utf8').digest('hex');
          return step.format.replace('%s', digest);
        });
        return { value: hashed, firing: { effect: 'hashed', matches } };
      }
      case 'drop': {
        const whole = compiled.wholeValue!;
        if (!whole.matchString(value)) return undefined;
        return { value: whole.replaceAllString(value, step.marker), firing: { effect: 'replaced by marker' } };
      }
    }
  }
}
