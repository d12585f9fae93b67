/**
 * Grafana dashboards built from the query library (queries/*.sql): each panel runs a
 * library query's SQL verbatim, with its parameters bound to the dashboard's time range or
 * to dashboard variables, so a dashboard and `telemetry-stack report NAME` never disagree.
 * Pure: the library is passed in.
 */
import type { LibraryQuery } from '../../clickhouse/queries.ts';

export const DATASOURCE_UID = 'telemetry-clickhouse';
export const DATASOURCE_TYPE = 'grafana-clickhouse-datasource';

export interface DashboardDefinition {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  /** Library query names, one panel each, in order. */
  readonly queries: readonly string[];
}

/** The four dashboards and the library queries behind them. */
export const DASHBOARDS: readonly DashboardDefinition[] = [
  {
    uid: 'claude-code-spend',
    title: 'Claude Code: spend',
    description: 'Cost per user, per day and month, by model and query source, per prompt.',
    queries: ['cost-by-user', 'cost-by-user-day', 'cost-by-user-month', 'cost-by-model-source', 'prompt-cost'],
  },
  {
    uid: 'claude-code-tokens',
    title: 'Claude Code: tokens and cache',
    description: 'Tokens by model and type; prompt-cache efficiency.',
    queries: ['tokens-by-model', 'cache-efficiency'],
  },
  {
    uid: 'claude-code-adoption',
    title: 'Claude Code: adoption',
    description: 'Daily active users and sessions, active time, lines of code, commits and PRs, edit acceptance, MCP servers, skills and subagents.',
    queries: ['active-users', 'active-time', 'productivity', 'edit-acceptance', 'extension-attribution', 'extension-cost'],
  },
  {
    uid: 'claude-code-tools-errors',
    title: 'Claude Code: tools and errors',
    description: 'Tool usage, failures and latency, blocked decisions, API errors and retries.',
    queries: ['tool-usage', 'tool-failures', 'blocked-tool-decisions', 'api-errors', 'api-retries', 'high-retry-sessions'],
  },
];

/** Date parameters with these names follow the dashboard's time picker. */
const TIME_RANGE: Readonly<Record<string, string>> = {
  from: 'toDate($__fromTime)',
  to: 'toDate($__toTime)',
};

const NUMERIC = /^(U?Int\d+|Float\d+|Decimal.*)$/;

/** The SQL with every `{name:Type}` replaced by a time-range macro or a dashboard variable. */
export function panelSql(query: LibraryQuery): string {
  return query.sql.replace(/\{(\w+):([^}]+)\}/g, (_match, name: string, type: string) => {
    if (type === 'Date' && TIME_RANGE[name]) return TIME_RANGE[name];
    // Numbers go in bare; anything else through Grafana's sqlstring format, which quotes and escapes.
    return NUMERIC.test(type) ? `\${${name}}` : `\${${name}:sqlstring}`;
  });
}

/** Parameters that become dashboard variables (everything not bound to the time range). */
function variables(queries: readonly LibraryQuery[]) {
  const seen = new Map<string, { name: string; default: string; doc: string }>();
  for (const query of queries) {
    for (const param of query.params) {
      if (param.type === 'Date' && TIME_RANGE[param.name]) continue;
      if (!seen.has(param.name)) seen.set(param.name, { name: param.name, default: param.default ?? '', doc: param.doc });
    }
  }
  return [...seen.values()].map((v) => ({
    type: 'textbox',
    name: v.name,
    label: v.name,
    description: v.doc,
    query: v.default,
    current: { text: v.default, value: v.default },
    hide: 0,
  }));
}

export type LibraryIndex = ReadonlyMap<string, LibraryQuery>;

/** Throws naming the dashboard and the query when a definition refers to a query the library lacks. */
export function resolveQueries(definition: DashboardDefinition, library: LibraryIndex): LibraryQuery[] {
  return definition.queries.map((name) => {
    const query = library.get(name);
    if (!query) throw new Error(`dashboard ${definition.uid} uses query "${name}", which is not in queries/ (have: ${[...library.keys()].join(', ')})`);
    return query;
  });
}

/** A Grafana dashboard model (schemaVersion 39+): one full-width table panel per query. */
export function dashboardJson(definition: DashboardDefinition, library: LibraryIndex): Record<string, unknown> {
  const queries = resolveQueries(definition, library);
  const datasource = { type: DATASOURCE_TYPE, uid: DATASOURCE_UID };
  return {
    uid: definition.uid,
    title: definition.title,
    description: definition.description,
    tags: ['claude-code', 'telemetry-stack'],
    editable: false,
    schemaVersion: 39,
    version: 1,
    time: { from: 'now-30d', to: 'now' },
    timezone: 'utc',
    templating: { list: variables(queries) },
    panels: queries.map((query, index) => ({
      id: index + 1,
      type: 'table',
      title: query.name,
      description: `${query.description} (queries/${query.name}.sql; same as "telemetry-stack report ${query.name}")`,
      datasource,
      gridPos: { h: 9, w: 24, x: 0, y: index * 9 },
      targets: [{ refId: 'A', datasource, editorType: 'sql', format: 1, queryType: 'table', rawSql: panelSql(query) }],
      options: { showHeader: true },
    })),
  };
}

export function libraryIndex(queries: readonly LibraryQuery[]): LibraryIndex {
  return new Map(queries.map((query) => [query.name, query]));
}
