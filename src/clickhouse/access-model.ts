/**
 * Who may do what in ClickHouse: one table per principal (the four spec roles and the
 * collector's ingest user). The access plan (access.ts) turns it into grants, row policies
 * and settings profiles, the in-cluster server config takes the ingest grants from it, and
 * docs/ACCESS.md is generated from it, so what the docs promise is what ClickHouse enforces.
 */
import type { Role } from '../api/spec.ts';
import { ROLES } from '../api/spec.ts';
import { TYPED_TABLES, TYPED_VIEWS } from './schema.ts';
import { DERIVED, GRAFANA_USER, GRAFANA_USER_ROLE, INGEST_USER, RAW_TABLES } from './tables.ts';

/** A spec role, or the collector's insert-only user. */
export type Principal = Role | 'ingest';
export const PRINCIPALS: readonly Principal[] = [...ROLES, 'ingest'];

export interface Grant {
  readonly access: string;
  readonly table: string;
}

/** A setting in a principal's settings profile; `max` is the highest value a client may ask for (a constraint). */
export interface SettingLimit {
  readonly name: string;
  readonly value: number;
  readonly max?: number;
}

export interface PrincipalAccess {
  /** Who holds it, for the docs. */
  readonly who: string;
  readonly grants: readonly Grant[];
  /**
   * Rows of the per-user tables (USER_ROW_TABLES) it sees: its own (column = currentUser()),
   * all, or none (it holds no SELECT on them, so no policy names it).
   */
  readonly userRows: 'own' | 'all' | 'none';
  /** Its settings profile; empty: none. */
  readonly settings: readonly SettingLimit[];
}

export const RAW_DATA_TABLES: readonly string[] = Object.values(RAW_TABLES);
/** Views that read raw rows with the reader's rights (SQL SECURITY INVOKER), so row policies apply through them. */
export const INVOKER_VIEWS: readonly string[] = [DERIVED.events, ...TYPED_VIEWS.map((view) => view.view), DERIVED.metricIncrements, DERIVED.usage, DERIVED.dailyIncrements];

/** Tables whose rows belong to a user, and the column naming that user. */
export const USER_ROW_TABLES: Readonly<Record<string, string>> = {
  ...Object.fromEntries(RAW_DATA_TABLES.map((table) => [table, 'EndUser'])),
  // The typed views' tables (v9) copy raw rows: the same authenticated user, so the same policy.
  ...Object.fromEntries([...TYPED_TABLES, DERIVED.dailyPrompts, DERIVED.dailyCounters].map((table) => [table, 'authenticated_user'])),
  [DERIVED.dailyUsage]: 'user',
  [DERIVED.dailyMetricUsage]: 'user',
};

const GiB = 1024 ** 3;

/**
 * Query limits. readonly = 2, not 1: with 1 a client may not change any setting, and
 * @clickhouse/client (output formats, wait_end_of_query) and Grafana's data source
 * (max_execution_time from its query timeout) send settings with every request.
 */
const READ_ONLY_LIMITS: readonly SettingLimit[] = [
  { name: 'readonly', value: 2 },
  { name: 'max_execution_time', value: 60, max: 300 },
  { name: 'max_memory_usage', value: 1 * GiB, max: 1 * GiB },
];
const ADMIN_LIMITS: readonly SettingLimit[] = [
  { name: 'max_execution_time', value: 300, max: 3600 },
  { name: 'max_memory_usage', value: 1 * GiB, max: 1 * GiB },
];

const select = (tables: readonly string[]): Grant[] => tables.map((table) => ({ access: 'SELECT', table }));
/** Tables filled from the raw rows at insert that hold per-user rows (erasure and housekeeping by admins). */
const DERIVED_USER_TABLES: readonly string[] = [...TYPED_TABLES, DERIVED.dailyPrompts, DERIVED.dailyCounters, DERIVED.dailyUsage, DERIVED.dailyMetricUsage];
const allData = [...RAW_DATA_TABLES, ...INVOKER_VIEWS, ...DERIVED_USER_TABLES, DERIVED.teamDailyUsage];

export const ACCESS_MODEL: Readonly<Record<Principal, PrincipalAccess>> = {
  viewer: {
    who: 'spec users with role viewer',
    // The team view runs with its definer's rights (the operator's user): team totals, no per-user rows.
    grants: select([DERIVED.teamDailyUsage]),
    userRows: 'none',
    settings: READ_ONLY_LIMITS,
  },
  contributor: {
    who: 'spec users with role contributor',
    grants: select(allData),
    userRows: 'own',
    settings: READ_ONLY_LIMITS,
  },
  coordinator: {
    who: `spec users with role coordinator, and Grafana's data source user ${GRAFANA_USER}`,
    grants: select(allData),
    userRows: 'all',
    settings: READ_ONLY_LIMITS,
  },
  admin: {
    who: 'spec users with role admin',
    grants: [
      ...select(allData),
      // Erasure requests and housekeeping on the data; access management stays with the operator.
      ...[...RAW_DATA_TABLES, ...DERIVED_USER_TABLES].flatMap((table) => [
        { access: 'ALTER DELETE', table },
        { access: 'OPTIMIZE', table },
      ]),
    ],
    userRows: 'all',
    settings: ADMIN_LIMITS,
  },
  ingest: {
    who: `the collector (ClickHouse user ${INGEST_USER})`,
    // INSERT for the rows; SHOW COLUMNS for the exporter's DESC TABLE probe, without which it
    // falls back to an INSERT that omits optional columns such as EventName. Nothing else: the
    // daily rollup is filled by a materialized view that runs with its definer's rights.
    grants: RAW_DATA_TABLES.flatMap((table) => [
      { access: 'INSERT', table },
      { access: 'SHOW COLUMNS', table },
    ]),
    userRows: 'none',
    // No limits: a cut-off insert would lose telemetry the exporter already counts as sent.
    settings: [],
  },
};

if (GRAFANA_USER_ROLE !== 'coordinator') throw new Error('ACCESS_MODEL names Grafana\'s user under coordinator: update it with GRAFANA_USER_ROLE');

// ---------------------------------------------------------------- the docs page

const ROWS_TEXT: Record<PrincipalAccess['userRows'], string> = {
  own: 'only their own rows (`{column} = currentUser()`)',
  all: 'every user\'s rows',
  none: '(no per-user rows)',
};

function formatSetting(setting: SettingLimit): string {
  const value = (n: number) => (n >= GiB && n % GiB === 0 ? `${n / GiB} GiB` : String(n));
  const unit = setting.name === 'max_execution_time' ? ' s' : '';
  return `\`${setting.name}\` ${value(setting.value)}${unit}${setting.max !== undefined ? ` (a client may ask for up to ${value(setting.max)}${unit})` : ''}`;
}

/** docs/ACCESS.md: generated from ACCESS_MODEL by scripts/generate.ts. */
export function accessDocument(notice: string): string {
  const lines = [
    `<!-- ${notice} -->`,
    '# Who can read what',
    '',
    'Every ClickHouse user the operator creates holds one role, `ts_<database>_<role>`. This page is',
    'generated from the table the operator applies (`ACCESS_MODEL` in src/clickhouse/access-model.ts):',
    'the grants, row policies and settings profiles below are what ClickHouse enforces.',
    '',
    '| role | who | reads | rows of per-user tables | writes | limits |',
    '|---|---|---|---|---|---|',
  ];
  for (const principal of PRINCIPALS) {
    const access = ACCESS_MODEL[principal];
    const reads = access.grants.filter((grant) => grant.access === 'SELECT').map((grant) => `\`${grant.table}\``);
    const writes = [...new Set(access.grants.filter((grant) => grant.access !== 'SELECT' && grant.access !== 'SHOW COLUMNS').map((grant) => grant.access))].map((grant) => {
      const tables = access.grants.filter((candidate) => candidate.access === grant).map((candidate) => `\`${candidate.table}\``);
      return `${grant} on ${tables.join(', ')}`;
    });
    const rows = access.userRows === 'own' ? ROWS_TEXT.own.replace('{column}', 'EndUser` / `authenticated_user` / `user') : ROWS_TEXT[access.userRows];
    const limits = access.settings.length > 0 ? access.settings.map(formatSetting).join('; ') : 'none';
    lines.push(`| ${principal} | ${access.who} | ${reads.length > 0 ? reads.join(', ') : 'nothing'} | ${rows} | ${writes.length > 0 ? writes.join('; ') : 'nothing'} | ${limits} |`);
  }
  lines.push(
    '',
    `Per-user tables: ${Object.entries(USER_ROW_TABLES).map(([table, column]) => `\`${table}\` (column \`${column}\`)`).join(', ')}.`,
    'Identity is the authenticated user the collector stamps on every record, never what a client claims.',
    '',
    `\`${DERIVED.teamDailyUsage}\` is the team's daily totals per model and query source, with the number of`,
    'active users and no user column. It runs with the rights of the operator\'s ClickHouse user (SQL SECURITY',
    'DEFINER), so a viewer reads team totals without reading any per-user row. A model used by one person on',
    'a day shows that person\'s figures there: give the viewer role to people who may see that.',
    '',
    'The typed event views run with the reader\'s rights, so row policies apply through them: each reads a table',
    'of its own (`<view>_data`), which materialized views fill from the raw rows as they arrive, keeping the',
    'authenticated user in `authenticated_user`. `readonly = 2`',
    'forbids writes but lets clients change settings other than the limits, which @clickhouse/client and',
    'Grafana\'s data source need. The ingest role also holds SHOW COLUMNS on the raw tables (the exporter reads',
    'their columns before it inserts); the rollups and the typed tables are filled by materialized views that run',
    'with their definer\'s rights, so inserting needs nothing more. It has no limits: an insert cut off half-way would lose telemetry.',
    'The operator\'s own ClickHouse user (the admin Secret) sees every row and manages all of the above.',
    '',
  );
  return lines.join('\n');
}
