/**
 * The preview engine: what the collector would store for a log record, computed in-process
 * from the same step table the collector configuration is compiled from (rules.ts), with the
 * semantics of the OTTL functions compile.ts emits:
 *
 *   truncate (transform/truncate cuts every value and the body to MAX_ATTRIBUTE_BYTES)
 *   -> level (filter/level drops every event; transform/level copies extension names out of
 *      tool_parameters, then keeps the attributes the event's allow-list names and writes the
 *      names of the others into REMOVED_KEYS_ATTRIBUTE)
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
import { RE2Set } from 're2js';
import type { TelemetryStackSpec } from '../api/spec.ts';
import { IDENTITY_ATTRIBUTE, LIFTED_TOOL_PARAMETERS, REMOVED_KEYS_ATTRIBUTE } from './fields.ts';
import { GoRegexp } from './go-regexp.ts';
import { eventAllowList, LEVEL_POLICIES, REPEATED_529_ERROR, WHOLE_JSON_OBJECT } from './levels.ts';
import { truncateValue } from './limits.ts';
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
  /** Rule name, or "truncate" / "level:<level>" / "identity". */
  readonly rule: string;
  readonly effect: 'copied from tool_parameters' | 'set from the error text' | 'truncated' | 'redacted' | 'hashed' | 'deleted' | 'replaced by marker' | 'stamped' | 'record dropped';
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

const WHOLE_JSON = new GoRegexp(WHOLE_JSON_OBJECT);
const REPEATED_529 = new GoRegexp(REPEATED_529_ERROR);

interface CompiledStep {
  readonly step: SanitizerStep;
  readonly regexp: GoRegexp;
  readonly wholeValue?: GoRegexp;
  readonly deleteKeys: ReadonlySet<string>;
}

/**
 * The steps for one field, in order, with a prefilter: one RE2Set pass says which steps can
 * match a value at all (most values match none), so only those run. After a step changes the
 * value the set is asked again for the steps after it, so the result is the sequential one.
 */
class StepList {
  readonly steps: readonly CompiledStep[];
  /** undefined when the rules are too large for one set: then every step checks for itself. */
  private readonly set: RE2Set | undefined;

  constructor(steps: readonly SanitizerStep[]) {
    this.steps = steps.map((step) => ({
      step,
      regexp: new GoRegexp(step.pattern),
      ...(step.action === 'drop' ? { wholeValue: new GoRegexp(step.wholeValue) } : {}),
      deleteKeys: new Set(step.action === 'drop' ? step.deleteKeys : []),
    }));
    this.set = StepList.compileSet(steps);
  }

  private static compileSet(steps: readonly SanitizerStep[]): RE2Set | undefined {
    try {
      const set = new RE2Set();
      for (const step of steps) set.add(step.pattern);
      set.compile();
      return set;
    } catch {
      return undefined;
    }
  }

  /** Indices (ascending) of the steps after `after` whose pattern matches somewhere in `value`. */
  matching(value: string, after = -1): number[] {
    if (this.steps.length === 0) return [];
    if (!this.set) return this.steps.map((_, index) => index).filter((index) => index > after);
    return this.set
      .match(value)
      .filter((index) => index > after)
      .sort((a, b) => a - b);
  }
}

export class SanitizerPreview {
  private readonly spec: TelemetryStackSpec;
  private readonly options: PreviewOptions;
  private readonly body: StepList;
  private readonly attributes: StepList;

  constructor(spec: TelemetryStackSpec, options: PreviewOptions) {
    this.spec = spec;
    this.options = options;
    const steps = sanitizerSteps(spec)
      .logs.filter((group) => group.context === 'log')
      .flatMap((group) => group.steps);
    this.body = new StepList(steps.filter((step) => step.field === 'body'));
    this.attributes = new StepList(steps.filter((step) => step.field === 'attributes'));
  }

  apply(input: PreviewRecord): PreviewResult {
    const firings: Firing[] = [];
    const record: PreviewRecord = {
      ...(input.body !== undefined ? { body: input.body } : {}),
      ...(input.attributes !== undefined ? { attributes: { ...input.attributes } } : {}),
    };
    const cut = (field: string, value: string) => {
      const truncated = truncateValue(value);
      if (truncated !== value) firings.push({ field, rule: 'truncate', effect: 'truncated' });
      return truncated;
    };
    if (record.body !== undefined) record.body = cut('body', record.body);
    for (const [key, value] of Object.entries(record.attributes ?? {})) record.attributes![key] = cut(`attributes.${key}`, value);
    const policy = LEVEL_POLICIES[this.spec.level];
    const levelRule = `level:${policy.level}`;
    if (!policy.events) return { record: undefined, firings: [{ field: '*', rule: levelRule, effect: 'record dropped' }] };
    if (record.attributes) this.level(record.attributes, levelRule, policy.allowList, firings);
    // Each value is independent of the others, so running every step over one value and then
    // the next is the same as OTTL's running each statement over every value in turn.
    if (record.body !== undefined) record.body = this.run(this.body, record.body, 'body', undefined, firings);
    if (record.attributes) {
      for (const [key, value] of Object.entries(record.attributes)) {
        const result = this.run(this.attributes, value, `attributes.${key}`, key, firings);
        if (result === undefined) delete record.attributes[key];
        else record.attributes[key] = result;
      }
    }
    if (this.options.user !== undefined) {
      record.attributes = { ...record.attributes, [IDENTITY_ATTRIBUTE]: this.options.user };
      firings.push({ field: `attributes.${IDENTITY_ATTRIBUTE}`, rule: 'identity', effect: 'stamped' });
    }
    return { record, firings };
  }

  /** transform/level on one record's attributes (compile.ts levelProcessors). */
  private level(attributes: Record<string, string>, rule: string, allowList: boolean, firings: Firing[]): void {
    // compile.ts normalizeStatements (a preview record has no OTLP event name to copy).
    const name = attributes['event.name'];
    if (name?.startsWith('claude_code.')) attributes['event.name'] = name.slice('claude_code.'.length);
    if (attributes.status_code === undefined && ['api_error', 'api_retries_exhausted'].includes(attributes['event.name'] ?? '') && REPEATED_529.matchString(attributes.error ?? '')) {
      attributes.status_code = '529';
      firings.push({ field: 'attributes.status_code', rule, effect: 'set from the error text' });
    }
    const parameters = attributes.tool_parameters;
    if (parameters !== undefined && WHOLE_JSON.matchString(parameters)) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(parameters);
      } catch {
        parsed = undefined;
      }
      for (const key of LIFTED_TOOL_PARAMETERS) {
        const value = parsed && typeof parsed === 'object' ? (parsed as Record<string, unknown>)[key] : undefined;
        if (typeof value !== 'string' || Object.hasOwn(attributes, key)) continue;
        attributes[key] = value;
        firings.push({ field: `attributes.${key}`, rule, effect: 'copied from tool_parameters' });
      }
    }
    if (!allowList) return;
    const allowed = new Set(eventAllowList(attributes['event.name']));
    const removed = Object.keys(attributes).filter((key) => !allowed.has(key));
    for (const key of removed) {
      delete attributes[key];
      firings.push({ field: `attributes.${key}`, rule, effect: 'deleted' });
    }
    // Go's sort.Strings: byte order, which for UTF-16 code units differs only beyond the BMP.
    if (removed.length > 0) attributes[REMOVED_KEYS_ATTRIBUTE] = removed.sort().join(',');
  }

  /** The steps on one value in order; undefined when a drop deleted the attribute. */
  private run(list: StepList, input: string, field: string, key: string | undefined, firings: Firing[]): string | undefined {
    let value = input;
    let pending = list.matching(value);
    while (pending.length > 0) {
      const index = pending.shift()!;
      const compiled = list.steps[index]!;
      if (key !== undefined && compiled.deleteKeys.has(key) && compiled.regexp.matchString(value)) {
        firings.push({ field, rule: compiled.step.rule, effect: 'deleted' });
        return undefined;
      }
      const result = this.rewrite(compiled, value);
      if (result === undefined || result.value === value) continue;
      firings.push({ field, rule: compiled.step.rule, ...result.firing });
      value = result.value;
      pending = list.matching(value, index);
    }
    return value;
  }

  /** One step on one string; undefined when nothing matched (the OTTL functions check MatchString first too). */
  private rewrite(compiled: CompiledStep, value: string): { value: string; firing: Pick<Firing, 'effect' | 'matches'> } | undefined {
    const { step, regexp } = compiled;
    switch (step.action) {
      case 'redact': {
        if (!regexp.matchString(value)) return undefined;
        let matches = 0;
        const redacted = regexp.replaceAllFunc(value, (match) => {
          matches += 1;
          return regexp.expandString(step.template, value, match);
        });
        return { value: redacted, firing: { effect: 'redacted', matches } };
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
