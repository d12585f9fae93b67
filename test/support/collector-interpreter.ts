/**
 * A small interpreter for the collector configuration we render: it reads the processors
 * of the logs pipeline as YAML text, resolves it as the collector's confmap does (`$$` and
 * `${env:...}`), parses the OTTL statements and runs them on a log record with Go regexp
 * semantics. It knows only the statement shapes compile.ts and config.ts emit and fails on
 * anything else, so a new shape cannot slip past the parity tests unnoticed.
 *
 * It shares no code with the preview engine except the Go regexp layer, so agreeing with
 * the preview on the whole corpus checks compile.ts's escaping and statement shapes.
 */
import { createHash } from 'node:crypto';
import { parse } from 'yaml';
import { GoRegexp } from '../../src/sanitizer/go-regexp.ts';
import { truncateValue } from '../../src/sanitizer/limits.ts';

export interface LogRecord {
  body?: string;
  attributes?: Record<string, string>;
}

/**
 * The collector's confmap resolution of one string: `$$` is "$"; `${env:NAME}` and `${NAME}`
 * (env is the default scheme) are the variable. An unescaped `${pre1}` would be read as a
 * variable too, which is why compile.ts escapes every "$" of a template.
 */
export function resolveConfmap(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\{(?:env:)?([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string | undefined) => {
    if (name === undefined) return '$';
    const value = env[name];
    if (value === undefined) throw new Error(`config references \${env:${name}}, which the test did not set`);
    return value;
  });
}

function resolveAll(value: unknown, env: Record<string, string>): unknown {
  if (typeof value === 'string') return resolveConfmap(value, env);
  if (Array.isArray(value)) return value.map((item) => resolveAll(item, env));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, resolveAll(v, env)]));
  return value;
}

// ------------------------------------------------------------------ OTTL statements

type Token = { kind: 'string'; value: string } | { kind: 'number'; value: string } | { kind: 'word'; value: string } | { kind: 'punct'; value: string };

function tokenize(statement: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < statement.length) {
    const c = statement[i]!;
    if (c === ' ') {
      i += 1;
    } else if (c === '"') {
      let value = '';
      i += 1;
      while (statement[i] !== '"') {
        if (i >= statement.length) throw new Error(`unterminated string in ${statement}`);
        if (statement[i] === '\\') {
          // Go strconv.Unquote escapes, as far as ottlString writes them.
          const next = statement[i + 1]!;
          const simple: Record<string, string> = { '\\': '\\', '"': '"', n: '\n', r: '\r', t: '\t' };
          if (next in simple) {
            value += simple[next];
            i += 2;
          } else if (next === 'x') {
            value += String.fromCharCode(parseInt(statement.slice(i + 2, i + 4), 16));
            i += 4;
          } else {
            throw new Error(`unexpected escape \\${next} in ${statement}`);
          }
        } else {
          value += statement[i];
          i += 1;
        }
      }
      i += 1;
      tokens.push({ kind: 'string', value });
    } else if (/[0-9]/.test(c)) {
      const number = /^[0-9]+/.exec(statement.slice(i))![0];
      tokens.push({ kind: 'number', value: number });
      i += number.length;
    } else if (/[A-Za-z_]/.test(c)) {
      const word = /^[A-Za-z_][A-Za-z0-9_]*/.exec(statement.slice(i))![0];
      tokens.push({ kind: 'word', value: word });
      i += word.length;
    } else {
      tokens.push({ kind: 'punct', value: c });
      i += 1;
    }
  }
  return tokens;
}

/** The statement's tokens as a compact signature: words and punctuation as is, strings as S, numbers as N. */
const signature = (tokens: Token[]) => tokens.map((t) => (t.kind === 'string' ? 'S' : t.kind === 'number' ? 'N' : t.value)).join(' ');
const strings = (tokens: Token[]) => tokens.filter((t) => t.kind === 'string').map((t) => t.value);
const numbers = (tokens: Token[]) => tokens.filter((t) => t.kind === 'number').map((t) => Number(t.value));


const regexps = new Map<string, GoRegexp>();
function regexp(pattern: string): GoRegexp {
  let re = regexps.get(pattern);
  if (!re) regexps.set(pattern, (re = new GoRegexp(pattern)));
  return re;
}

/** OTTL replace_pattern's rewrite of one string (with or without the SHA256 function). */
function replace(value: string, pattern: string, replacement: string, format?: string): string {
  const re = regexp(pattern);
  if (!re.matchString(value)) return value;
  if (format === undefined) return re.replaceAllString(value, replacement);
  return re.replaceAllFunc(value, (match) => format.replace('%s', createHash('sha256').update(re.expandString(replacement, value, match)).digest('hex')));
}

/** OTTL's cache: strings (truncation), a parsed JSON object (the lift), a copy of the attributes (the allow-list). */
type Cache = Record<string, any>;

/** A condition on the event name, as the allow-list writes it; undefined when the statement has none. */
function eventCondition(sig: string, args: string[], attributes: Record<string, string>): boolean | undefined {
  if (sig.endsWith(' where attributes [ S ] = = S')) return attributes[args.at(-2)!] === args.at(-1);
  if (sig.endsWith(' where not IsMatch ( attributes [ S ] , S )')) {
    const value = attributes[args.at(-2)!];
    return !(value !== undefined && regexp(args.at(-1)!).matchString(value));
  }
  return undefined;
}

/**
 * `log.attributes`, `log.body`, `log.cache` as the one word of the unprefixed path: compile.ts
 * writes every path with its context; the truncation (config.ts) does not yet.
 */
function withoutContext(tokens: Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const [word, dot, path] = [tokens[i]!, tokens[i + 1], tokens[i + 2]];
    if (word.kind === 'word' && word.value === 'log' && dot?.kind === 'punct' && dot.value === '.' && path?.kind === 'word' && ['attributes', 'body', 'cache'].includes(path.value)) {
      out.push(path);
      i += 2;
    } else {
      out.push(word);
    }
  }
  return out;
}

/**
 * The prefilter's mark (compile.ts guardedStatements): a statement that runs only when
 * `cache[S] == N`. Returns the statement's tokens without that condition, or undefined when the
 * mark is not set to N (the statement does not run).
 */
function withoutMark(tokens: Token[], cache: Cache): Token[] | undefined {
  // cache [ S ] = = N: seven tokens.
  const at = tokens.findIndex((_, i) => signature(tokens.slice(i, i + 7)) === 'cache [ S ] = = N');
  if (at < 0) return tokens;
  const holds = cache[tokens[at + 2]!.value] === Number(tokens[at + 6]!.value);
  const text = (i: number) => tokens[i]?.value;
  let from: number;
  let to: number;
  if (text(at - 1) === '(' && text(at + 7) === ')' && text(at - 2) === 'and') [from, to] = [at - 2, at + 8];
  else if (text(at - 1) === '(' && text(at + 7) === ')' && text(at + 8) === 'and') [from, to] = [at - 1, at + 9];
  else if (text(at - 1) === 'where' && at + 7 === tokens.length) [from, to] = [at - 1, at + 7];
  else throw new Error(`unexpected mark condition in ${signature(tokens)}`);
  return holds ? [...tokens.slice(0, from), ...tokens.slice(to)] : undefined;
}

/** A guard: IsMatch of the prefilter's text against literals, joined by and / or with parentheses. */
function guardHolds(tokens: Token[], cache: Cache): boolean {
  let i = 0;
  const text = () => tokens[i]?.value;
  const expect = (value: string) => {
    if (text() !== value) throw new Error(`guard: expected ${value} at ${signature(tokens.slice(i))}`);
    i += 1;
  };
  const primary = (): boolean => {
    if (text() === '(') {
      i += 1;
      const value = either();
      expect(')');
      return value;
    }
    if (signature(tokens.slice(i, i + 9)) !== 'IsMatch ( cache [ S ] , S )') throw new Error(`guard: unknown term ${signature(tokens.slice(i))}`);
    const key = tokens[i + 4]!.value;
    const pattern = tokens[i + 7]!.value;
    i += 9;
    const value = cache[key];
    return typeof value === 'string' && regexp(pattern).matchString(value);
  };
  const both = (): boolean => {
    let value = primary();
    while (text() === 'and') {
      i += 1;
      value = primary() && value;
    }
    return value;
  };
  const either = (): boolean => {
    let value = both();
    while (text() === 'or') {
      i += 1;
      value = both() || value;
    }
    return value;
  };
  const value = either();
  if (i !== tokens.length) throw new Error(`guard: trailing ${signature(tokens.slice(i))}`);
  return value;
}

function runStatement(statement: string, record: LogRecord, cache: Cache): void {
  const unmarked = withoutMark(withoutContext(tokenize(statement)), cache);
  if (!unmarked) return;
  const tokens = unmarked;
  const sig = signature(tokens);
  const args = strings(tokens);
  const attributes = record.attributes ?? {};
  // The prefilter's mark: set when the record's text passes the rule's guard.
  if (sig.startsWith('set ( cache [ S ] , N ) where ')) {
    if (guardHolds(tokens.slice(10), cache)) cache[args[0]!] = numbers(tokens)[0];
    return;
  }
  switch (sig) {
    // The prefilter's text: every literal at first, then the values and the body joined, and folded.
    case 'set ( cache [ S ] , S )':
      cache[args[0]!] = args[1]!;
      return;
    case 'set ( cache [ S ] , Concat ( [ Concat ( Values ( attributes ) , S ) , body ] , S ) )':
      cache[args[0]!] = [Object.values(attributes).join(args[1]!), record.body ?? '<nil>'].join(args[2]!);
      return;
    case 'set ( cache [ S ] , ToUpperCase ( ToLowerCase ( cache [ S ] ) ) )':
      cache[args[0]!] = String(cache[args[1]!]).toLowerCase().toUpperCase();
      return;
    case 'truncate_all ( attributes , N , true , S )':
    case 'truncate_all ( cache , N , true , S )': {
      const map = sig.includes('cache') ? cache : attributes;
      for (const [key, value] of Object.entries(map)) map[key] = truncateValue(value, numbers(tokens)[0]!, args[0]!);
      return;
    }
    case 'set ( cache [ S ] , body ) where IsString ( body ) and Len ( body ) > N':
      if (typeof record.body === 'string' && Buffer.byteLength(record.body, 'utf8') > numbers(tokens)[0]!) cache[args[0]!] = record.body;
      return;
    case 'set ( body , cache [ S ] ) where cache [ S ] ! = nil':
      if (args[0] !== args[1]) throw new Error(`sets from one cache key after testing another: ${statement}`);
      if (args[0]! in cache) record.body = cache[args[0]!]!;
      return;
    case 'replace_pattern ( body , S , S ) where IsString ( body )':
    case 'replace_pattern ( body , S , S , SHA256 , S ) where IsString ( body )':
      if (typeof record.body === 'string') record.body = replace(record.body, args[0]!, args[1]!, args[2]);
      return;
    case 'replace_all_patterns ( attributes , S , S , S )':
    case 'replace_all_patterns ( attributes , S , S , S , SHA256 , S )':
      if (args[0] !== 'value') throw new Error(`unexpected mode in ${statement}`);
      for (const [key, value] of Object.entries(attributes)) attributes[key] = replace(value, args[1]!, args[2]!, args[3]);
      return;
    case 'delete_key ( attributes , S )':
      delete attributes[args[0]!];
      return;
    case 'delete_key ( attributes , S ) where IsMatch ( attributes [ S ] , S )': {
      const [key, sameKey, pattern] = args as [string, string, string];
      if (key !== sameKey) throw new Error(`deletes one key after testing another: ${statement}`);
      if (key in attributes && regexp(pattern).matchString(attributes[key]!)) delete attributes[key];
      return;
    }
    case 'set ( cache [ S ] , ParseJSON ( attributes [ S ] ) ) where IsMatch ( attributes [ S ] , S )': {
      const [target, source, sameSource, pattern] = args as [string, string, string, string];
      if (source !== sameSource) throw new Error(`parses one key after testing another: ${statement}`);
      const value = attributes[source];
      if (value === undefined || !regexp(pattern).matchString(value)) return;
      try {
        cache[target] = JSON.parse(value);
      } catch {
        // error_mode ignore: the statement is skipped.
      }
      return;
    }
    case 'set ( attributes [ S ] , cache [ S ] [ S ] ) where attributes [ S ] = = nil and IsString ( cache [ S ] [ S ] )': {
      const [key, from, inner, sameKey, sameFrom, sameInner] = args as [string, string, string, string, string, string];
      if (key !== sameKey || from !== sameFrom || inner !== sameInner) throw new Error(`sets one key after testing another: ${statement}`);
      const value = cache[from]?.[inner];
      if (!(key in attributes) && typeof value === 'string') record.attributes = { ...attributes, [key]: value };
      return;
    }
    case 'set ( cache [ S ] , attributes )':
      cache[args[0]!] = { ...attributes };
      return;
    case 'keep_matching_keys ( attributes , S ) where attributes [ S ] = = S':
    case 'keep_matching_keys ( attributes , S ) where not IsMatch ( attributes [ S ] , S )':
    case 'keep_matching_keys ( attributes , S )': {
      if (eventCondition(sig, args, attributes) === false) return;
      for (const key of Object.keys(attributes)) if (!regexp(args[0]!).matchString(key)) delete attributes[key];
      return;
    }
    case 'delete_matching_keys ( cache [ S ] , S ) where attributes [ S ] = = S':
    case 'delete_matching_keys ( cache [ S ] , S ) where not IsMatch ( attributes [ S ] , S )':
    case 'delete_matching_keys ( cache [ S ] , S )': {
      if (eventCondition(sig, args, attributes) === false) return;
      const map: Record<string, string> = cache[args[0]!] ?? {};
      for (const key of Object.keys(map)) if (regexp(args[1]!).matchString(key)) delete map[key];
      return;
    }
    case 'set ( attributes [ S ] , Concat ( Sort ( Keys ( cache [ S ] ) ) , S ) ) where Len ( cache [ S ] ) > N': {
      const [key, from, separator, sameFrom] = args as [string, string, string, string];
      if (from !== sameFrom) throw new Error(`lists one cache key after testing another: ${statement}`);
      const names = Object.keys(cache[from] ?? {});
      if (names.length > numbers(tokens)[0]!) attributes[key] = names.sort().join(separator);
      return;
    }
    // compile.ts normalizeStatements: the event name's prefix and the status of repeated 529s.
    case 'replace_pattern ( attributes [ S ] , S , S )': {
      const [key, pattern, replacement] = args as [string, string, string];
      if (typeof attributes[key] === 'string') attributes[key] = replace(attributes[key]!, pattern, replacement);
      return;
    }
    case 'set ( attributes [ S ] , N ) where attributes [ S ] = = nil and ( attributes [ S ] = = S or attributes [ S ] = = S ) and IsMatch ( attributes [ S ] , S )': {
      const [key, sameKey, nameKey, first, sameNameKey, second, textKey, pattern] = args as string[];
      if (key !== sameKey || nameKey !== sameNameKey) throw new Error(`sets one key after testing another: ${statement}`);
      const text = attributes[textKey!];
      if (!(key! in attributes) && [first, second].includes(attributes[nameKey!]) && text !== undefined && regexp(pattern!).matchString(text)) attributes[key!] = String(numbers(tokens)[0]);
      return;
    }
    case 'set ( attributes [ S ] , S ) where attributes [ S ] = = S and IsMatch ( attributes [ S ] , S )': {
      const [key, value, nameKey, name, textKey, pattern] = args as string[];
      const text = attributes[textKey!];
      if (attributes[nameKey!] === name && text !== undefined && regexp(pattern!).matchString(text)) attributes[key!] = value!;
      return;
    }
    // Records here are a string body and string attributes: no map or array body, no severity text or event name.
    case 'set ( body , String ( body ) ) where IsMap ( body ) or IsList ( body )':
    case 'stringify_all ( attributes ) where IsMatch ( attributes , S )':
    case 'set ( attributes [ S ] , log . severity_text ) where log . severity_text ! = S':
    case 'set ( attributes [ S ] , log . event_name ) where log . event_name ! = S':
    case 'set ( attributes [ S ] , log . event_name ) where attributes [ S ] = = nil and log . event_name ! = S':
      return;
    case 'set ( log . severity_text , attributes [ S ] ) where attributes [ S ] ! = nil':
    case 'set ( log . event_name , attributes [ S ] ) where attributes [ S ] ! = nil':
      if (args[0]! in attributes) throw new Error(`a record carries the temporary key ${args[0]}; the interpreter has no field to move it to`);
      return;
    default:
      throw new Error(`the interpreter does not know this statement shape: ${sig}\n${statement}`);
  }
}

// ------------------------------------------------------------------ processors and pipeline

type Processor = Record<string, any>;

function runProcessor(id: string, processor: Processor, record: LogRecord, authUser: string | undefined): LogRecord | undefined {
  if (id === 'memory_limiter') return record;
  if (id.startsWith('filter/')) {
    const conditions: string[] = processor.logs?.log_record ?? [];
    for (const condition of conditions) {
      if (condition !== 'true') throw new Error(`unknown filter condition ${condition}`);
      return undefined;
    }
    return record;
  }
  if (id.startsWith('transform/')) {
    for (const group of processor.log_statements ?? []) {
      // Records here carry no resource or scope; their statements have nothing to act on.
      if (group.context === 'resource' || group.context === 'scope') continue;
      if (group.context !== 'log') throw new Error(`unknown context ${group.context}`);
      // OTTL's cache lives for one record in one statement group.
      const cache: Cache = {};
      for (const statement of group.statements) runStatement(statement, record, cache);
    }
    return record;
  }
  if (id.startsWith('attributes/')) {
    for (const action of processor.actions) {
      if (action.action !== 'upsert') throw new Error(`unknown attributes action ${action.action}`);
      let value: string | undefined;
      if (action.from_context === 'auth.username') value = authUser;
      else if (typeof action.value === 'string') value = action.value;
      else throw new Error(`unknown attributes source ${JSON.stringify(action)}`);
      // The attributes processor skips an upsert whose context value is missing.
      if (value !== undefined) record.attributes = { ...record.attributes, [action.key]: value };
    }
    return record;
  }
  throw new Error(`the interpreter does not know processor ${id}`);
}

export interface LogsPipeline {
  /** Processor ids in pipeline order. */
  readonly order: readonly string[];
  run(record: LogRecord, authUser?: string): LogRecord | undefined;
}

/** The logs pipeline of a rendered collector configuration (YAML text), resolved with `env`. */
export function logsPipeline(configYaml: string, env: Record<string, string>): LogsPipeline {
  const raw = parse(configYaml) as { processors: Record<string, Processor>; service: { pipelines: { logs: { processors: string[] } } } };
  // Only the processors are resolved: exporters reference credentials the test has no reason to set.
  const config = { ...raw, processors: resolveAll(raw.processors, env) as Record<string, Processor> };
  const order = config.service.pipelines.logs.processors;
  return {
    order,
    run(input, authUser) {
      let record: LogRecord | undefined = structuredClone(input);
      for (const id of order) {
        if (!record) break;
        const processor = config.processors[id];
        if (!processor) throw new Error(`pipeline references undefined processor ${id}`);
        record = runProcessor(id, processor, record, authUser);
      }
      return record;
    },
  };
}
