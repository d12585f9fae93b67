/** Erasing one person's rows on the embedded engine, loaded with the sample export: theirs are gone everywhere, nobody else's moved. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { USER_ROW_TABLES } from '../src/clickhouse/access.ts';
import { countUserRows, eraseUserRows } from '../src/clickhouse/erasure.ts';
import { migrate } from '../src/clickhouse/migrate.ts';
import { loadExport } from '../src/clickhouse/otlp-json.ts';
import { DERIVED, RAW_TABLES } from '../src/clickhouse/tables.ts';
import { embeddedTarget, type SqlTarget } from '../src/clickhouse/target.ts';

const context = { database: 'erasure' };
const SAMPLE = new URL('../examples/sample-export', import.meta.url).pathname;
let target: SqlTarget;

beforeAll(async () => {
  target = await embeddedTarget();
  await migrate(target, context);
  await loadExport(target, context.database, SAMPLE);
}, 120_000);
afterAll(async () => {
  await target?.close();
});

async function rowsByUser(table: string, column: string): Promise<Record<string, number>> {
  const rows = await target.query<{ who: string; rows: number }>(`SELECT ${column} AS who, count() AS rows FROM erasure.${table} GROUP BY who`);
  return Object.fromEntries(rows.map((row) => [row.who, Number(row.rows)]));
}

describe('erasing a user', () => {
  it('deletes their rows from every per-user table, views included, and leaves everyone else\'s', async () => {
    const before = await rowsByUser(RAW_TABLES.logs, 'EndUser');
    const users = Object.keys(before).filter((user) => user !== '').sort();
    expect(users.length).toBeGreaterThan(1);
    const [gone, ...kept] = users as [string, ...string[]];
    const counted = await countUserRows(target, context, gone);
    expect(counted.map((entry) => entry.table).sort()).toEqual(Object.keys(USER_ROW_TABLES).sort());
    expect(counted.find((entry) => entry.table === RAW_TABLES.logs)!.rows).toBe(before[gone]);
    expect(counted.find((entry) => entry.table === DERIVED.dailyUsage)!.rows).toBeGreaterThan(0);
    const othersBefore = Object.fromEntries(await Promise.all(Object.entries(USER_ROW_TABLES).map(async ([table, column]) => [table, await rowsByUser(table, column)] as const)));

    expect(await eraseUserRows(target, context, gone)).toEqual(counted);

    expect((await countUserRows(target, context, gone)).every((entry) => entry.rows === 0)).toBe(true);
    const [viaView] = await target.query<{ rows: number }>('SELECT count() AS rows FROM erasure.claude_code_api_requests WHERE authenticated_user = {u:String}', { u: gone });
    expect(Number(viaView!.rows)).toBe(0);
    for (const [table, column] of Object.entries(USER_ROW_TABLES)) {
      const after = await rowsByUser(table, column);
      for (const user of kept) expect(after[user] ?? 0, `${table} ${user}`).toBe(othersBefore[table]![user] ?? 0);
    }
  });

  it('a user with no rows deletes nothing and says so table by table', async () => {
    const counted = await eraseUserRows(target, context, 'nobody-here');
    expect(counted.length).toBe(Object.keys(USER_ROW_TABLES).length);
    expect(counted.every((entry) => entry.rows === 0)).toBe(true);
  });
});
