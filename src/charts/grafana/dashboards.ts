/**
 * Grafana dashboards built from the query library (queries/*.sql): each panel runs a
 * library query's SQL verbatim, with its parameters bound to the dashboard's time range, to
 * dashboard variables or to the panel's fixed values, so a dashboard and
 * `telemetry-stack report NAME` never disagree. Pure: the library is passed in.
 *
 * The models are typed with Grafana's published schema (grafana-schema.ts): a field Grafana does
 * not know, or a value outside its enum, does not compile.
 */
import type { LibraryQuery } from '../../clickhouse/queries.ts';
import type { DashboardJson, PanelJson, StatPanelJson, TablePanelJson, TimeSeriesPanelJson, VariableJson } from './grafana-schema.ts';

export const DATASOURCE_UID = 'telemetry-clickhouse';
export const DATASOURCE_TYPE = 'grafana-clickhouse-datasource';

/**
 * One panel: a library query shown as a table (the default), as headline numbers (stat: one
 * column of the query's single row) or as a chart over days (timeseries: the query returns day,
 * series, value).
 */
export interface PanelDefinition {
  readonly query: string;
  readonly viz?: 'table' | 'stat' | 'timeseries';
  readonly title?: string;
  /** Parameter values fixed for this panel (e.g. by=model); the report takes the same with --param. */
  readonly params?: Readonly<Record<string, string>>;
  /** stat: the column shown. */
  readonly field?: string;
  /** Grafana unit id: currencyUSD, percentunit, short, none. */
  readonly unit?: string;
  readonly width?: number;
  readonly height?: number;
}

export interface DashboardDefinition {
  readonly uid: string;
  readonly title: string;
  readonly description: string;
  readonly panels: readonly PanelDefinition[];
  /** Default time range (Grafana's relative syntax). Default: the last 30 days. */
  readonly time?: { readonly from: string; readonly to: string };
}

const tables = (...queries: string[]): PanelDefinition[] => queries.map((query) => ({ query }));

/** The columns of the `headline` query a team lead reads first, with their units (Grafana unit ids); `report --html` shows the same. */
export const HEADLINE_FIGURES: readonly { readonly field: string; readonly title: string; readonly unit: 'currencyUSD' | 'none' | 'short' | 'percentunit' }[] = [
  { field: 'cost_usd', title: 'Spend', unit: 'currencyUSD' },
  { field: 'active_users', title: 'Active users', unit: 'none' },
  { field: 'sessions', title: 'Sessions', unit: 'none' },
  { field: 'requests', title: 'API requests', unit: 'short' },
  { field: 'error_rate', title: 'API error rate', unit: 'percentunit' },
  { field: 'cache_hit_ratio', title: 'Cache hit rate', unit: 'percentunit' },
];
const headline = ({ field, title, unit }: (typeof HEADLINE_FIGURES)[number]): PanelDefinition => ({ query: 'headline', viz: 'stat', field, title, unit, width: 4, height: 4 });

/** The dashboards and the library queries behind them. */
export const DASHBOARDS: readonly DashboardDefinition[] = [
  {
    uid: 'claude-code-overview',
    title: 'Claude Code: overview',
    description: 'This month at a glance: spend, people, sessions, errors and cache; spend and tokens per day by user and by model; who spends and on which model. Filter by user and model.',
    time: { from: 'now/M', to: 'now' },
    panels: [
      ...HEADLINE_FIGURES.map(headline),
      { query: 'spend-over-time', viz: 'timeseries', title: 'Spend per day by user', params: { by: 'user' }, unit: 'currencyUSD', width: 12 },
      { query: 'spend-over-time', viz: 'timeseries', title: 'Spend per day by model', params: { by: 'model' }, unit: 'currencyUSD', width: 12 },
      { query: 'tokens-over-time', viz: 'timeseries', title: 'Tokens per day by model', params: { by: 'model' }, unit: 'short', width: 12 },
      { query: 'tokens-over-time', viz: 'timeseries', title: 'Tokens per day by user', params: { by: 'user' }, unit: 'short', width: 12 },
      { query: 'cost-by-user', title: 'Spend by user', width: 12 },
      { query: 'tokens-by-model', title: 'Tokens by model', width: 12 },
    ],
  },
  {
    uid: 'claude-code-spend',
    title: 'Claude Code: spend',
    description: 'Cost per user, per day and month, by model and query source, per prompt.',
    panels: tables('cost-by-user', 'cost-by-user-day', 'cost-by-user-month', 'cost-by-model-source', 'prompt-cost'),
  },
  {
    uid: 'claude-code-tokens',
    title: 'Claude Code: tokens and cache',
    description: 'Tokens by model and type; prompt-cache efficiency.',
    panels: tables('tokens-by-model', 'cache-efficiency'),
  },
  {
    uid: 'claude-code-adoption',
    title: 'Claude Code: adoption',
    description: 'Daily active users and sessions, active time, lines of code, commits and PRs, edit acceptance, MCP servers, skills and subagents.',
    panels: tables('active-users', 'active-time', 'productivity', 'edit-acceptance', 'extension-attribution', 'extension-cost'),
  },
  {
    uid: 'claude-code-tools-errors',
    title: 'Claude Code: tools and errors',
    description: 'Tool usage, failures and latency, blocked decisions, API errors and retries.',
    panels: tables('tool-usage', 'tool-failures', 'blocked-tool-decisions', 'api-errors', 'api-retries', 'high-retry-sessions'),
  },
];

/** Date parameters with these names follow the dashboard's time picker. */
const TIME_RANGE: Readonly<Record<string, string>> = {
  from: 'toDate($__fromTime)',
  to: 'toDate($__toTime)',
};

/**
 * Parameters that become a drop-down of the values in the data, with "All" meaning the query's
 * "*". The list comes from the same rollup the queries read, so it holds what can be chosen.
 */
const PICKED: Readonly<Record<string, { readonly label: string; readonly sql: string }>> = {
  user: { label: 'User', sql: 'SELECT DISTINCT user FROM claude_code_usage ORDER BY user' },
  model: { label: 'Model', sql: 'SELECT DISTINCT model FROM claude_code_usage ORDER BY model' },
};
/** What a picked parameter's "All" stands for in the library's queries. */
export const ALL = '*';

const NUMERIC = /^(U?Int\d+|Float\d+|Decimal.*)$/;

/** A value as a ClickHouse literal of `type`. */
function literal(value: string, type: string): string {
  return NUMERIC.test(type) ? value : `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** The SQL with every `{name:Type}` replaced by a time-range macro, a fixed value or a dashboard variable. */
export function panelSql(query: LibraryQuery, fixed: Readonly<Record<string, string>> = {}): string {
  return query.sql.replace(/\{(\w+):([^}]+)\}/g, (_match, name: string, type: string) => {
    if (fixed[name] !== undefined) return literal(fixed[name], type);
    if (type === 'Date' && TIME_RANGE[name]) return TIME_RANGE[name];
    // Numbers go in bare; anything else through Grafana's sqlstring format, which quotes and escapes.
    return NUMERIC.test(type) ? `\${${name}}` : `\${${name}:sqlstring}`;
  });
}

export type LibraryIndex = ReadonlyMap<string, LibraryQuery>;

interface ResolvedPanel {
  readonly definition: PanelDefinition;
  readonly query: LibraryQuery;
}

/** Throws naming the dashboard and the query when a definition refers to a query the library lacks, or fixes a parameter it does not have. */
export function resolvePanels(definition: DashboardDefinition, library: LibraryIndex): ResolvedPanel[] {
  return definition.panels.map((panel) => {
    const query = library.get(panel.query);
    if (!query) throw new Error(`dashboard ${definition.uid} uses query "${panel.query}", which is not in queries/ (have: ${[...library.keys()].join(', ')})`);
    for (const name of Object.keys(panel.params ?? {})) {
      if (!query.params.some((param) => param.name === name)) throw new Error(`dashboard ${definition.uid}: query "${panel.query}" has no parameter "${name}"`);
    }
    return { definition: panel, query };
  });
}

/** Parameters that become dashboard variables: everything not bound to the time range or fixed by every panel that has it. */
function variables(panels: readonly ResolvedPanel[], datasource: { type: string; uid: string }): VariableJson[] {
  const seen = new Map<string, { name: string; default: string; doc: string }>();
  for (const { definition, query } of panels) {
    for (const param of query.params) {
      if (param.type === 'Date' && TIME_RANGE[param.name]) continue;
      if (definition.params?.[param.name] !== undefined) continue;
      if (!seen.has(param.name)) seen.set(param.name, { name: param.name, default: param.default ?? '', doc: param.doc });
    }
  }
  return [...seen.values()].map((v): VariableJson => {
    const picked = PICKED[v.name];
    if (picked && v.default === ALL) {
      return {
        type: 'query',
        name: v.name,
        label: picked.label,
        description: v.doc,
        datasource,
        query: picked.sql,
        refresh: 2,
        includeAll: true,
        allValue: ALL,
        multi: false,
        current: { text: 'All', value: '$__all' },
        hide: 0,
      };
    }
    return { type: 'textbox', name: v.name, label: v.name, description: v.doc, query: v.default, current: { text: v.default, value: v.default }, hide: 0 };
  });
}

/** The command that gives a panel's numbers, for its description. */
function reportCommand(panel: PanelDefinition): string {
  const params = Object.entries(panel.params ?? {}).map(([name, value]) => ` --param ${name}=${value}`).join('');
  return `telemetry-stack report ${panel.query}${params}`;
}

const FULL_WIDTH = 24;

/** Places panels left to right in rows of 24 columns, each row as tall as its tallest panel. */
function layout(panels: readonly PanelDefinition[]): { x: number; y: number; w: number; h: number }[] {
  let x = 0;
  let y = 0;
  let rowHeight = 0;
  return panels.map((panel) => {
    const w = panel.width ?? FULL_WIDTH;
    const h = panel.height ?? 9;
    if (x + w > FULL_WIDTH) {
      x = 0;
      y += rowHeight;
      rowHeight = 0;
    }
    const place = { x, y, w, h };
    x += w;
    rowHeight = Math.max(rowHeight, h);
    return place;
  });
}

function panelJson({ definition, query }: ResolvedPanel, id: number, gridPos: { x: number; y: number; w: number; h: number }, datasource: { type: string; uid: string }): PanelJson {
  const common = {
    id,
    title: definition.title ?? query.name,
    description: `${query.description} (queries/${query.name}.sql; same as "${reportCommand(definition)}")`,
    datasource,
    gridPos,
  };
  const rawSql = panelSql(query, definition.params);
  const unit = { ...(definition.unit ? { unit: definition.unit } : {}) };
  switch (definition.viz ?? 'table') {
    case 'stat':
      return {
        ...common,
        type: 'stat',
        targets: [{ refId: 'A', datasource, editorType: 'sql', format: 1, queryType: 'table', rawSql }],
        fieldConfig: { defaults: { ...unit, decimals: definition.unit === 'currencyUSD' ? 2 : definition.unit === 'percentunit' ? 1 : 0, color: { mode: 'fixed', fixedColor: 'blue' } }, overrides: [] },
        options: {
          reduceOptions: { values: false, calcs: ['lastNotNull'], fields: `/^${definition.field}$/` },
          orientation: 'auto',
          textMode: 'value',
          colorMode: 'value',
          graphMode: 'none',
          justifyMode: 'auto',
          wideLayout: true,
          showPercentChange: false,
          percentChangeColorMode: 'standard',
        },
      } satisfies StatPanelJson;
    case 'timeseries':
      return {
        ...common,
        type: 'timeseries',
        // Format 0 is the plugin's time series: the series column's values become one line each.
        targets: [{ refId: 'A', datasource, editorType: 'sql', format: 0, queryType: 'timeseries', rawSql }],
        fieldConfig: { defaults: { ...unit, custom: { drawStyle: 'bars', stacking: { mode: 'normal', group: 'A' }, fillOpacity: 80 } }, overrides: [] },
        options: { legend: { showLegend: true, displayMode: 'list', placement: 'bottom', calcs: ['sum'] }, tooltip: { mode: 'multi', sort: 'desc' } },
      } satisfies TimeSeriesPanelJson;
    case 'table':
      return {
        ...common,
        type: 'table',
        targets: [{ refId: 'A', datasource, editorType: 'sql', format: 1, queryType: 'table', rawSql }],
        options: { showHeader: true, frameIndex: 0 },
      } satisfies TablePanelJson;
  }
}

/** A Grafana dashboard model (schemaVersion 39+). */
export function dashboardJson(definition: DashboardDefinition, library: LibraryIndex): DashboardJson {
  const panels = resolvePanels(definition, library);
  const datasource = { type: DATASOURCE_TYPE, uid: DATASOURCE_UID };
  const places = layout(definition.panels);
  return {
    uid: definition.uid,
    title: definition.title,
    description: definition.description,
    tags: ['claude-code', 'telemetry-stack'],
    editable: false,
    schemaVersion: 39,
    version: 1,
    time: definition.time ?? { from: 'now-30d', to: 'now' },
    timezone: 'utc',
    templating: { list: variables(panels, datasource) },
    panels: panels.map((panel, index) => panelJson(panel, index + 1, places[index]!, datasource)),
  };
}

export function libraryIndex(queries: readonly LibraryQuery[]): LibraryIndex {
  return new Map(queries.map((query) => [query.name, query]));
}
