/**
 * The exporter-to-schema seam on the real engine (chdb): the real collector runs the rendered
 * configuration with its real ClickHouse exporter (contrib, clickhouse-go over HTTP, lz4 blocks as
 * rendered), pointed at test/support/clickhouse-front.ts, and what Claude Code sends lands in the
 * project's migrated tables, typed views and rollup, where the library's reports read it. Also the
 * event-name expression, on records as the exporter stores them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTOR_ENV } from '../src/charts/collector/config.ts';
import { migrate } from '../src/clickhouse/migrate.ts';
import { bindParams, loadLibrary } from '../src/clickhouse/queries.ts';
import { DERIVED, RAW_TABLES } from '../src/clickhouse/tables.ts';
import { embeddedTarget, type SqlTarget } from '../src/clickhouse/target.ts';
import { type ClaudeCodeEvent, logRecords, sendEventRecords, sendEvents, sendMetrics, type Target } from '../harness/claude-code-client.ts';
import { benignEvents, claudeCodeMetrics } from '../harness/claude-code-corpus.ts';
import { type ClickHouseFront, compressBlocks, startClickHouseFront } from './support/clickhouse-front.ts';
import { type RunningCollector, stackSecrets, startCollector, stopAllCollectors } from '../harness/collector.ts';
import { stackFrom } from '../harness/stacks.ts';

let target: SqlTarget;
beforeAll(async () => {
  target = await embeddedTarget();
}, 120_000);
afterAll(async () => {
  await stopAllCollectors();
  await front?.close();
  await target?.close();
});

let front: ClickHouseFront | undefined;

/** An api_request the way the exporter stores a record named only by the OTLP eventName field: no event.name attribute, an empty body. */
function namedByEventName(user: string, cost: number, at: string): Record<string, unknown> {
  return {
    Timestamp: at,
    EventName: 'claude_code.api_request',
    Body: '',
    LogAttributes: { 'user.email': user, model: 'claude-sonnet-4-5', cost_usd: String(cost), input_tokens: '10', 'session.id': 's1' },
  };
}

async function seen(database: string): Promise<{ rollup: number; view: number; events: string[] }> {
  const [rollup] = await target.query<{ cost: number }>(`SELECT sum(cost_usd) AS cost FROM ${database}.${DERIVED.dailyUsage}`);
  const [view] = await target.query<{ cost: number }>(`SELECT sum(cost_usd) AS cost FROM ${database}.${DERIVED.apiRequests}`);
  const events = await target.query<{ event: string }>(`SELECT event FROM ${database}.${DERIVED.events} ORDER BY event`);
  return { rollup: Math.round(rollup!.cost * 1e6) / 1e6, view: Math.round(view!.cost * 1e6) / 1e6, events: events.map((row) => row.event) };
}

describe('the event name from the OTLP eventName field', () => {
  it('loses its claude_code. prefix: the record is in the typed views and the rollup', async () => {
    await migrate(target, { database: 'event_name_fresh' });
    await target.insert(`event_name_fresh.${RAW_TABLES.logs}`, [namedByEventName('a@example.com', 0.25, '2026-11-30 01:00:00')]);
    expect(await seen('event_name_fresh')).toEqual({ rollup: 0.25, view: 0.25, events: ['api_request'] });
  });

  it('an upgrade from version 6 counts the records stored before it once, and those after it', async () => {
    const database = 'event_name_upgrade';
    await migrate(target, { database }, { upTo: 6 });
    await target.insert(`${database}.${RAW_TABLES.logs}`, [namedByEventName('a@example.com', 0.5, '2026-11-29 01:00:00')]);
    // A record the old expression already named (by its attribute) is counted by the rollup before the upgrade: not again after it.
    await target.insert(`${database}.${RAW_TABLES.logs}`, [
      { ...namedByEventName('b@example.com', 1, '2026-11-29 02:00:00'), LogAttributes: { ...namedByEventName('b@example.com', 1, '').LogAttributes as object, 'event.name': 'api_request' } },
    ]);
    expect((await seen(database)).rollup).toBe(1);
    const { MIGRATIONS } = await import('../src/clickhouse/schema.ts');
    expect((await migrate(target, { database })).map((m) => m.version)).toEqual(MIGRATIONS.filter((m) => m.version > 6).map((m) => m.version));
    await target.insert(`${database}.${RAW_TABLES.logs}`, [namedByEventName('c@example.com', 0.125, '2026-11-30 01:00:00')]);
    // The stored column of the old rows is recomputed by a background mutation.
    const deadline = Date.now() + 60_000;
    while ((await target.query(`SELECT 1 FROM system.mutations WHERE database = '${database}' AND NOT is_done`)).length > 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(await seen(database)).toEqual({ rollup: 1.625, view: 1.625, events: ['api_request', 'api_request', 'api_request'] });
    // The backfill is keyed: running its statements again adds nothing.
    const rerun = MIGRATIONS.find((m) => m.version === 7)!;
    for (const statement of rerun.statements({ database })) await target.exec(statement);
    expect((await seen(database)).rollup).toBe(1.625);
  });
});

// ---------------------------------------------------------------- the real exporter into the real engine

/** The exporter's queue flushes a batch after 5 s and retries every 5 s or more; allow for a loaded machine. */
const ARRIVAL_MS = 90_000;

/** Polls an async condition (the engine answers asynchronously) until it holds or the time is up. */
async function waitFor(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!(await done())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return true;
}

function report(name: string): string {
  const query = loadLibrary().find((candidate) => candidate.name === name);
  if (!query) throw new Error(`no report ${name} in queries/`);
  bindParams(query, {});
  return query.sql;
}
const reportRows = <T>(name: string) => target.query<T>(report(name), { from: '1970-01-01', to: '2999-12-31' });

function apiRequest(cost: number, model: string, input: number, output: number, id: string): ClaudeCodeEvent {
  return {
    name: 'api_request',
    attributes: { 'session.id': 'session-front', model, cost_usd: cost, duration_ms: 900, input_tokens: input, output_tokens: output, cache_read_tokens: 0, cache_creation_tokens: 0, request_id: id },
  };
}

describe('the real ClickHouse exporter into the real engine, through the HTTP front', () => {
  const stack = stackFrom({ level: 'full', access: { users: [{ name: 'alice' }, { name: 'bob' }] } });
  const database = stack.spec.clickhouse.database;
  const secrets = stackSecrets(stack);
  let collector: RunningCollector;
  const as = (user: string): Target => ({ protocol: 'http', endpoint: collector.httpEndpoint, authorization: secrets.authorization[user] });
  const logRows = async () => Number((await target.query<{ n: number }>(`SELECT count() AS n FROM ${database}.${RAW_TABLES.logs}`))[0]!.n);

  beforeAll(async () => {
    await migrate(target, { database });
    await target.exec(`USE ${database}`);
    front = await startClickHouseFront(target, { database });
    front.users.set(secrets.env[COLLECTOR_ENV.clickhouseUsername]!, secrets.env[COLLECTOR_ENV.clickhousePassword]!);
    collector = await startCollector({ stack, secrets, clickhouseEndpoint: front.endpoint });
  }, 120_000);

  it('runs the rendered exporter unchanged but for its scheme and address: lz4 blocks, the EventName probe, the ingest user', () => {
    const rendered = collector.config.exporters.clickhouse;
    expect(rendered.endpoint).toBe(`${front!.endpoint}?dial_timeout=10s`);
    expect(rendered.compress).toBeUndefined(); // the exporter's default, lz4
    expect(collector.config.service.pipelines.logs.exporters).toContain('clickhouse');
  });

  it('stores events and metrics so that the reports give the numbers the client sent', async () => {
    const alice = [apiRequest(0.5, 'claude-opus-4-5', 1000, 200, 'r1'), apiRequest(0.25, 'claude-sonnet-4-6', 300, 40, 'r2'), ...benignEvents()];
    const bob = [apiRequest(0.125, 'claude-sonnet-4-6', 100, 10, 'r3')];
    expect((await sendEvents(as('alice'), alice)).error?.message).toBeUndefined();
    expect((await sendEvents(as('bob'), bob)).error?.message).toBeUndefined();
    expect((await sendMetrics(as('alice'), claudeCodeMetrics())).error?.message).toBeUndefined();
    const metricRows = async () => Number((await target.query<{ n: number }>(`SELECT count() AS n FROM ${database}.${RAW_TABLES.metricsSum}`))[0]!.n);
    expect(await waitFor(async () => (await logRows()) === alice.length + bob.length && (await metricRows()) === claudeCodeMetrics().length, ARRIVAL_MS), collector.log()).toBe(true);

    // The exporter's own requests, as the front saw them: the handshake, the EventName probe, compressed Native inserts by the ingest user.
    const ingest = secrets.env[COLLECTOR_ENV.clickhouseUsername]!;
    expect(front!.log.some((entry) => entry.sql === 'SELECT displayName(), version(), revision(), timezone()')).toBe(true);
    expect(front!.log.some((entry) => /^DESC TABLE "claude_code"\."otel_logs"$/.test(entry.sql))).toBe(true);
    const inserts = front!.log.filter((entry) => entry.sql.startsWith('INSERT'));
    expect(inserts.length).toBeGreaterThan(0);
    for (const insert of inserts) expect(insert).toMatchObject({ user: ingest, compression: 'lz4' });
    expect(inserts.reduce((sum, insert) => sum + (insert.rows ?? 0), 0)).toBe(alice.length + bob.length + claudeCodeMetrics().length);
    expect(inserts.some((insert) => insert.sql.includes('EventName'))).toBe(true);

    // The reports: cost per user from the rollup, tokens, tools, errors from the typed views.
    const byUser = await reportRows<{ user: string; cost_usd: number; requests: number; input_tokens: number; output_tokens: number }>('cost-by-user');
    expect(byUser).toEqual([
      { user: 'alice', cost_usd: 0.7623, requests: 3, input_tokens: 2800, output_tokens: 560 },
      { user: 'bob', cost_usd: 0.125, requests: 1, input_tokens: 100, output_tokens: 10 },
    ]);
    const tools = await reportRows<{ tool: string; calls: number; failures: number }>('tool-usage');
    expect(tools.map(({ tool, calls, failures }) => ({ tool, calls, failures }))).toEqual([
      { tool: 'Bash', calls: 1, failures: 0 },
      { tool: 'Read', calls: 1, failures: 1 },
    ]);
    expect(await reportRows('api-errors')).toEqual([{ status_code: '529', errors: 1 }]);
    // The stored identity is the authenticated user; the event name came through.
    const events = await target.query<{ user: string; event: string; n: number }>(`SELECT authenticated_user AS user, event, count() AS n FROM ${database}.${DERIVED.events} GROUP BY user, event ORDER BY user, event`);
    expect(events.filter((row) => row.user === 'bob')).toEqual([{ user: 'bob', event: 'api_request', n: 1 }]);
    const increments = await target.query<{ metric: string; total: number }>(
      `SELECT metric, round(sum(increment), 6) AS total FROM ${database}.${DERIVED.metricIncrements} WHERE authenticated_user = 'alice' GROUP BY metric ORDER BY metric`,
    );
    expect(Object.fromEntries(increments.map((row) => [row.metric, row.total]))).toMatchObject({ 'claude_code.cost.usage': 0.0123, 'claude_code.token.usage': 1820 });
  }, 180_000);

  it('a record named only by the OTLP eventName field reaches the typed views and the rollup', async () => {
    const before = await logRows();
    const records = await logRecords([
      { body: '', eventName: 'claude_code.api_request', attributes: { 'session.id': 'session-event-name', model: 'claude-haiku-4-5', cost_usd: 0.0625, input_tokens: 5, output_tokens: 5 } },
    ]);
    expect((await sendEventRecords(as('alice'), records)).error?.message).toBeUndefined();
    expect(await waitFor(async () => (await logRows()) === before + 1, ARRIVAL_MS), collector.log()).toBe(true);
    const [stored] = await target.query<{ EventName: string; Body: string }>(`SELECT EventName, Body FROM ${database}.${RAW_TABLES.logs} WHERE LogAttributes['session.id'] = 'session-event-name'`);
    expect(stored).toEqual({ EventName: 'claude_code.api_request', Body: '' });
    const [view] = await target.query<{ cost: number }>(`SELECT sum(cost_usd) AS cost FROM ${database}.${DERIVED.apiRequests} WHERE session_id = 'session-event-name'`);
    expect(view!.cost).toBe(0.0625);
    const [rollup] = await target.query<{ cost: number }>(`SELECT sum(cost_usd) AS cost FROM ${database}.${DERIVED.dailyUsage} WHERE model = 'claude-haiku-4-5'`);
    expect(rollup!.cost).toBe(0.0625);
  }, 180_000);

  it('an error in ClickHouse\'s format (compressed, as the client asked) makes the exporter retry: nothing is lost or stored twice', async () => {
    const before = await logRows();
    front!.failWith = { code: 242, type: 'TABLE_IS_READ_ONLY', message: 'Table is in readonly mode' };
    const sent = [apiRequest(1, 'claude-sonnet-4-6', 1, 1, 'r-outage')];
    expect((await sendEvents(as('bob'), sent)).error?.message).toBeUndefined();
    // The client read the compressed error body: the message arrives whole, in ClickHouse's words.
    expect(await waitFor(() => collector.log().includes('Code: 242. DB::Exception: Table is in readonly mode. (TABLE_IS_READ_ONLY)'), ARRIVAL_MS), collector.log()).toBe(true);
    expect(await logRows()).toBe(before);
    front!.failWith = undefined;
    expect(await waitFor(async () => (await logRows()) === before + 1, ARRIVAL_MS), collector.log()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 6_000));
    expect(await logRows()).toBe(before + 1);
    const [bob] = await target.query<{ cost: number }>(`SELECT round(sum(cost_usd), 6) AS cost FROM ${database}.${DERIVED.dailyUsage} WHERE user = 'bob'`);
    expect(bob!.cost).toBe(1.125);
  }, 240_000);
});

describe('the front\'s compressed blocks', () => {
  it('refuses a block whose CityHash128 checksum does not match, in ClickHouse\'s format', async () => {
    const user = [...front!.users][0]!;
    const block = compressBlocks(Buffer.from('not even Native'));
    block[40] = block[40]! ^ 0xff;
    const response = await fetch(`${front!.endpoint}/?database=claude_code&decompress=1&query=${encodeURIComponent('INSERT INTO claude_code.otel_logs (Body) FORMAT Native')}`, {
      method: 'POST',
      headers: { 'X-ClickHouse-User': user[0], 'X-ClickHouse-Key': user[1] },
      body: block,
    });
    expect(response.status).toBe(500);
    expect(response.headers.get('x-clickhouse-exception-code')).toBe('40');
    expect(await response.text()).toMatch(/^Code: 40\. DB::Exception: checksum doesn't match: corrupted data\. \(CHECKSUM_DOESNT_MATCH\)/);
  });

  it('takes ZSTD blocks too: an exporter set to compress: zstd stores the same rows', async () => {
    const stack = stackFrom({ level: 'full', access: { users: [{ name: 'carol' }] } }, 'zstd');
    const secrets = stackSecrets(stack);
    front!.users.set(secrets.env[COLLECTOR_ENV.clickhouseUsername]!, secrets.env[COLLECTOR_ENV.clickhousePassword]!);
    const seenBefore = front!.log.length;
    // The one change beyond addresses: the compression method, to exercise the front's ZSTD path.
    const collector = await startCollector({ stack, secrets, clickhouseEndpoint: front!.endpoint, configure: (config) => (config.exporters.clickhouse.compress = 'zstd') });
    const target_: Target = { protocol: 'http', endpoint: collector.httpEndpoint, authorization: secrets.authorization.carol };
    expect((await sendEvents(target_, [apiRequest(2, 'claude-sonnet-4-6', 7, 3, 'r-zstd')])).error?.message).toBeUndefined();
    const carol = async () => (await target.query<{ cost: number }>(`SELECT sum(cost_usd) AS cost FROM claude_code.${DERIVED.apiRequests} WHERE authenticated_user = 'carol'`))[0]!.cost;
    expect(await waitFor(async () => (await carol()) === 2, ARRIVAL_MS), collector.log()).toBe(true);
    const inserts = front!.log.slice(seenBefore).filter((entry) => entry.sql.startsWith('INSERT'));
    expect(inserts.length).toBeGreaterThan(0);
    for (const insert of inserts) expect(insert.compression).toBe('zstd');
    await collector.stop();
  }, 180_000);
});
