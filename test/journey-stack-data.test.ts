/** doctor's data queries (events since, disk use) on the embedded ClickHouse engine with the real schema. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SqlTarget } from '../src/clickhouse/target.ts';
import { diskBytes, eventsSince } from '../src/cli/cluster/stack-data.ts';
import { handMadeExport } from './fixtures/hand-made.ts';
import { DATABASE, insertExport, schemaTarget } from './support/clickhouse.ts';

let target: SqlTarget;
const lines = handMadeExport();
/** Every log record's time, read from the export itself (not from ClickHouse). */
const times = lines.flatMap((line) =>
  (line.resourceLogs ?? []).flatMap((r) => (r.scopeLogs ?? []).flatMap((s) => (s.logRecords ?? []).map((l) => Number(BigInt(l.timeUnixNano ?? 0) / 1_000_000n)))),
);

beforeAll(async () => {
  target = await schemaTarget();
}, 120_000);
afterAll(async () => {
  await target?.close();
});

describe('doctor data queries', () => {
  it('an empty stack has no events', async () => {
    expect(await eventsSince(target, DATABASE, new Date(0))).toEqual({ count: 0, newest: undefined });
  });

  it('counts the events since a moment and names the newest', async () => {
    await insertExport(target, lines);
    expect(times.length).toBeGreaterThan(5);
    const sorted = [...times].sort((a, b) => a - b);
    const middle = sorted[Math.floor(sorted.length / 2)]!;
    const since = await eventsSince(target, DATABASE, new Date(middle));
    expect(since.count).toBe(times.filter((t) => t >= middle).length);
    expect(since.newest?.getTime()).toBe(sorted[sorted.length - 1]);
    expect((await eventsSince(target, DATABASE, new Date(sorted[sorted.length - 1]! + 1))).count).toBe(0);
  });

  it('measures the telemetry database on disk', async () => {
    expect(await diskBytes(target, DATABASE)).toBeGreaterThan(0);
    expect(await diskBytes(target, 'no_such_database')).toBe(0);
  });
});
