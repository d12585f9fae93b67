/**
 * The drift report sees what the allow-list removed. On the whole path below the client (the
 * real collector at `enhanced` with its real ClickHouse exporter -> the ClickHouse front over the
 * embedded engine with the migrated schema), the unknown-fields query and doctor's check list
 * the keys the level removed by name (REMOVED_KEYS_ATTRIBUTE), except the free text it removes
 * by design, next to the unknown event itself.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLLECTOR_ENV } from '../src/charts/collector/config.ts';
import { migrate } from '../src/clickhouse/migrate.ts';
import { bindParams, loadLibrary } from '../src/clickhouse/queries.ts';
import { RAW_TABLES } from '../src/clickhouse/tables.ts';
import { embeddedTarget, type SqlTarget } from '../src/clickhouse/target.ts';
import { UNKNOWN_FIELDS_QUERY, type UnknownField } from '../src/clickhouse/unknown-fields.ts';
import { fieldsCheck } from '../src/cli/doctor/checks.ts';
import { REMOVED_KEYS_ATTRIBUTE } from '../src/sanitizer/fields.ts';
import { sendEvents, sendMetrics, type Target } from '../harness/claude-code-client.ts';
import { type ClickHouseFront, startClickHouseFront } from './support/clickhouse-front.ts';
import { type RunningCollector, stackSecrets, startCollector, stopAllCollectors } from '../harness/collector.ts';
import { stackFrom } from '../harness/stacks.ts';

const DATABASE = 'privacy_drift';
/** The exporter batches (about 5 s) and retries; allow for a loaded two-core machine. */
const ARRIVAL_MS = 90_000;
const SECRET = 'hunter2-only-the-name-may-be-stored';

let target: SqlTarget;
let front: ClickHouseFront;
let collector: RunningCollector;

beforeAll(async () => {
  target = await embeddedTarget();
  const stack = stackFrom({ level: 'enhanced', clickhouse: { database: DATABASE }, access: { users: [{ name: 'me' }] } }, 'local', 'telemetry');
  const secrets = stackSecrets(stack);
  await migrate(target, { database: DATABASE });
  front = await startClickHouseFront(target, { database: DATABASE });
  front.users.set(secrets.env[COLLECTOR_ENV.clickhouseUsername]!, secrets.env[COLLECTOR_ENV.clickhousePassword]!);
  collector = await startCollector({ stack, secrets, clickhouseEndpoint: front.endpoint });
}, 180_000);

afterAll(async () => {
  await stopAllCollectors();
  await front?.close();
  await target?.close();
});

async function count(sql: string): Promise<number> {
  const rows = await target.query<{ n: string | number }>(sql);
  return Number(rows[0]?.n ?? 0);
}

describe('unknown fields at enhanced', () => {
  it('lists removed keys by name (free text excepted) with the event or metric they came on; doctor says they were removed', async () => {
    const http: Target = { protocol: 'http', endpoint: collector.httpEndpoint, authorization: collector.secrets.authorization.me };
    const session = { 'session.id': 's-privacy-drift' };
    const events = [
      { name: 'user_prompt', attributes: { ...session, prompt: SECRET, prompt_length: 30, 'zz.future_context': SECRET } },
      { name: 'brand_new_event', attributes: { ...session, notes: SECRET } },
      { name: 'api_request', attributes: { ...session, model: 'claude-opus-5-5', cost_usd: 0.01 } },
    ];
    expect((await sendEvents(http, events)).error?.message).toBeUndefined();
    const points = [{ metric: 'claude_code.cost.usage', value: 0.01, attributes: { ...session, model: 'claude-opus-5-5', 'zz.new_dimension': SECRET } }];
    expect((await sendMetrics(http, points)).error?.message).toBeUndefined();
    const deadline = Date.now() + ARRIVAL_MS;
    let logs = 0;
    let sums = 0;
    while (Date.now() < deadline && (logs < events.length || sums < 1)) {
      logs = await count(`SELECT count() AS n FROM ${DATABASE}.${RAW_TABLES.logs}`);
      sums = await count(`SELECT count() AS n FROM ${DATABASE}.${RAW_TABLES.metricsSum}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect({ logs, sums }, collector.log()).toEqual({ logs: events.length, sums: 1 });

    // Only names reached the tables.
    const stored = JSON.stringify(await target.query(`SELECT * FROM ${DATABASE}.${RAW_TABLES.logs}`)) + JSON.stringify(await target.query(`SELECT * FROM ${DATABASE}.${RAW_TABLES.metricsSum}`));
    expect(stored).not.toContain(SECRET);
    expect(stored).toContain(REMOVED_KEYS_ATTRIBUTE);

    const query = loadLibrary().find((q) => q.name === UNKNOWN_FIELDS_QUERY)!;
    await target.exec(`USE ${DATABASE}`);
    const rows = (await target.query<UnknownField>(query.sql, bindParams(query, {}))).map((row) => ({ kind: row.kind, name: row.name, seen_on: row.seen_on, records: Number(row.records) }));
    expect(rows).toEqual([
      { kind: 'event', name: 'brand_new_event', seen_on: '', records: 1 },
      { kind: 'removed event attribute', name: 'notes', seen_on: 'brand_new_event', records: 1 },
      { kind: 'removed event attribute', name: 'zz.future_context', seen_on: 'user_prompt', records: 1 },
      { kind: 'removed metric attribute', name: 'zz.new_dimension', seen_on: 'claude_code.cost.usage', records: 1 },
    ]);

    const check = fieldsCheck(
      rows.map((row) => ({ ...row, first_day: '', last_day: '' })),
      7,
      { namespace: 'telemetry', name: 'local' } as Parameters<typeof fieldsCheck>[2],
    );
    expect(check.verdict).toBe('warn');
    expect(check.detail).toContain('4 name(s) stored in the last 7 day(s)');
    expect(check.detail).toContain("3 of them removed by the level's allow-list (only the name was stored)");
    expect(check.detail).toContain('removed event attribute zz.future_context (on user_prompt)');
  }, 240_000);
});
