/**
 * The query library (queries/*.sql): each file is one named query with a header of
 * `-- name:`, `-- description:` and `-- param: NAME Type [= default] -- doc` lines, and
 * ClickHouse `{name:Type}` placeholders the engine binds. Queries name the tables
 * unqualified; the target's default database is the telemetry database.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

export const QUERIES_DIR = fileURLToPath(new URL('../../queries/', import.meta.url));

export interface QueryParam {
  readonly name: string;
  readonly type: string;
  /** Undefined: the caller must give it. */
  readonly default?: string;
  readonly doc: string;
}

export interface LibraryQuery {
  readonly name: string;
  readonly description: string;
  readonly params: readonly QueryParam[];
  readonly sql: string;
  readonly file: string;
}

export function parseQuery(text: string, file: string): LibraryQuery {
  let name: string | undefined;
  let description = '';
  const params: QueryParam[] = [];
  const body: string[] = [];
  for (const line of text.split('\n')) {
    const header = /^--\s*(name|description|param):\s*(.*)$/.exec(line);
    if (!header) {
      body.push(line);
      continue;
    }
    const [, key, value] = header as unknown as [string, string, string];
    if (key === 'name') name = value.trim();
    else if (key === 'description') description = value.trim();
    else {
      const param = /^(\w+)\s+(\S+)(?:\s*=\s*(\S+))?(?:\s*--\s*(.*))?$/.exec(value.trim());
      if (!param) throw new Error(`${file}: malformed "-- param:" line: ${line}`);
      params.push({ name: param[1]!, type: param[2]!, ...(param[3] !== undefined ? { default: param[3] } : {}), doc: param[4] ?? '' });
    }
  }
  if (!name) throw new Error(`${file}: missing "-- name:" header`);
  const sql = body.join('\n').trim();
  const used = new Set([...sql.matchAll(/\{(\w+):[^}]+\}/g)].map((match) => match[1]!));
  for (const param of params) if (!used.has(param.name)) throw new Error(`${file}: parameter ${param.name} is declared but not used`);
  for (const placeholder of used) if (!params.some((param) => param.name === placeholder)) throw new Error(`${file}: placeholder {${placeholder}} has no "-- param:" line`);
  return { name, description, params, sql, file };
}

export function loadLibrary(dir: string = QUERIES_DIR): LibraryQuery[] {
  return readdirSync(dir)
    .filter((file) => file.endsWith('.sql'))
    .sort()
    .map((file) => parseQuery(readFileSync(join(dir, file), 'utf8'), join(dir, file)));
}

export class QueryParamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'QueryParamError';
  }
}

/** Checked here so a mistake gets a clear message instead of an engine parse error. */
const PARAM_FORMATS: Record<string, { pattern: RegExp; what: string }> = {
  Date: { pattern: /^\d{4}-\d{2}-\d{2}$/, what: 'a date (YYYY-MM-DD)' },
  UInt32: { pattern: /^\d{1,9}$/, what: 'a whole number' },
};

/** The bound parameters: the given values over the declared defaults; unknown or missing ones are errors. */
export function bindParams(query: LibraryQuery, given: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const key of Object.keys(given)) {
    if (!query.params.some((param) => param.name === key)) {
      const known = query.params.map((param) => param.name).join(', ') || 'none';
      throw new QueryParamError(`report ${query.name} has no parameter "${key}" (parameters: ${known})`);
    }
  }
  for (const param of query.params) {
    const value = given[param.name] ?? param.default;
    if (value === undefined) throw new QueryParamError(`report ${query.name} needs --param ${param.name}=<${param.type}> (${param.doc})`);
    const format = PARAM_FORMATS[param.type];
    if (format && !format.pattern.test(value)) {
      throw new QueryParamError(`report ${query.name}: --param ${param.name}=${value} is not ${format.what}`);
    }
    out[param.name] = value;
  }
  return out;
}
