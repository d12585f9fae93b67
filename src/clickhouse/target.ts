/**
 * Where SQL runs: a ClickHouse server over HTTP (@clickhouse/client) or the embedded
 * ClickHouse engine in this process (chdb). Both run the same DDL and the same library
 * queries; only access control differs (the embedded engine refuses it, see access.ts).
 *
 * The interface is deliberately small: the operator, `report` and the tests depend on it.
 */
import { mkdirSync } from 'node:fs';

export type Row = Record<string, unknown>;

export interface SqlTarget {
  readonly kind: 'server' | 'embedded';
  /** Runs one statement that returns no rows (DDL, ALTER, GRANT, INSERT ... SELECT). */
  exec(sql: string): Promise<void>;
  /** Runs one SELECT; `{name:Type}` placeholders are bound by the engine, never spliced into the text. */
  query<T = Row>(sql: string, params?: Record<string, unknown>): Promise<T[]>;
  /** Inserts rows (objects keyed by column name) into `table` (optionally `db.table`). */
  insert(table: string, rows: readonly Row[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * Settings both targets use so that results look the same whichever ran them:
 * 64-bit integers as JSON numbers (the report's JSON output and the tests compare numbers).
 */
const OUTPUT_SETTINGS = {
  output_format_json_quote_64bit_integers: 0,
  output_format_json_quote_decimals: 0,
} as const;

export interface ServerTargetOptions {
  /** HTTP(S) endpoint, e.g. http://telemetry-clickhouse:8123 */
  url: string;
  username: string;
  password: string;
  /** Database for unqualified names; the telemetry database by default. */
  database?: string;
  /** Per-request timeout (ms). */
  requestTimeoutMs?: number;
}

export async function serverTarget(options: ServerTargetOptions): Promise<SqlTarget> {
  const { createClient, ClickHouseLogLevel } = await import('@clickhouse/client');
  const client = createClient({
    url: options.url,
    username: options.username,
    password: options.password,
    ...(options.database ? { database: options.database } : {}),
    request_timeout: options.requestTimeoutMs ?? 60_000,
    clickhouse_settings: { ...OUTPUT_SETTINGS },
    // Errors reach the caller as exceptions; the client's own console logging would print them twice.
    log: { level: ClickHouseLogLevel.OFF },
  });
  return {
    kind: 'server',
    async exec(sql) {
      await client.command({ query: sql, clickhouse_settings: { wait_end_of_query: 1 } });
    },
    async query<T = Row>(sql: string, params?: Record<string, unknown>) {
      const result = await client.query({ query: sql, format: 'JSONEachRow', ...(params ? { query_params: params } : {}) });
      return (await result.json()) as T[];
    },
    async insert(table, rows) {
      if (rows.length === 0) return;
      await client.insert({ table, values: rows as Row[], format: 'JSONEachRow' });
    },
    async close() {
      await client.close();
    },
  };
}

/**
 * chdb's engine library is an optional per-platform dependency (Linux and macOS, over 500 MB),
 * which the operator image leaves out: the embedded engine is then not there to load.
 */
export class EmbeddedEngineMissingError extends Error {
  constructor(cause: string) {
    super(`the embedded ClickHouse engine (the chdb package's native library) cannot be loaded here: ${cause.split('\n')[0]}`);
    this.name = 'EmbeddedEngineMissingError';
  }
}

export interface EmbeddedTargetOptions {
  /** Data directory kept between runs; omitted: a temporary one removed on close. */
  path?: string;
  /**
   * A ClickHouse config file for the engine. Its users.xml decides what the engine's one user
   * (`default`) may do: tests give it a role's grants, row filters and limits this way, since
   * the embedded engine has no SQL access control.
   */
  configFile?: string;
}

/**
 * The embedded engine. chdb binds one data directory per process: open one embedded
 * target at a time (tests run one file per process).
 */
export async function embeddedTarget(options: EmbeddedTargetOptions = {}): Promise<SqlTarget> {
  let chdb: typeof import('chdb');
  try {
    chdb = await import('chdb');
  } catch (error) {
    throw new EmbeddedEngineMissingError((error as Error).message);
  }
  const { Session, drainPending } = chdb;
  if (options.path) mkdirSync(options.path, { recursive: true });
  const settingArgs = Object.entries(OUTPUT_SETTINGS).map(([name, value]) => `--${name}=${value}`);
  const session = new Session(options.path, { connectionArgs: [...settingArgs, ...(options.configFile ? [`--config-file=${options.configFile}`] : [])] });
  return {
    kind: 'embedded',
    async exec(sql) {
      await session.queryAsync(sql, { format: 'Null' });
    },
    async query<T = Row>(sql: string, params?: Record<string, unknown>) {
      const result = params
        ? await session.queryBindAsync(sql, params, { format: 'JSONEachRow' })
        : await session.queryAsync(sql, { format: 'JSONEachRow' });
      return parseJsonEachRow<T>(result.text());
    },
    async insert(table, rows) {
      if (rows.length === 0) return;
      const payload = rows.map((row) => JSON.stringify(row)).join('\n');
      await session.insert({ table, values: payload, format: 'JSONEachRow' });
    },
    async close() {
      session.close();
      // The next embedded target (another data directory) may only open once this one is gone.
      await drainPending();
    },
  };
}

export function parseJsonEachRow<T>(text: string): T[] {
  const rows: T[] = [];
  for (const line of text.split('\n')) if (line.trim() !== '') rows.push(JSON.parse(line) as T);
  return rows;
}
