/**
 * Erasing one person's telemetry (a leaver, a data-subject request): every row that belongs to
 * them, in every table that holds per-user rows (by authenticated user: the raw tables, the typed
 * event tables, the per-prompt and counter rollups; by user: the daily usage rollups). The views
 * read those tables, so they forget too. The same table list drives the row policies (access.ts
 * USER_ROW_TABLES), so a table that gains per-user rows cannot be missed by one and not the other.
 */
import { USER_ROW_TABLES } from './access.ts';
import { onCluster, qualified, quoteIdentifier, quoteString, type DdlContext } from './sql.ts';
import type { SqlTarget } from './target.ts';

export interface UserRows {
  readonly table: string;
  readonly rows: number;
}

/** Rows per table that belong to `user`, tables with none included (so the caller can show what was looked at). */
export async function countUserRows(target: SqlTarget, context: DdlContext, user: string): Promise<UserRows[]> {
  const counts: UserRows[] = [];
  for (const [table, column] of Object.entries(USER_ROW_TABLES)) {
    const [row] = await target.query<{ rows: number }>(`SELECT count() AS rows FROM ${qualified(context, table)} WHERE ${quoteIdentifier(column)} = {user:String}`, { user });
    counts.push({ table, rows: Number(row?.rows ?? 0) });
  }
  return counts;
}

/**
 * Deletes the user's rows and waits until the deletes are done on every replica
 * (mutations_sync = 2), so that a count afterwards shows zero. Returns what was there before.
 */
export async function eraseUserRows(target: SqlTarget, context: DdlContext, user: string): Promise<UserRows[]> {
  const before = await countUserRows(target, context, user);
  for (const { table, rows } of before) {
    if (rows === 0) continue;
    // ALTER takes no bound parameters; user names are validated ([a-z0-9-]) and quoted besides.
    await target.exec(
      `ALTER TABLE ${qualified(context, table)}${onCluster(context)} DELETE WHERE ${quoteIdentifier(USER_ROW_TABLES[table]!)} = ${quoteString(user)} SETTINGS mutations_sync = 2`,
    );
  }
  return before;
}
