/**
 * Can the collector's ClickHouse user do what the exporter does? Run through a target logged
 * in as that user: it logs in, reads each raw table's columns (the exporter's DESC TABLE
 * probe) and inserts zero rows into each (checks the INSERT grant, writes nothing). Ready
 * means this passed: a stack whose collector cannot store anything is not running.
 */
import { RAW_DATA_TABLES } from './access-model.ts';
import { qualified, type DdlContext } from './sql.ts';
import type { SqlTarget } from './target.ts';

const firstLine = (error: unknown) => (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();

/** What the ingest user cannot do, one entry per problem; empty when it can write every raw table. */
export async function checkIngest(target: SqlTarget, context: DdlContext): Promise<string[]> {
  try {
    await target.query('SELECT 1 AS ok');
  } catch (error) {
    return [`cannot log in: ${firstLine(error)}`];
  }
  const problems: string[] = [];
  for (const table of RAW_DATA_TABLES) {
    try {
      await target.query(`DESCRIBE TABLE ${qualified(context, table)}`);
      // ServiceName is in every raw table; SELECT without FROM reads system.one, which needs no grant.
      await target.exec(`INSERT INTO ${qualified(context, table)} (ServiceName) SELECT '' WHERE 0`);
    } catch (error) {
      problems.push(`${table}: ${firstLine(error)}`);
    }
  }
  return problems;
}
