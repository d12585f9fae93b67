/**
 * The whole path a user runs, as a test harness: the real Claude Code client (with the exports
 * `telemetry-stack env` prints) -> an OTLP recorder (what the client sent, and what the collector
 * accepted) -> the real collector on the rendered configuration with its real ClickHouse exporter
 * -> the ClickHouse front over the embedded engine (chdb) holding the project's migrated schema ->
 * the report library. One engine and one Messages API stand-in per test file; each stack gets its
 * own database, front, collector and recorder.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { requireClaudeCodeBinary } from '../../scripts/test-binaries/claude-code.ts';
import type { TelemetryStack } from '../../src/api/resource.ts';
import { COLLECTOR_ENV } from '../../src/charts/collector/config.ts';
import { migrate } from '../../src/clickhouse/migrate.ts';
import { bindParams, loadLibrary } from '../../src/clickhouse/queries.ts';
import { embeddedTarget, type SqlTarget } from '../../src/clickhouse/target.ts';
import { stopAllClaude, telemetryEnvFromCli } from './claude-code.ts';
import { type ClickHouseFront, startClickHouseFront } from './clickhouse-front.ts';
import { type RunningCollector, type StackSecrets, stackSecrets, startCollector, stopAllCollectors } from '../../harness/collector.ts';
import { MessagesApi } from './messages-api.ts';
import { OtlpRecorder } from './otlp-recorder.ts';
import { stackFrom } from '../../harness/stacks.ts';

export interface PathStack {
  readonly database: string;
  readonly stack: TelemetryStack;
  readonly secrets: StackSecrets;
  readonly front: ClickHouseFront;
  collector: RunningCollector;
  readonly recorder: OtlpRecorder;
  /** The client's telemetry variables: what `telemetry-stack env --user me` printed, sourced. */
  readonly telemetryEnv: Record<string, string>;
}

export interface PathStackOptions {
  /** Default full, so every event kind the client sends is stored. */
  readonly level?: 'basic' | 'enhanced' | 'full';
  /** More of the spec (merged over level, database and one admin user `me`). */
  readonly spec?: Record<string, unknown>;
  /** Arguments for `telemetry-stack env` (e.g. --temporality cumulative). */
  readonly envArgs?: readonly string[];
}

export class WholePath {
  readonly target: SqlTarget;
  readonly api: MessagesApi;
  private readonly fronts: ClickHouseFront[] = [];
  private readonly recorders: OtlpRecorder[] = [];
  private readonly dirs: string[] = [];
  private readonly cleanups: (() => Promise<void>)[] = [];

  private constructor(target: SqlTarget, api: MessagesApi) {
    this.target = target;
    this.api = api;
  }

  /** A missing client fails at once, with the install command. */
  static async start(): Promise<WholePath> {
    requireClaudeCodeBinary();
    return new WholePath(await embeddedTarget(), await new MessagesApi().start());
  }

  async stop(): Promise<void> {
    stopAllClaude();
    await this.api.stop();
    for (const recorder of this.recorders) await recorder.stop();
    await stopAllCollectors();
    for (const cleanup of this.cleanups) await cleanup();
    for (const front of this.fronts) await front.close();
    await this.target.close();
    for (const dir of this.dirs) rmSync(dir, { recursive: true, force: true });
  }

  /** A fresh database, front, collector and recorder for a stack, and the client's environment from `telemetry-stack env`. */
  async stack(database: string, options: PathStackOptions = {}): Promise<PathStack> {
    const spec = { level: options.level ?? 'full', ...options.spec, clickhouse: { database }, access: { users: [{ name: 'me', role: 'admin' }] } };
    const stack = stackFrom(spec, 'local', 'telemetry');
    const secrets = stackSecrets(stack);
    const front = await this.storage(database, secrets);
    const collector = await startCollector({ stack, secrets, clickhouseEndpoint: front.endpoint });
    const recorder = await this.recorder(collector.httpEndpoint);
    const telemetryEnv = (await telemetryEnvFromCli({ stack, secrets, user: 'me', endpoint: recorder.endpoint, extraArgs: options.envArgs ?? [] })).env;
    return { database, stack, secrets, front, collector, recorder, telemetryEnv };
  }

  /** A stack's ClickHouse side: the migrated database on the shared engine and a front the stack's exporter logs in to. */
  async storage(database: string, secrets: StackSecrets): Promise<ClickHouseFront> {
    await migrate(this.target, { database });
    const front = await startClickHouseFront(this.target, { database });
    this.fronts.push(front);
    front.users.set(secrets.env[COLLECTOR_ENV.clickhouseUsername]!, secrets.env[COLLECTOR_ENV.clickhousePassword]!);
    return front;
  }

  /** An OTLP recorder in front of `endpoint`, stopped with the harness. */
  async recorder(endpoint: string): Promise<OtlpRecorder> {
    const recorder = await new OtlpRecorder(endpoint).start();
    this.recorders.push(recorder);
    return recorder;
  }

  /** Something else to stop with the harness (after the collectors, before the fronts). */
  onStop(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  /** A directory removed when the harness stops (a run's working directory). */
  tempDir(): string {
    return this.removeLater(mkdtempSync(join(tmpdir(), 'tstack-wholepath-')));
  }

  removeLater(dir: string): string {
    this.dirs.push(dir);
    return dir;
  }

  /**
   * A report of the library, run in `database` (the library's SQL names its tables unqualified),
   * over all time unless `params` say otherwise: a session's rows carry the machine's clock.
   */
  async report<T = Record<string, unknown>>(database: string, name: string, params: Readonly<Record<string, string>> = {}): Promise<T[]> {
    const query = loadLibrary().find((candidate) => candidate.name === name);
    if (!query) throw new Error(`no report ${name} in queries/`);
    const allTime: Record<string, string> = { from: '1970-01-01', to: '2999-12-31' };
    const given = { ...Object.fromEntries(Object.entries(allTime).filter(([key]) => query.params.some((param) => param.name === key))), ...params };
    await this.target.exec(`USE ${database}`);
    return this.target.query<T>(query.sql, bindParams(query, given));
  }

  /** Every row of every table and view in the database, as text, for marker searches. */
  async everyRowAsText(database: string): Promise<{ table: string; text: string }[]> {
    const tables = await this.target.query<{ name: string }>(`SELECT name FROM system.tables WHERE database = '${database}' ORDER BY name`);
    const out: { table: string; text: string }[] = [];
    for (const { name } of tables) out.push({ table: name, text: JSON.stringify(await this.target.query(`SELECT * FROM ${database}.\`${name}\``)) });
    return out;
  }

  /** "MARKER in TABLE" for each marker stored anywhere in the database. */
  async markersFound(database: string, markers: readonly string[]): Promise<string[]> {
    const tables = await this.everyRowAsText(database);
    if (tables.length === 0) throw new Error(`database ${database} has no tables`);
    return tables.flatMap(({ table, text }) => markers.filter((marker) => text.includes(marker)).map((marker) => `${marker} in ${table}`));
  }
}

/** Polls until `done` holds or the time is up; false on timeout. */
export async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number, intervalMs = 500): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return true;
}
