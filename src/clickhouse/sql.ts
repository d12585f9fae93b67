/** Quoting for identifiers and literals in generated SQL. Values from users go through `{name:Type}` binding instead. */

export function quoteIdentifier(identifier: string): string {
  return `\`${identifier.replace(/\\/g, '\\\\').replace(/`/g, '\\`')}\``;
}

export function quoteString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Where DDL runs: one database, optionally on every node of a named cluster. */
export interface DdlContext {
  readonly database: string;
  /** External cluster name: DDL runs ON CLUSTER and tables use Replicated engines. */
  readonly cluster?: string;
}

export function onCluster(context: DdlContext): string {
  return context.cluster ? ` ON CLUSTER ${quoteIdentifier(context.cluster)}` : '';
}

/** `db.table`, both quoted. */
export function qualified(context: DdlContext, table: string): string {
  return `${quoteIdentifier(context.database)}.${quoteIdentifier(table)}`;
}

/**
 * A MergeTree-family engine, replicated on a cluster. The replica path names the
 * database and table explicitly, so two stacks sharing a cluster never collide.
 */
export function engine(context: DdlContext, family: 'MergeTree' | 'AggregatingMergeTree' | 'ReplacingMergeTree', table: string): string {
  if (!context.cluster) return `${family}`;
  return `Replicated${family}('/clickhouse/tables/{shard}/${context.database}/${table}', '{replica}')`;
}
