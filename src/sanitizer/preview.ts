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
import { IDENTITY_ATTRIBUTE, LIFTED_TOOL_PARAMETERS, PROMPT_ORIGIN_ATTRIBUTE, REMOVED_KEYS_ATTRIBUTE } from './fields.ts';
import { GoRegexp } from './go-regexp.ts';
import { eventAllowList, LEVEL_POLICIES, REPEATED_529_ERROR, TASK_NOTIFICATION_ORIGIN, TASK_NOTIFICATION_PROMPT, WHOLE_JSON_OBJECT } from './levels.ts';
import { truncateValue } from './limits.ts';
import { type Guard, requiredLiterals } from './prefilter.ts';
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
  readonly effect: 'copied from tool_parameters' | 'set from the error text' | 'set from the prompt text' | 'truncated' | 'redacted' | 'hashed' | 'deleted' | 'replaced by marker' | 'stamped' | 'record dropped';
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
  /** false: every step checks every value itself (the reference the prefilter is tested against). */
  readonly prefilter?: boolean;
  /**
   * Remember what happened to each value (up to REMEMBERED_VALUES of them, REMEMBERED_LENGTH
   * characters each): telemetry repeats most values (session and user ids, e-mail addresses,
   * model names, the same commands), and a value's outcome depends on nothing else. On by default.
   */
  readonly rememberValues?: boolean;
}

const REMEMBERED_VALUES = 8192;
const REMEMBERED_LENGTH = 1024;

const WHOLE_JSON = new GoRegexp(WHOLE_JSON_OBJECT);
const REPEATED_529 = new GoRegexp(REPEATED_529_ERROR);
const TASK_NOTIFICATION = new GoRegexp(TASK_NOTIFICATION_PROMPT);

interface CompiledStep {
  readonly step: SanitizerStep;
  readonly regexp: GoRegexp;
  readonly wholeValue?: GoRegexp;
  readonly deleteKeys: ReadonlySet<string>;
}

/**
 * The steps for one field, in order, with a prefilter, so that only steps that can match a
 * value run on it (most values match none). A step whose pattern requires literals
 * (prefilter.ts) runs only on values holding one of them; one pass over the value finds them
 * all (LiteralScan). Steps without such
 * literals are asked together by one RE2Set pass. After a step changes the value both are asked
 * again for the steps after it, so the result is the sequential one.
 */
class StepList {
  readonly steps: readonly CompiledStep[];
  /** Whether a step deletes by key (then a value's outcome depends on its key). */
  readonly deletes: boolean;
  /** Outcomes of values seen before (SanitizerPreview.run). */
  readonly outcomes = new Map<string, { readonly value: string | undefined; readonly firings: readonly Omit<Firing, 'field'>[] }>();
  private readonly scan: LiteralScan | undefined;
  /** The patterns of the steps without a guard, and their step indices. */
  private readonly unguarded: { readonly set: RE2Set | undefined; readonly steps: readonly number[] };

  constructor(steps: readonly SanitizerStep[], prefilter: boolean) {
    this.steps = steps.map((step) => ({
      step,
      regexp: new GoRegexp(step.pattern),
      ...(step.action === 'drop' ? { wholeValue: new GoRegexp(step.wholeValue) } : {}),
      deleteKeys: new Set(step.action === 'drop' ? step.deleteKeys : []),
    }));
    this.deletes = steps.some((step) => step.action === 'drop' && step.deleteKeys.length > 0);
    const guards = steps.map((step) => (prefilter ? requiredLiterals(step.pattern) : undefined));
    this.scan = guards.some((guard) => guard) ? new LiteralScan(guards) : undefined;
    const unguarded = steps.flatMap((_, index) => (guards[index] ? [] : [index]));
    this.unguarded = { set: prefilter ? StepList.compileSet(unguarded.map((index) => steps[index]!.pattern)) : undefined, steps: unguarded };
  }

  private static compileSet(patterns: readonly string[]): RE2Set | undefined {
    if (patterns.length === 0) return undefined;
    try {
      const set = new RE2Set();
      for (const pattern of patterns) set.add(pattern);
      set.compile();
      return set;
    } catch {
      // Too large for one set: each of these steps checks for itself.
      return undefined;
    }
  }

  /** Indices (ascending) of the steps after `after` that can match somewhere in `value`. */
  matching(value: string, after = -1): number[] {
    const out = this.scan ? this.scan.passing(value).filter((index) => index > after) : [];
    const { set, steps } = this.unguarded;
    if (steps.length > 0) {
      for (const position of set ? set.match(value) : steps.keys()) if (steps[position]! > after) out.push(steps[position]!);
      out.sort((a, b) => a - b);
    }
    return out;
  }
}

/**
 * Which guards a value passes, in one pass over its characters: an Aho-Corasick automaton of
 * every literal, read over the characters folded as Go's (?i) matches them (an ASCII letter's
 * case, the long s as s, the Kelvin sign as k). A folded literal found is a hit; a plain
 * (case-sensitive) one is compared with the text where it ends. Literals are ASCII
 * (prefilter.ts), so every other character only ends a match in progress.
 */
class LiteralScan {
  private readonly automaton: Automaton;
  /** Per step, its clauses' slots in the hit array (a guard holds when every slot is hit); undefined: no guard. */
  private readonly slots: readonly (readonly number[] | undefined)[];
  /** Reused for every value (cleared first): the scan allocates nothing. */
  private readonly hit: Uint8Array;

  constructor(guards: readonly (Guard | undefined)[]) {
    let next = 0;
    const words: Word[] = [];
    this.slots = guards.map((guard) =>
      guard?.clauses.map((clause) => {
        const slot = next++;
        for (const literal of clause) words.push({ text: literal.text, slot, plain: literal.folded ? undefined : literal.text });
        return slot;
      }),
    );
    this.hit = new Uint8Array(next);
    this.automaton = new Automaton(words);
  }

  /** The steps (ascending) that have a guard and whose guard `value` passes. */
  passing(value: string): number[] {
    const hit = this.hit;
    hit.fill(0);
    this.automaton.run(value, hit);
    const out: number[] = [];
    this.slots.forEach((slots, step) => {
      if (slots && slots.every((slot) => hit[slot])) out.push(step);
    });
    return out;
  }
}

interface Word {
  readonly text: string;
  readonly slot: number;
  /** For a case-sensitive literal, its text, compared where the folded scan finds it. */
  readonly plain: string | undefined;
}

/** Alphabet of the automaton: ASCII, folded, and one code for every other character. */
const OTHER = 128;
const ALPHABET = 129;
function foldedCode(c: number): number {
  if (c >= 97 && c <= 122) return c - 32;
  if (c < 128) return c;
  return c === 0x17f ? 83 /* S */ : c === 0x212a ? 75 /* K */ : OTHER;
}

/** A dense Aho-Corasick automaton over the folded ALPHABET; `outputs[state]` are the words ending there. */
class Automaton {
  private readonly next: Int32Array;
  private readonly outputs: readonly (readonly Word[])[];
  /** 1 where a state has outputs: the common case (none) reads no array. */
  private readonly hasOutput: Uint8Array;

  constructor(words: readonly Word[]) {
    const trie: number[][] = [new Array<number>(ALPHABET).fill(-1)];
    const outputs: Word[][] = [[]];
    for (const word of words) {
      let state = 0;
      for (const ch of word.text) {
        const code = foldedCode(ch.charCodeAt(0));
        if (trie[state]![code]! < 0) {
          trie[state]![code] = trie.length;
          trie.push(new Array<number>(ALPHABET).fill(-1));
          outputs.push([]);
        }
        state = trie[state]![code]!;
      }
      outputs[state]!.push(word);
    }
    // Breadth first: each state's missing moves are its failure state's, and it inherits its outputs.
    const next = new Int32Array(trie.length * ALPHABET);
    const fail = new Int32Array(trie.length);
    const queue: number[] = [];
    for (let code = 0; code < ALPHABET; code++) {
      const child = trie[0]![code]!;
      next[code] = child < 0 ? 0 : child;
      if (child > 0) queue.push(child);
    }
    for (let head = 0; head < queue.length; head++) {
      const state = queue[head]!;
      outputs[state] = [...outputs[state]!, ...outputs[fail[state]!]!];
      for (let code = 0; code < ALPHABET; code++) {
        const child = trie[state]![code]!;
        if (child < 0) {
          next[state * ALPHABET + code] = next[fail[state]! * ALPHABET + code]!;
        } else {
          fail[child] = next[fail[state]! * ALPHABET + code]!;
          next[state * ALPHABET + code] = child;
          queue.push(child);
        }
      }
    }
    this.next = next;
    this.outputs = outputs;
    this.hasOutput = Uint8Array.from(outputs, (out) => (out.length > 0 ? 1 : 0));
  }

  /** Marks in `hit` the slot of every word in `value`. */
  run(value: string, hit: Uint8Array): void {
    const { next, hasOutput } = this;
    let state = 0;
    for (let i = 0; i < value.length; i++) {
      state = next[state * ALPHABET + foldedCode(value.charCodeAt(i))]!;
      if (hasOutput[state] === 0) continue;
      for (const word of this.outputs[state]!) {
        if (word.plain === undefined || value.startsWith(word.plain, i + 1 - word.plain.length)) hit[word.slot] = 1;
      }
    }
  }
}

export class SanitizerPreview {
  private readonly spec: TelemetryStackSpec;
  private readonly options: PreviewOptions;
  private readonly body: StepList;
  private readonly attributes: StepList;
  private readonly digests = new Map<string, string>();

  constructor(spec: TelemetryStackSpec, options: PreviewOptions) {
    this.spec = spec;
    this.options = options;
    const steps = sanitizerSteps(spec)
      .logs.filter((group) => group.context === 'log')
      .flatMap((group) => group.steps);
    const prefilter = options.prefilter ?? true;
    this.body = new StepList(steps.filter((step) => step.field === 'body'), prefilter);
    this.attributes = new StepList(steps.filter((step) => step.field === 'attributes'), prefilter);
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

  /**
   * SHA-256 in hex, remembered: the same few inputs (a team's e-mail addresses) come back on
   * every record, and hashing is most of a hash step's cost. Bounded, emptied when full.
   */
  private sha256(input: string): string {
    let digest = this.digests.get(input);
    if (digest === undefined) {
      if (this.digests.size >= 4096) this.digests.clear();
      digest = createHash('sha256').update(input, 'utf8').digest('hex');
      this.digests.set(input, digest);
    }
    return digest;
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
    if (attributes['event.name'] === 'user_prompt' && TASK_NOTIFICATION.matchString(attributes.prompt ?? '')) {
      attributes[PROMPT_ORIGIN_ATTRIBUTE] = TASK_NOTIFICATION_ORIGIN;
      firings.push({ field: `attributes.${PROMPT_ORIGIN_ATTRIBUTE}`, rule, effect: 'set from the prompt text' });
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
    if (list.steps.length === 0) return input;
    if (this.options.rememberValues === false || input.length > REMEMBERED_LENGTH) return this.runSteps(list, input, field, key, firings);
    // What happens to a value depends on the value alone, and on its key where a step deletes by key.
    const memo = `${list.deletes && key !== undefined ? key : ''}\u0000${input}`;
    let outcome = list.outcomes.get(memo);
    if (!outcome) {
      const fired: Firing[] = [];
      outcome = { value: this.runSteps(list, input, field, key, fired), firings: fired.map(({ field: _, ...rest }) => rest) };
      if (list.outcomes.size >= REMEMBERED_VALUES) list.outcomes.clear();
      list.outcomes.set(memo, outcome);
    }
    for (const firing of outcome.firings) firings.push({ field, ...firing });
    return outcome.value;
  }

  private runSteps(list: StepList, input: string, field: string, key: string | undefined, firings: Firing[]): string | undefined {
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
          return step.format.replace('%s', this.sha256(regexp.expandString(template, value, match)));
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
