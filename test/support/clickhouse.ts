/** An embedded ClickHouse (chdb) with the telemetry schema, for tests. One per test file: chdb holds one data directory per process. */
import { migrate } from '../../src/clickhouse/migrate.ts';
import { rowsOf, type ExportLine, type RawRows } from '../../src/clickhouse/otlp-json.ts';
import { quoteIdentifier } from '../../src/clickhouse/sql.ts';
import { embeddedTarget, type SqlTarget } from '../../src/clickhouse/target.ts';

export const DATABASE = 'claude_code';

export async function schemaTarget(database = DATABASE): Promise<SqlTarget> {
  const target = await embeddedTarget();
  await migrate(target, { database });
  await target.exec(`USE ${quoteIdentifier(database)}`);
  return target;
}

export async function insertExport(target: SqlTarget, lines: Iterable<ExportLine>, database = DATABASE): Promise<RawRows> {
  const rows: RawRows = { logs: [], sums: [], gauges: [] };
  for (const line of lines) rowsOf(line, rows);
  await target.insert(`${database}.otel_logs`, rows.logs);
  await target.insert(`${database}.otel_metrics_sum`, rows.sums);
  await target.insert(`${database}.otel_metrics_gauge`, rows.gauges);
  return rows;
}
