/**
 * Applies the schema migrations that are not yet recorded. Forward-only; a version is
 * recorded after all its statements ran, and every statement is idempotent, so a run
 * interrupted half-way is simply repeated.
 */
import { DERIVED } from './tables.ts';
import { createDatabase, MIGRATIONS, migrationsTable, type Migration } from './schema.ts';
import { qualified, type DdlContext } from './sql.ts';
import type { SqlTarget } from './target.ts';

export interface AppliedMigration {
  readonly version: number;
  readonly name: string;
}

export async function appliedVersions(target: SqlTarget, context: DdlContext): Promise<Set<number>> {
  const rows = await target.query<{ version: number }>(`SELECT DISTINCT version FROM ${qualified(context, DERIVED.migrations)}`);
  return new Set(rows.map((row) => Number(row.version)));
}

export interface MigrateOptions {
  /** Stop after this version (tests upgrade from every earlier version). */
  upTo?: number;
  migrations?: readonly Migration[];
}

export async function migrate(target: SqlTarget, context: DdlContext, options: MigrateOptions = {}): Promise<AppliedMigration[]> {
  const migrations = options.migrations ?? MIGRATIONS;
  await target.exec(createDatabase(context));
  await target.exec(migrationsTable(context));
  const done = await appliedVersions(target, context);
  const applied: AppliedMigration[] = [];
  for (const migration of [...migrations].sort((a, b) => a.version - b.version)) {
    if (options.upTo !== undefined && migration.version > options.upTo) break;
    if (done.has(migration.version)) continue;
    for (const statement of migration.statements(context)) await target.exec(statement);
    await migration.backfill?.(target, context);
    await target.insert(`${context.database}.${DERIVED.migrations}`, [{ version: migration.version, name: migration.name }]);
    applied.push({ version: migration.version, name: migration.name });
  }
  return applied;
}

export const LATEST_SCHEMA_VERSION = Math.max(...MIGRATIONS.map((migration) => migration.version));
