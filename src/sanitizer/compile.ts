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
import { LIFTED_TOOL_PARAMETERS, PROMPT_ORIGIN_ATTRIBUTE, REMOVED_KEYS_ATTRIBUTE } from './fields.ts';
import { COMMON_EVENT_ATTRIBUTES, EVENT_ATTRIBUTES, eventAllowList, LEVEL_POLICIES, METRIC_ATTRIBUTES, REPEATED_529_ERROR, TASK_NOTIFICATION_ORIGIN, TASK_NOTIFICATION_PROMPT, WHOLE_JSON_OBJECT } from './levels.ts';
import { ottlString } from './ottl.ts';
import { type Guard, type Literal, requiredLiterals } from './prefilter.ts';
import { type DropStep, sanitizerSteps, type SanitizerStep, type StepContext, type StepGroup } from './rules.ts';

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

/**
 * Every path is written with its context (`log.attributes`, not `attributes`): OTTL rewrites an
 * unprefixed path and logs the statements it rewrote at info level, and those are the statements
 * after the config resolver put the hash key in.
 */
type Context = StepContext | 'scope' | 'metric';

/** The map a context's attribute steps rewrite: the metric context has none, its parts go through its cache. */
const mapPath = (context: Context) => (context === 'metric' ? 'metric.cache' : `${context}.attributes`);

/** replace_pattern on the body, replace_all_patterns over every string value of the map; `where` is the step's guard. */
function replace(step: SanitizerStep, context: Context, regex: string, replacement: string | ConfigText, hash = '', where = ''): Statement {
  return step.field === 'body'
    ? configText`replace_pattern(${context}.body, ${regex}, ${replacement}${hash}) where IsString(${context}.body)${where === '' ? '' : ` and (${where})`}`
    : configText`replace_all_patterns(${mapPath(context)}, "value", ${regex}, ${replacement}${hash})${where === '' ? '' : ` where ${where}`}`;
}

/** Deletes each known key whose value matches `pattern`. */
function deleteMatching(keys: readonly string[], pattern: string, context: Context, where = ''): string[] {
  const regex = ottlString(pattern);
  const guard = where === '' ? '' : `(${where}) and `;
  return keys.map((key) => `delete_key(${context}.attributes, ${ottlString(key)}) where ${guard}IsMatch(${context}.attributes[${ottlString(key)}], ${regex})`);
}

/** The OTTL statements of one step (a drop's deletes come from dropRun); `where` is its guard. */
function statements(step: SanitizerStep, context: Context, where = ''): Statement[] {
  const pattern = ottlString(step.pattern);
  switch (step.action) {
    case 'redact':
      // The template's ${preN} group references are Go regexp syntax; confmap.ts escapes them for the resolver.
      return [replace(step, context, pattern, ottlString(step.template), '', where)];
    case 'hash': {
      // Keyed hash: SHA-256 over key + input. The key comes from the environment, so it is in
      // neither the ConfigMap nor the custom resource; the input template ("${0}", "${value}")
      // is text, the ${env:...} reference is the chart's.
      const input = ottlString(step.input);
      const replacement = configText`"${envReference(HASH_KEY_ENV)}${input.slice(1)}`;
      return [replace(step, context, pattern, replacement, `, SHA256, ${ottlString(step.format)}`, where)];
    }
    case 'drop':
      // What is left after the deletes becomes the marker, whole (a value holding a match of the
      // rule holds one of its literals, so the rule's guard holds for the whole-value pattern).
      return [replace(step, context, ottlString(step.wholeValue), ottlString(step.marker), '', where)];
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
function dropRun(steps: readonly DropStep[], context: Context, where = ''): Statement[] {
  return [...dropDeletes(steps, context, where), ...steps.flatMap((step) => statements(step, context))];
}

/** The deletes of a run of drop steps (under `where`). */
function dropDeletes(steps: readonly DropStep[], context: Context, where = ''): string[] {
  const keys = steps[0]!.deleteKeys;
  const combined = eitherPattern(steps);
  return combined === undefined ? steps.flatMap((step) => deleteMatching(keys, step.pattern, context, where)) : deleteMatching(keys, combined, context, where);
}

function groupStatements(steps: readonly SanitizerStep[], context: Context): Statement[] {
  const out: Statement[] = [];
  let run: DropStep[] = [];
  const flush = () => {
    if (run.length > 0) out.push(...dropRun(run, context));
    run = [];
  };
  for (const step of steps) {
    if (step.action === 'drop' && step.deleteKeys.length > 0) {
      run.push(step);
      continue;
    }
    flush();
    out.push(...statements(step, context));
  }
  flush();
  return out;
}

/**
 * The steps of a context with guards (prefilter.ts): a rule runs on a record only when the
 * record holds the literals every match of its pattern holds (one of each clause), found by
 * strings.Index (a few nanoseconds a kilobyte) where the rule's regexp would run over every value.
 * A statement that does nothing costs little; each check costs a fraction of a microsecond, so
 * each rule's guard is evaluated once per record, into a mark (`cache["prefilter_rule"]`) that its
 * statements compare. Measured: docs/BENCHMARKS.md, "Collector pipeline".
 *
 * - The text checked is every value of the attribute map and the body, joined
 *   (`cache["prefilter"]`), and that text folded for (?i) literals. Before it is computed it
 *   holds every literal, so a failed computation lets every rule run.
 * - A rule that may have changed a value computes the text again (under its mark), so the next
 *   rule's guard reads the values it will run on: a replacement can make a literal that was not
 *   there (a marker's text; keep-groups written side by side).
 * - A rule's body step and attribute step run one after the other: they never touch each
 *   other's field, so this is the same as all body steps first (rules.ts), and one check serves both.
 * - A run of drop rules deletes by key under the run's guard (deleting adds no text).
 * Used for the log context, where the records are and where their free text is.
 */
function guardedStatements(steps: readonly SanitizerStep[], context: Context): Statement[] {
  const cache = (key: string) => `${context}.cache[${ottlString(key)}]`;
  const text = cache('prefilter');
  const folded = cache('prefilter_folded');
  const mark = cache('prefilter_rule');
  const guards = new Map(steps.map((step) => [step.order, requiredLiterals(step.pattern)]));
  const anyFolded = [...guards.values()].some((guard) => guard?.clauses.some((clause) => clause.some((literal) => literal.folded)));
  const hasBody = steps.some((step) => step.field === 'body');
  // IsMatch of a literal is strings.Index inside Go's regexp (its literal-prefix scan), and
  // cheaper in OTTL than Index(...) >= 0, whose int64 result and comparison cost more than the search.
  const either = (literals: readonly Literal[]) =>
    [...new Map(literals.map((literal) => [`${literal.folded}${literal.text}`, literal])).values()].map((literal) => `IsMatch(${literal.folded ? folded : text}, ${ottlString(quoteMeta(literal.text))})`).join(' or ');
  const check = (guard: Guard) => guard.clauses.map((clause) => (guard.clauses.length > 1 ? `(${either(clause)})` : either(clause))).join(' and ');
  const joined = hasBody ? `Concat([Concat(Values(${context}.attributes), "\\n"), ${context}.body], "\\n")` : `Concat(Values(${context}.attributes), "\\n")`;
  const compute = (where: string) => [`set(${text}, ${joined})${where}`, ...(anyFolded ? [`set(${folded}, ToUpperCase(ToLowerCase(${text})))${where}`] : [])];
  const every = [...new Set([...guards.values()].flatMap((guard) => guard?.clauses.flat().map((literal) => literal.text) ?? []))].join('\n');
  const out: Statement[] = [`set(${text}, ${ottlString(every)})`, ...(anyFolded ? [`set(${folded}, ${ottlString(every)})`] : []), ...compute('')];

  // One entry per rule, in rule order: its body step and its attribute step.
  const orders = [...new Set(steps.map((step) => step.order))].sort((a, b) => a - b);
  const entries = orders.map((order) => ({ order, body: steps.find((s) => s.order === order && s.field === 'body'), attributes: steps.find((s) => s.order === order && s.field === 'attributes') }));
  const isDelete = (step: SanitizerStep | undefined): step is DropStep => step?.action === 'drop' && step.deleteKeys.length > 0;
  let marks = 0;
  entries.forEach((entry, index) => {
    // The first of a run of drop rules deletes for the whole run (see dropRun).
    if (isDelete(entry.attributes) && !isDelete(entries[index - 1]?.attributes)) {
      const run: DropStep[] = [];
      for (let next = index; next < entries.length && isDelete(entries[next]!.attributes); next++) run.push(entries[next]!.attributes as DropStep);
      const runGuards = run.map((step) => guards.get(step.order));
      const value = ++marks;
      const all = runGuards.every((guard) => guard);
      if (all) out.push(`set(${mark}, ${value}) where ${runGuards.map((guard) => `(${check(guard!)})`).join(' or ')}`);
      out.push(...dropDeletes(run, context, all ? `${mark} == ${value}` : ''));
    }
    const guard = guards.get(entry.order);
    const value = ++marks;
    const where = guard ? `${mark} == ${value}` : '';
    if (guard) out.push(`set(${mark}, ${value}) where ${check(guard)}`);
    if (entry.body) out.push(...statements(entry.body, context, where));
    if (entry.attributes) out.push(...statements(entry.attributes, context, where));
    if (index < entries.length - 1) out.push(...compute(where === '' ? '' : ` where ${where}`));
  });
  return out;
}

/**
 * Parts of a record that are not an attribute map, and the temporary key each is moved to so
 * the attribute steps rewrite it (one pass of the rules instead of one per part), then moved back.
 */
const PART = 'telemetry_stack.part.';
const LOG_PARTS = ['severity_text', 'event_name'] as const;
const SCOPE_PARTS = ['name', 'version'] as const;

/** A drop on a map that holds no known keys (scope attributes, the metric cache): the marker only. */
const markerOnly = (steps: readonly SanitizerStep[]): SanitizerStep[] => steps.map((step) => (step.action === 'drop' ? { ...step, deleteKeys: [] } : step));

/** Statements that move `parts` of `owner` (e.g. log.severity_text) into `map` under temporary keys, run `steps` on it, and move them back. */
function throughMap(owner: string, parts: readonly string[], map: string, steps: readonly Statement[]): Statement[] {
  const key = (part: string) => `${map}[${ottlString(PART + part)}]`;
  return [
    ...parts.map((part) => `set(${key(part)}, ${owner}.${part}) where ${owner}.${part} != ""`),
    ...steps,
    ...parts.flatMap((part) => [`set(${owner}.${part}, ${key(part)}) where ${key(part)} != nil`, `delete_key(${map}, ${ottlString(PART + part)})`]),
  ];
}

/**
 * The log group: a map or array body is written as its JSON text first (what the exporter
 * stores anyway), so the body steps see it; severity text and event name go through the
 * attributes with them.
 */
function logGroup(steps: readonly SanitizerStep[], prefilter: boolean): Statement[] {
  const body = steps.some((step) => step.field === 'body') ? ['set(log.body, String(log.body)) where IsMap(log.body) or IsList(log.body)'] : [];
  const statements = prefilter ? guardedStatements(steps, 'log') : groupStatements(steps, 'log');
  return steps.some((step) => step.field === 'attributes')
    ? [...body, stringifyNested('log'), ...throughMap('log', LOG_PARTS, 'log.attributes', statements)]
    : [...body, ...statements];
}

/** Scope name, version and attributes, with the rules on resource attributes (both describe the sender). Runs once per scope. */
function scopeGroup(resourceSteps: readonly SanitizerStep[]): { context: string; statements: Statement[] }[] {
  if (resourceSteps.length === 0) return [];
  return [{ context: 'scope', statements: [stringifyNested('scope'), ...throughMap('scope', SCOPE_PARTS, 'scope.attributes', groupStatements(markerOnly(resourceSteps), 'scope'))] }];
}

/** A metric's description, with the rules on data-point attributes, through the metric's cache. Runs once per metric. */
function metricGroup(pointSteps: readonly SanitizerStep[]): { context: string; statements: Statement[] }[] {
  if (pointSteps.length === 0) return [];
  return [{ context: 'metric', statements: throughMap('metric', ['description'], 'metric.cache', groupStatements(markerOnly(pointSteps), 'metric')) }];
}

/**
 * A map holding an array or map value is turned into strings first, so the rules see what is
 * inside (replace_all_patterns reads string values only). The ClickHouse exporter stores every
 * value as its AsString() text, which is what stringify_all writes, so storage does not change;
 * maps without such a value keep their types. OTTL reads a map as its JSON (keys sorted, no
 * spaces), where `":[` or `":{` opens an array or map value: a quote inside a string is escaped.
 */
const NESTED_VALUE = '(?:^|[^\\\\])":[\\[{]';
function stringifyNested(context: Context): string {
  const map = mapPath(context);
  return `stringify_all(${map}) where IsMatch(${map}, ${ottlString(NESTED_VALUE)})`;
}

export interface SanitizerOptions {
  /**
   * Guards that skip a step on a record that cannot match it (prefilter.ts); on by default.
   * Off, the statements are the rules alone: the reference the guarded ones are tested against.
   */
  readonly prefilter?: boolean;
}

/** The transform processor that sanitizes logs and metrics (a tree for confmap.ts's toConfmap). */
export function sanitizerProcessor(spec: TelemetryStackSpec, options: SanitizerOptions = {}): Record<string, unknown> {
  const prefilter = options.prefilter ?? true;
  const { logs, metrics } = sanitizerSteps(spec);
  const steps = (groups: readonly StepGroup[], context: StepContext) => groups.find((group) => group.context === context)?.steps ?? [];
  const resource = steps(logs, 'resource');
  const resourceGroup = resource.length > 0 ? [{ context: 'resource', statements: [stringifyNested('resource'), ...groupStatements(resource, 'resource')] }] : [];
  const log = steps(logs, 'log');
  const point = steps(metrics, 'datapoint');
  return {
    error_mode: 'ignore',
    log_statements: [...resourceGroup, ...scopeGroup(resource), ...(log.length > 0 ? [{ context: 'log', statements: logGroup(log, prefilter) }] : [])],
    metric_statements: [
      ...resourceGroup,
      ...scopeGroup(resource),
      ...metricGroup(point),
      // Data points are not guarded: their attributes are a few short dimensions, where the rules'
      // regexps cost little, and guards would double the statements the collector parses at start.
      ...(point.length > 0 ? [{ context: 'datapoint', statements: [stringifyNested('datapoint'), ...groupStatements(point, 'datapoint')] }] : []),
    ],
  };
}

/** Go's regexp.QuoteMeta: a pattern matching `text` literally. */
function quoteMeta(text: string): string {
  return text.replace(/[\\.+*?()|[\]{}^$]/g, '\\$&');
}

/** A Go regexp matching exactly one of `keys`. */
export function exactKeysPattern(keys: readonly string[]): string {
  return `^(?:${keys.map((key) => key.replace(/[\\^$.|?*+()[\]{}]/g, '\\$&')).join('|')})$`;
}

/** Where a statement group keeps the record's attributes as they were, to name what the allow-list removed. */
const removedCopy = (context: Context) => `${context}.cache["removed"]`;

/** The prefix some clients put on event names (`claude_code.user_prompt`); the views strip it from the body too. */
const EVENT_NAME_PREFIX = '^claude_code\\.';

/**
 * What the level's lists and the reports key on, made whole before anything is removed:
 * - the event's name: a record named only by the OTLP `eventName` field (the OpenTelemetry event
 *   convention; the ClickHouse exporter stores that field only when it saw the `EventName` column
 *   at its start) gets the `event.name` attribute, without the `claude_code.` prefix, so the
 *   allow-list, the views and the rollup know it whatever the exporter saw;
 * - the status of "Repeated 529 Overloaded errors": the client sends them without `status_code`,
 *   only in the `error` text, which enhanced removes; the status is not free text;
 * - whether a `user_prompt` is an async subagent's <task-notification> rather than a person's prompt.
 */
function normalizeStatements(): string[] {
  const name = 'log.attributes["event.name"]';
  const status = 'log.attributes["status_code"]';
  const error = 'log.attributes["error"]';
  return [
    `set(${name}, log.event_name) where ${name} == nil and log.event_name != ""`,
    `replace_pattern(${name}, ${ottlString(EVENT_NAME_PREFIX)}, "")`,
    `set(${status}, 529) where ${status} == nil and (${name} == "api_error" or ${name} == "api_retries_exhausted") and IsMatch(${error}, ${ottlString(REPEATED_529_ERROR)})`,
    `set(log.attributes[${ottlString(PROMPT_ORIGIN_ATTRIBUTE)}], ${ottlString(TASK_NOTIFICATION_ORIGIN)}) where ${name} == "user_prompt" and IsMatch(log.attributes["prompt"], ${ottlString(TASK_NOTIFICATION_PROMPT)})`,
  ];
}

/**
 * Copies the extension names out of the JSON `tool_parameters` (LIFTED_TOOL_PARAMETERS). Only a
 * whole JSON object is parsed: one the truncation cut ends in its marker, and ParseJSON's error
 * would be logged for each record. A top-level attribute the client sent itself is kept.
 */
function liftStatements(): string[] {
  const source = 'log.attributes["tool_parameters"]';
  const parsed = 'log.cache["tool_parameters"]';
  return [
    `set(${parsed}, ParseJSON(${source})) where IsMatch(${source}, ${ottlString(WHOLE_JSON_OBJECT)})`,
    ...LIFTED_TOOL_PARAMETERS.map((key) => {
      const name = ottlString(key);
      return `set(log.attributes[${name}], ${parsed}[${name}]) where log.attributes[${name}] == nil and IsString(${parsed}[${name}])`;
    }),
  ];
}

/**
 * Keeps `allowed` of the attributes (under `condition`) and takes the same keys out of the
 * copy, so what stays in the copy is what was removed. OTTL has no loop and no set difference
 * over maps; keep_matching_keys and delete_matching_keys on the same pattern are one. A pattern
 * rather than keep_keys' list: one literal to parse instead of one per key (with a list per
 * event, parsing tripled the collector's start-up CPU).
 */
function keepStatements(context: Context, allowed: readonly string[], condition: string): string[] {
  const where = condition === '' ? '' : ` where ${condition}`;
  const pattern = ottlString(exactKeysPattern(allowed));
  return [`keep_matching_keys(${context}.attributes, ${pattern})${where}`, `delete_matching_keys(${removedCopy(context)}, ${pattern})${where}`];
}

/** An allow-list over the context's attributes: copy, keep per condition, then name what went. */
function allowListStatements(context: Context, keeps: string[]): string[] {
  const copy = removedCopy(context);
  return [
    `set(${copy}, ${context}.attributes)`,
    ...keeps,
    `set(${context}.attributes[${ottlString(REMOVED_KEYS_ATTRIBUTE)}], Concat(Sort(Keys(${copy})), ",")) where Len(${copy}) > 0`,
  ];
}

function eventAllowListStatements(): string[] {
  const eventName = 'log.attributes["event.name"]';
  const known = Object.keys(EVENT_ATTRIBUTES);
  return allowListStatements('log', [
    ...known.flatMap((name) => keepStatements('log', eventAllowList(name), `${eventName} == ${ottlString(name)}`)),
    // An unknown name, or none (IsMatch of nothing is false).
    ...keepStatements('log', COMMON_EVENT_ATTRIBUTES, `not IsMatch(${eventName}, ${ottlString(exactKeysPattern(known))})`),
  ]);
}

/** Processors that enforce the collection level on logs, keyed by processor id. */
export function levelProcessors(spec: TelemetryStackSpec): Record<string, Record<string, unknown>> {
  const policy = LEVEL_POLICIES[spec.level];
  if (!policy.events) {
    // Keep the logs pipeline so clients get a success response rather than "unimplemented",
    // and drop every record in it.
    return { 'filter/level': { error_mode: 'ignore', logs: { log_record: ['true'] } } };
  }
  return {
    [LEVEL_PROCESSOR]: {
      error_mode: 'ignore',
      log_statements: [
        { context: 'log', statements: normalizeStatements() },
        // A tool_parameters that only looks like a JSON object fails ParseJSON, whose error quotes
        // the value: silent, so no command or path reaches the collector's log (nothing is lifted).
        { context: 'log', error_mode: 'silent', statements: liftStatements() },
        ...(policy.allowList ? [{ context: 'log', statements: eventAllowListStatements() }] : []),
      ],
    },
  };
}

/** Processors that enforce the collection level on metrics (data-point attributes), keyed by processor id. */
export function metricLevelProcessors(spec: TelemetryStackSpec): Record<string, Record<string, unknown>> {
  if (!LEVEL_POLICIES[spec.level].allowList) return {};
  return {
    [METRIC_LEVEL_PROCESSOR]: {
      error_mode: 'ignore',
      metric_statements: [{ context: 'datapoint', statements: allowListStatements('datapoint', keepStatements('datapoint', METRIC_ATTRIBUTES, '')) }],
    },
  };
}

export const LEVEL_PROCESSOR = 'transform/level';
export const METRIC_LEVEL_PROCESSOR = 'transform/level_metrics';
