/**
 * The schema, as versioned forward-only migrations. Every statement is idempotent
 * (IF NOT EXISTS, OR REPLACE for plain views, a deduplication token for the backfill),
 * so re-running a migration after a partial failure is safe; a version is recorded
 * only after all its statements succeeded. Nothing here ever drops a table or column.
 *
 * The raw tables carry exactly the columns the collector's ClickHouse exporter
 * (contrib, create_schema: false) inserts, plus `EndUser`: a MATERIALIZED column
 * derived from the `enduser.id` attribute the collector stamps from the authenticated
 * user, so the exporter's INSERT needs no change.
 */
import { IDENTITY_ATTRIBUTE } from '../api/constants.ts';
import { RAW_TABLES, DERIVED } from './tables.ts';
import { engine, onCluster, qualified, quoteIdentifier, quoteString, type DdlContext } from './sql.ts';
import type { SqlTarget } from './target.ts';

export interface Migration {
  /** Strictly increasing; recorded in the migrations table once applied. */
  readonly version: number;
  readonly name: string;
  readonly statements: (context: DdlContext) => string[];
  /**
   * Copies rows stored before the migration into what it created, in bounded batches that need
   * to look at the data first (its partitions); runs after the statements, idempotent like them.
   */
  readonly backfill?: (target: SqlTarget, context: DdlContext) => Promise<void>;
}

const Z = 'CODEC(ZSTD(1))';
const ATTRIBUTES = `Map(LowCardinality(String), String) ${Z}`;

function attributeIndexes(column: string, prefix: string): string[] {
  return [
    `INDEX idx_${prefix}_key mapKeys(${column}) TYPE bloom_filter(0.01) GRANULARITY 1`,
    `INDEX idx_${prefix}_value mapValues(${column}) TYPE bloom_filter(0.01) GRANULARITY 1`,
  ];
}

function createTable(context: DdlContext, table: string, columns: string[], tail: string, family: 'MergeTree' | 'AggregatingMergeTree' | 'ReplacingMergeTree' = 'MergeTree'): string {
  return `CREATE TABLE IF NOT EXISTS ${qualified(context, table)}${onCluster(context)} (\n  ${columns.join(',\n  ')}\n) ENGINE = ${engine(context, family, table)}\n${tail}`;
}

// ---------------------------------------------------------------- v1: raw tables

function logsTable(context: DdlContext): string {
  return createTable(
    context,
    RAW_TABLES.logs,
    [
      'Timestamp DateTime64(9) CODEC(Delta(8), ZSTD(1))',
      'TimestampTime DateTime DEFAULT toDateTime(Timestamp)',
      `TraceId String ${Z}`,
      `SpanId String ${Z}`,
      'TraceFlags UInt8',
      `SeverityText LowCardinality(String) ${Z}`,
      'SeverityNumber UInt8',
      `ServiceName LowCardinality(String) ${Z}`,
      `Body String ${Z}`,
      `ResourceSchemaUrl LowCardinality(String) ${Z}`,
      `ResourceAttributes ${ATTRIBUTES}`,
      `ScopeSchemaUrl LowCardinality(String) ${Z}`,
      `ScopeName String ${Z}`,
      `ScopeVersion LowCardinality(String) ${Z}`,
      `ScopeAttributes ${ATTRIBUTES}`,
      `LogAttributes ${ATTRIBUTES}`,
      // Optional in the exporter: written when its DESC TABLE probe finds the column.
      `EventName String ${Z}`,
      'INDEX idx_trace_id TraceId TYPE bloom_filter(0.001) GRANULARITY 1',
      ...attributeIndexes('ResourceAttributes', 'res_attr'),
      ...attributeIndexes('LogAttributes', 'log_attr'),
    ],
    'PARTITION BY toDate(TimestampTime)\nPRIMARY KEY (ServiceName, TimestampTime)\nORDER BY (ServiceName, TimestampTime, Timestamp)\nSETTINGS index_granularity = 8192, ttl_only_drop_parts = 1',
  );
}

const METRIC_COMMON = [
  `ResourceAttributes ${ATTRIBUTES}`,
  `ResourceSchemaUrl String ${Z}`,
  `ScopeName String ${Z}`,
  `ScopeVersion String ${Z}`,
  `ScopeAttributes ${ATTRIBUTES}`,
  `ScopeDroppedAttrCount UInt32 ${Z}`,
  `ScopeSchemaUrl String ${Z}`,
  `ServiceName LowCardinality(String) ${Z}`,
  `MetricName LowCardinality(String) ${Z}`,
  `MetricDescription String ${Z}`,
  `MetricUnit String ${Z}`,
  `Attributes ${ATTRIBUTES}`,
  'StartTimeUnix DateTime64(9) CODEC(Delta, ZSTD(1))',
  'TimeUnix DateTime64(9) CODEC(Delta, ZSTD(1))',
];

const EXEMPLARS = `Exemplars Nested (FilteredAttributes Map(LowCardinality(String), String), TimeUnix DateTime64(9), Value Float64, SpanId String, TraceId String) ${Z}`;

const METRIC_TAIL =
  'PARTITION BY toDate(TimeUnix)\nORDER BY (ServiceName, MetricName, cityHash64(Attributes), toUnixTimestamp64Nano(TimeUnix))\nSETTINGS index_granularity = 8192, ttl_only_drop_parts = 1';

function metricTable(context: DdlContext, table: string, specific: string[]): string {
  return createTable(
    context,
    table,
    [...METRIC_COMMON, ...specific, ...attributeIndexes('ResourceAttributes', 'res_attr'), ...attributeIndexes('Attributes', 'attr')],
    METRIC_TAIL,
  );
}

function rawTables(context: DdlContext): string[] {
  return [
    logsTable(context),
    metricTable(context, RAW_TABLES.metricsSum, [
      `Value Float64 ${Z}`,
      `Flags UInt32 ${Z}`,
      EXEMPLARS,
      `AggregationTemporality Int32 ${Z}`,
      'IsMonotonic Boolean CODEC(Delta, ZSTD(1))',
    ]),
    metricTable(context, RAW_TABLES.metricsGauge, [`Value Float64 ${Z}`, `Flags UInt32 ${Z}`, EXEMPLARS]),
    metricTable(context, RAW_TABLES.metricsHistogram, [
      'Count UInt64 CODEC(Delta, ZSTD(1))',
      `Sum Float64 ${Z}`,
      `BucketCounts Array(UInt64) ${Z}`,
      `ExplicitBounds Array(Float64) ${Z}`,
      EXEMPLARS,
      `Flags UInt32 ${Z}`,
      `Min Float64 ${Z}`,
      `Max Float64 ${Z}`,
      `AggregationTemporality Int32 ${Z}`,
    ]),
    metricTable(context, RAW_TABLES.metricsExponentialHistogram, [
      'Count UInt64 CODEC(Delta, ZSTD(1))',
      `Sum Float64 ${Z}`,
      `Scale Int32 ${Z}`,
      `ZeroCount UInt64 ${Z}`,
      `PositiveOffset Int32 ${Z}`,
      `PositiveBucketCounts Array(UInt64) ${Z}`,
      `NegativeOffset Int32 ${Z}`,
      `NegativeBucketCounts Array(UInt64) ${Z}`,
      EXEMPLARS,
      `Flags UInt32 ${Z}`,
      `Min Float64 ${Z}`,
      `Max Float64 ${Z}`,
      `AggregationTemporality Int32 ${Z}`,
    ]),
    metricTable(context, RAW_TABLES.metricsSummary, [
      'Count UInt64 CODEC(Delta, ZSTD(1))',
      `Sum Float64 ${Z}`,
      `ValueAtQuantiles Nested (Quantile Float64, Value Float64) ${Z}`,
      `Flags UInt32 ${Z}`,
    ]),
  ];
}

// ---------------------------------------------------------------- v2: the authenticated user

const METRIC_TABLES = [
  RAW_TABLES.metricsSum,
  RAW_TABLES.metricsGauge,
  RAW_TABLES.metricsHistogram,
  RAW_TABLES.metricsExponentialHistogram,
  RAW_TABLES.metricsSummary,
] as const;

function endUserColumns(context: DdlContext): string[] {
  const add = (table: string, map: string) =>
    `ALTER TABLE ${qualified(context, table)}${onCluster(context)} ADD COLUMN IF NOT EXISTS EndUser LowCardinality(String) MATERIALIZED ${map}[${quoteString(IDENTITY_ATTRIBUTE)}]`;
  return [add(RAW_TABLES.logs, 'LogAttributes'), ...METRIC_TABLES.map((table) => add(table, 'Attributes'))];
}

// ---------------------------------------------------------------- v3: typed Claude Code views

/**
 * Who a record belongs to: the authenticated user when the collector stamped one, else
 * what the client claims (email, then account, then the anonymous install id).
 */
export function userExpression(map: string, endUser = 'EndUser'): string {
  return `multiIf(${endUser} != '', ${endUser}, ${map}['user.email'] != '', ${map}['user.email'], ${map}['user.account_uuid'] != '', ${map}['user.account_uuid'], ${map}['user.id'])`;
}

/**
 * The event name as migrations 3 to 6 computed it: the `event.name` attribute, else `EventName`
 * as stored, else the body without its `claude_code.` prefix. Kept as it was (a migration is a
 * record of what ran); migration 7 replaces it by EVENT_EXPRESSION.
 */
const EVENT_EXPRESSION_V3 = `if(LogAttributes['event.name'] != '', LogAttributes['event.name'], if(EventName != '', EventName, replaceOne(Body, 'claude_code.', '')))`;
/**
 * The event name: the `event.name` attribute, else the OTLP `eventName` field, else the body;
 * the last two without their `claude_code.` prefix (the exporter stores the field as sent:
 * `claude_code.api_request`).
 */
const EVENT_EXPRESSION = `if(LogAttributes['event.name'] != '', LogAttributes['event.name'], if(EventName != '', replaceOne(EventName, 'claude_code.', ''), replaceOne(Body, 'claude_code.', '')))`;

/** Attributes arrive as strings (and were sent as strings before client v2.1.122): cast once, here. */
const num = (key: string, type: 'UInt64' | 'UInt32' | 'Float64' = 'UInt64') => `to${type}OrZero(LogAttributes['${key}'])`;
const str = (key: string) => `LogAttributes['${key}']`;
/** The newer attribute name, else the older one (client drift). */
const either = (newer: string, older: string) => `if(${str(newer)} != '', ${str(newer)}, ${str(older)})`;

const COMMON_EVENT_COLUMNS = [
  'Timestamp AS timestamp',
  'toDate(TimestampTime) AS day',
  `${userExpression('LogAttributes')} AS user`,
  'EndUser AS authenticated_user',
  `${str('session.id')} AS session_id`,
  `${str('prompt.id')} AS prompt_id`,
  `${num('event.sequence')} AS event_sequence`,
  `if(${str('app.version')} != '', ${str('app.version')}, ResourceAttributes['service.version']) AS client_version`,
];

const API_REQUEST_COLUMNS = [
  `${str('model')} AS model`,
  `if(${str('cost_usd')} != '', ${num('cost_usd', 'Float64')}, ${num('cost_usd_micros', 'Float64')} / 1000000) AS cost_usd`,
  `${num('duration_ms', 'Float64')} AS duration_ms`,
  `${num('input_tokens')} AS input_tokens`,
  `${num('output_tokens')} AS output_tokens`,
  `${num('cache_read_tokens')} AS cache_read_tokens`,
  `${num('cache_creation_tokens')} AS cache_creation_tokens`,
  `${str('request_id')} AS request_id`,
  `${str('speed')} AS speed`,
  `if(${str('query_source')} != '', ${str('query_source')}, 'main') AS query_source`,
  `${str('effort')} AS effort`,
  `${str('attribution')} AS attribution`,
];

const eventFilter = (event: string) => `${EVENT_EXPRESSION_V3} = ${quoteString(event)}`;

interface TypedView {
  readonly view: string;
  readonly event: string;
  readonly columns: readonly string[];
}

/** The typed views as migrations 3 and 5 created them (a migration is a record of what ran); v8 replaces them by TYPED_VIEWS. */
const TYPED_VIEWS_V3: readonly TypedView[] = [
  { view: DERIVED.apiRequests, event: 'api_request', columns: API_REQUEST_COLUMNS },
  {
    view: DERIVED.apiErrors,
    event: 'api_error',
    columns: [
      `${str('model')} AS model`,
      `${str('error')} AS error`,
      `${str('status_code')} AS status_code`,
      `${num('duration_ms', 'Float64')} AS duration_ms`,
      `${num('attempt', 'UInt32')} AS attempt`,
      `${str('request_id')} AS request_id`,
    ],
  },
  {
    view: DERIVED.toolResults,
    event: 'tool_result',
    columns: [
      `${either('tool_name', 'name')} AS tool`,
      `${str('tool_use_id')} AS tool_use_id`,
      `lower(${str('success')}) IN ('true', '1') AS success`,
      `${num('duration_ms', 'Float64')} AS duration_ms`,
      `${str('error_type')} AS error_type`,
      `${either('decision_type', 'decision')} AS decision`,
      `${either('decision_source', 'source')} AS decision_source`,
      `${num('tool_input_size_bytes')} AS tool_input_size_bytes`,
      `${num('tool_result_size_bytes')} AS tool_result_size_bytes`,
      `JSONExtractString(${str('tool_parameters')}, 'mcp_server_name') AS mcp_server_name`,
      `JSONExtractString(${str('tool_parameters')}, 'mcp_tool_name') AS mcp_tool_name`,
      `JSONExtractString(${str('tool_parameters')}, 'skill_name') AS skill_name`,
      `JSONExtractString(${str('tool_parameters')}, 'subagent_type') AS subagent_type`,
    ],
  },
  {
    view: DERIVED.toolDecisions,
    event: 'tool_decision',
    columns: [
      `${either('tool_name', 'name')} AS tool`,
      `${str('tool_use_id')} AS tool_use_id`,
      `${str('decision')} AS decision`,
      `${str('source')} AS decision_source`,
      `${str('tool_source')} AS tool_source`,
    ],
  },
  {
    view: DERIVED.userPrompts,
    event: 'user_prompt',
    columns: [`${num('prompt_length')} AS prompt_length`, `${str('command_name')} AS command_name`],
  },
];

/** Where the event views read the event name and session id: computed per row (v3) or stored columns (v5). */
interface EventSource {
  readonly event: string;
  readonly session: string;
}
const COMPUTED_EVENT: EventSource = { event: EVENT_EXPRESSION_V3, session: str('session.id') };
const STORED_EVENT: EventSource = { event: 'ClaudeEvent', session: 'SessionId' };

const commonColumns = (source: EventSource) => COMMON_EVENT_COLUMNS.map((column) => column.replace(`${str('session.id')} AS session_id`, `${source.session} AS session_id`));

function eventViews(context: DdlContext, source: EventSource, views: readonly TypedView[] = TYPED_VIEWS_V3): string[] {
  const logs = qualified(context, RAW_TABLES.logs);
  const common = commonColumns(source);
  const events = `CREATE OR REPLACE VIEW ${qualified(context, DERIVED.events)}${onCluster(context)} AS
SELECT ${[...common, `${source.event} AS event`, 'LogAttributes AS attributes', 'ResourceAttributes AS resource_attributes'].join(',\n  ')}
FROM ${logs}
WHERE ${source.event} != ''`;
  const typed = views.map(
    (view) => `CREATE OR REPLACE VIEW ${qualified(context, view.view)}${onCluster(context)} AS
SELECT ${[...common, ...view.columns].join(',\n  ')}
FROM ${logs}
WHERE ${source.event} = ${quoteString(view.event)}`,
  );
  return [events, ...typed];
}

function typedViews(context: DdlContext): string[] {
  // Monotonic sums as increments: a delta point is its own increment; a cumulative
  // series (one per attributes + start time; the start changes when a process restarts)
  // contributes the difference to its previous point, its first point counting whole.
  const increments = `CREATE OR REPLACE VIEW ${qualified(context, DERIVED.metricIncrements)}${onCluster(context)} AS
SELECT
  TimeUnix AS timestamp,
  toDate(TimeUnix) AS day,
  ${userExpression('Attributes')} AS user,
  EndUser AS authenticated_user,
  Attributes['session.id'] AS session_id,
  MetricName AS metric,
  Attributes AS attributes,
  AggregationTemporality AS temporality,
  if(AggregationTemporality = 2,
     Value - lagInFrame(Value, 1, 0) OVER (PARTITION BY ServiceName, MetricName, cityHash64(Attributes), cityHash64(ResourceAttributes), StartTimeUnix ORDER BY TimeUnix ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW),
     Value) AS increment
FROM ${qualified(context, RAW_TABLES.metricsSum)}
WHERE IsMonotonic OR AggregationTemporality = 1`;
  return [...eventViews(context, COMPUTED_EVENT), increments];
}

// ---------------------------------------------------------------- v5: stored event name and session

/**
 * Every event view filters on the event name and session traces on the session id;
 * computing them from the attribute map reads the whole map per row. Stored once at
 * insert (old parts compute them on read, so no rewrite is needed), they make those
 * filters read one small column.
 */
function storedEventColumns(context: DdlContext): string[] {
  const logs = `ALTER TABLE ${qualified(context, RAW_TABLES.logs)}${onCluster(context)}`;
  return [
    `${logs} ADD COLUMN IF NOT EXISTS ClaudeEvent LowCardinality(String) MATERIALIZED ${EVENT_EXPRESSION_V3}`,
    `${logs} ADD COLUMN IF NOT EXISTS SessionId String MATERIALIZED ${str('session.id')}`,
    `${logs} ADD INDEX IF NOT EXISTS idx_session_id SessionId TYPE bloom_filter(0.001) GRANULARITY 1`,
    ...eventViews(context, STORED_EVENT),
  ];
}

// ---------------------------------------------------------------- v4: daily rollups

const ROLLUP_SELECT = (logs: string, filter = eventFilter('api_request')) => `SELECT
  toDate(TimestampTime) AS day,
  ${userExpression('LogAttributes')} AS user,
  ${str('model')} AS model,
  if(${str('query_source')} != '', ${str('query_source')}, 'main') AS query_source,
  count() AS requests,
  sum(if(${str('cost_usd')} != '', ${num('cost_usd', 'Float64')}, ${num('cost_usd_micros', 'Float64')} / 1000000)) AS cost_usd,
  sum(${num('input_tokens')}) AS input_tokens,
  sum(${num('output_tokens')}) AS output_tokens,
  sum(${num('cache_read_tokens')}) AS cache_read_tokens,
  sum(${num('cache_creation_tokens')}) AS cache_creation_tokens
FROM ${logs}
WHERE ${filter}`;

const ROLLUP_GROUP = 'GROUP BY day, user, model, query_source';

function rollups(context: DdlContext): string[] {
  const logs = qualified(context, RAW_TABLES.logs);
  const table = createTable(
    context,
    DERIVED.dailyUsage,
    [
      'day Date',
      'user LowCardinality(String)',
      'model LowCardinality(String)',
      'query_source LowCardinality(String)',
      'requests SimpleAggregateFunction(sum, UInt64)',
      'cost_usd SimpleAggregateFunction(sum, Float64)',
      'input_tokens SimpleAggregateFunction(sum, UInt64)',
      'output_tokens SimpleAggregateFunction(sum, UInt64)',
      'cache_read_tokens SimpleAggregateFunction(sum, UInt64)',
      'cache_creation_tokens SimpleAggregateFunction(sum, UInt64)',
    ],
    // The deduplication window makes the one-off backfill below safe to repeat.
    'PARTITION BY toYYYYMM(day)\nORDER BY (day, user, model, query_source)\nSETTINGS non_replicated_deduplication_window = 1000',
    'AggregatingMergeTree',
  );
  const view = `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(context, DERIVED.dailyUsageView)}${onCluster(context)} TO ${qualified(context, DERIVED.dailyUsage)} AS
${ROLLUP_SELECT(logs)}
${ROLLUP_GROUP}`;
  // Rows stored before the materialized view existed (an upgrade): copy them once. The
  // cut-off is the view's creation time, so rows the view already saw are not counted
  // twice, and the token makes a repeated run (after a partial failure) a no-op.
  const backfill = `INSERT INTO ${qualified(context, DERIVED.dailyUsage)}
${ROLLUP_SELECT(logs)}
  AND TimestampTime < (SELECT metadata_modification_time FROM system.tables WHERE database = ${quoteString(context.database)} AND name = ${quoteString(DERIVED.dailyUsageView)})
${ROLLUP_GROUP}
SETTINGS insert_deduplicate = 1, insert_deduplication_token = 'telemetry-stack-migration-4-backfill'`;
  return [table, view, backfill];
}

// ---------------------------------------------------------------- v6: views with the definer's rights

/**
 * A materialized view created without SQL SECURITY runs with the rights of whoever inserts
 * into its source (ClickHouse leaves it empty: ignore_empty_sql_security_in_create_view_query),
 * so the collector's insert-only user would need SELECT on every raw row to fill the rollup.
 * Running it as its definer (the operator's user, which runs migrations) lets that user insert
 * and nothing more. The team view reads the rollup the same way: viewers get team totals
 * without any right on per-user rows (docs/ACCESS.md).
 */
function definerViews(context: DdlContext): string[] {
  const rollup = qualified(context, DERIVED.dailyUsage);
  return [
    `ALTER TABLE ${qualified(context, DERIVED.dailyUsageView)}${onCluster(context)} MODIFY DEFINER = CURRENT_USER SQL SECURITY DEFINER`,
    `CREATE VIEW IF NOT EXISTS ${qualified(context, DERIVED.teamDailyUsage)}${onCluster(context)} DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
  day,
  model,
  query_source,
  uniqExact(user) AS users,
  sum(requests) AS requests,
  sum(cost_usd) AS cost_usd,
  sum(input_tokens) AS input_tokens,
  sum(output_tokens) AS output_tokens,
  sum(cache_read_tokens) AS cache_read_tokens,
  sum(cache_creation_tokens) AS cache_creation_tokens
FROM ${rollup}
GROUP BY day, model, query_source`,
  ];
}

// ---------------------------------------------------------------- v7: the event name from EventName without its prefix

/**
 * Until v7 a record named only by the OTLP `eventName` field (`claude_code.api_request`, no
 * `event.name` attribute) kept the prefix, so no view and not the rollup matched it. The order
 * makes the switch atomic for new rows and counts each old row once:
 * 1. the rollup view filters on the stored column (same result as its inline expression, which
 *    was the stored column's expression);
 * 2. the stored column takes the new expression: from that insert on, the column and the rollup
 *    agree on the new name;
 * 3. rows stored before step 2 that the new expression names `api_request` and the stored value
 *    did not (the rollup missed exactly these) are added to the rollup once (deduplication token);
 * 4. the stored column is recomputed for the old rows (a mutation, one column per part, run in
 *    the background), so the typed views, which read it, find them too.
 */
function eventNamePrefix(context: DdlContext): string[] {
  const logs = qualified(context, RAW_TABLES.logs);
  return [
    `ALTER TABLE ${qualified(context, DERIVED.dailyUsageView)}${onCluster(context)} MODIFY QUERY
${ROLLUP_SELECT(logs, `ClaudeEvent = 'api_request'`)}
${ROLLUP_GROUP}`,
    `ALTER TABLE ${logs}${onCluster(context)} MODIFY COLUMN ClaudeEvent LowCardinality(String) MATERIALIZED ${EVENT_EXPRESSION}`,
    `INSERT INTO ${qualified(context, DERIVED.dailyUsage)}
${ROLLUP_SELECT(logs, `ClaudeEvent != 'api_request' AND ${EVENT_EXPRESSION} = 'api_request'`)}
${ROLLUP_GROUP}
SETTINGS insert_deduplicate = 1, insert_deduplication_token = 'telemetry-stack-migration-7-backfill'`,
    `ALTER TABLE ${logs}${onCluster(context)} MATERIALIZE COLUMN ClaudeEvent`,
  ];
}

// ---------------------------------------------------------------- v8: what Claude Code 2.1.x sends

/**
 * query_source as the client's own metrics name it. 2.1.x sends the raw source on events
 * (`sdk`, `repl_main_thread:outputStyle:...`, `agent:builtin:general-purpose`, `compact`, ...) and
 * main/subagent/auxiliary on the metrics; this is the client's mapping (2.1.328: the main thread and
 * the SDK are main, `agent:*` and `hook_agent` subagent, every side query, compaction and titles
 * included, auxiliary). Old values (main, subagent, none) map to themselves and empty to main.
 */
export function querySourceCategory(raw: string): string {
  return `multiIf(${raw} IN ('', 'main', 'sdk') OR startsWith(${raw}, 'repl_main_thread'), 'main', ${raw} IN ('subagent', 'hook_agent') OR startsWith(${raw}, 'agent:'), 'subagent', 'auxiliary')`;
}

/**
 * A detail of a tool call: the top-level attribute (the collector lifts mcp_server_name,
 * mcp_tool_name, skill_name and subagent_type out of tool_parameters before a level removes
 * them), else the value inside tool_parameters as the client sends it (OTEL_LOG_TOOL_DETAILS=1).
 */
const toolDetail = (key: string) => `if(${str(key)} != '', ${str(key)}, JSONExtractString(${str('tool_parameters')}, '${key}'))`;

/**
 * The tool: `tool_name` (`name` before it was renamed); an MCP tool, which 2.1.x sends as
 * `mcp_tool`, as `mcp__server__tool`, the name allowedTools and older clients use, when its server is known.
 */
const TOOL_EXPRESSION = `if(${either('tool_name', 'name')} = 'mcp_tool' AND ${toolDetail('mcp_server_name')} != '', concat('mcp__', ${toolDetail('mcp_server_name')}, if(${toolDetail('mcp_tool_name')} != '', concat('__', ${toolDetail('mcp_tool_name')}), '')), ${either('tool_name', 'name')})`;

/**
 * The HTTP status of an API error. 2.1.x gives up on repeated 529s after 3 attempts with the error
 * "Repeated 529 Overloaded errors" and no status_code: counted as 529.
 */
const STATUS_EXPRESSION = `multiIf(${str('status_code')} != '', ${str('status_code')}, position(${str('error')}, '529') > 0 OR positionCaseInsensitive(${str('error')}, 'overloaded') > 0, '529', '')`;

const bool = (key: string) => `lower(${str(key)}) IN ('true', '1')`;

export const TYPED_VIEWS: readonly TypedView[] = [
  {
    view: DERIVED.apiRequests,
    event: 'api_request',
    columns: [
      ...API_REQUEST_COLUMNS.map((column) => (column.endsWith(' AS query_source') ? `${querySourceCategory(str('query_source'))} AS query_source` : column)),
      `${str('query_source')} AS query_source_detail`,
      `${num('ttft_ms', 'Float64')} AS ttft_ms`,
      `${num('cache_creation_5m_tokens')} AS cache_creation_5m_tokens`,
      `${num('cache_creation_1h_tokens')} AS cache_creation_1h_tokens`,
      `${str('agent_id')} AS agent_id`,
      `${str('agent.name')} AS agent_name`,
      `${str('skill.name')} AS skill_name`,
      `${str('mcp_server.name')} AS mcp_server_name`,
      `${str('mcp_tool.name')} AS mcp_tool_name`,
    ],
  },
  {
    view: DERIVED.apiErrors,
    event: 'api_error',
    columns: [
      `${str('model')} AS model`,
      `${str('error')} AS error`,
      `${STATUS_EXPRESSION} AS status_code`,
      `${num('duration_ms', 'Float64')} AS duration_ms`,
      `${num('attempt', 'UInt32')} AS attempt`,
      `${str('request_id')} AS request_id`,
      `${querySourceCategory(str('query_source'))} AS query_source`,
      `${str('query_source')} AS query_source_detail`,
    ],
  },
  {
    view: DERIVED.apiRetriesExhausted,
    event: 'api_retries_exhausted',
    columns: [
      `${str('model')} AS model`,
      `${str('error')} AS error`,
      `${STATUS_EXPRESSION} AS status_code`,
      `${num('total_attempts', 'UInt32')} AS total_attempts`,
      `${num('total_retry_duration_ms', 'Float64')} AS total_retry_duration_ms`,
      `${querySourceCategory(str('query_source'))} AS query_source`,
    ],
  },
  {
    view: DERIVED.apiRefusals,
    event: 'api_refusal',
    columns: [
      `${str('model')} AS model`,
      `${str('request_id')} AS request_id`,
      `${num('attempt', 'UInt32')} AS attempt`,
      `${str('category')} AS category`,
      `${bool('has_explanation')} AS has_explanation`,
      `${querySourceCategory(str('query_source'))} AS query_source`,
    ],
  },
  {
    view: DERIVED.toolResults,
    event: 'tool_result',
    columns: [
      `${TOOL_EXPRESSION} AS tool`,
      `${str('tool_use_id')} AS tool_use_id`,
      `${bool('success')} AS success`,
      `${num('duration_ms', 'Float64')} AS duration_ms`,
      `${str('error_type')} AS error_type`,
      `${either('decision_type', 'decision')} AS decision`,
      `${either('decision_source', 'source')} AS decision_source`,
      `${num('tool_input_size_bytes')} AS tool_input_size_bytes`,
      `${num('tool_result_size_bytes')} AS tool_result_size_bytes`,
      `${toolDetail('mcp_server_name')} AS mcp_server_name`,
      `${toolDetail('mcp_tool_name')} AS mcp_tool_name`,
      `${toolDetail('skill_name')} AS skill_name`,
      `${toolDetail('subagent_type')} AS subagent_type`,
      `${either('tool_name', 'name')} AS tool_name_sent`,
      `${str('mcp_server_scope')} AS mcp_server_scope`,
    ],
  },
  {
    view: DERIVED.toolDecisions,
    event: 'tool_decision',
    columns: [
      `${TOOL_EXPRESSION} AS tool`,
      `${str('tool_use_id')} AS tool_use_id`,
      `${str('decision')} AS decision`,
      `${str('source')} AS decision_source`,
      `${str('tool_source')} AS tool_source`,
      `${str('permission_mode')} AS permission_mode`,
    ],
  },
  {
    view: DERIVED.userPrompts,
    event: 'user_prompt',
    columns: [`${num('prompt_length')} AS prompt_length`, `${str('command_name')} AS command_name`],
  },
  {
    view: DERIVED.subagents,
    event: 'subagent_completed',
    columns: [
      `${str('agent_id')} AS agent_id`,
      `${str('agent_type')} AS agent_type`,
      `${str('agent.source')} AS agent_source`,
      `${str('model')} AS model`,
      `${str('final_model')} AS final_model`,
      `${bool('model_swapped')} AS model_swapped`,
      `${bool('is_async')} AS is_async`,
      `${bool('is_built_in')} AS is_built_in`,
      `${num('duration_ms', 'Float64')} AS duration_ms`,
      `${num('total_tokens')} AS total_tokens`,
      `${num('total_tool_uses', 'UInt32')} AS total_tool_uses`,
    ],
  },
  {
    view: DERIVED.mcpConnections,
    event: 'mcp_server_connection',
    columns: [
      `${str('server_name')} AS server_name`,
      `${str('server_scope')} AS server_scope`,
      `${str('transport_type')} AS transport_type`,
      `${str('status')} AS status`,
      `${num('duration_ms', 'Float64')} AS duration_ms`,
      `${bool('is_plugin')} AS is_plugin`,
      `${str('plugin.name')} AS plugin_name`,
      `${str('error_code')} AS error_code`,
    ],
  },
  {
    view: DERIVED.skills,
    event: 'skill_activated',
    columns: [
      `${str('skill.name')} AS skill_name`,
      `${str('skill.source')} AS skill_source`,
      `${str('skill.kind')} AS skill_kind`,
      `${str('invocation_trigger')} AS invocation_trigger`,
      `${str('plugin.name')} AS plugin_name`,
    ],
  },
  {
    view: DERIVED.hooks,
    event: 'hook_execution_complete',
    columns: [
      `${str('hook_event')} AS hook_event`,
      `${str('hook_name')} AS hook_name`,
      `${str('hook_source')} AS hook_source`,
      `${num('num_hooks', 'UInt32')} AS hooks`,
      `${num('num_success', 'UInt32')} AS succeeded`,
      `${num('num_blocking', 'UInt32')} AS blocking`,
      `${num('num_non_blocking_error', 'UInt32')} AS non_blocking_errors`,
      `${num('num_cancelled', 'UInt32')} AS cancelled`,
      `${num('total_duration_ms', 'Float64')} AS duration_ms`,
    ],
  },
  {
    view: DERIVED.compactions,
    event: 'compaction',
    columns: [
      `${str('trigger')} AS trigger`,
      `${bool('success')} AS success`,
      `${num('duration_ms', 'Float64')} AS duration_ms`,
      `${num('pre_tokens')} AS pre_tokens`,
      `${num('post_tokens')} AS post_tokens`,
      `${str('error')} AS error`,
    ],
  },
  {
    view: DERIVED.auth,
    event: 'auth',
    columns: [
      `${str('action')} AS action`,
      `${bool('success')} AS success`,
      `${str('auth_method')} AS auth_method`,
      `${str('error_category')} AS error_category`,
      `${str('status_code')} AS status_code`,
    ],
  },
];

/**
 * v8 session: the session id, else (OTEL_METRICS_INCLUDE_SESSION_ID=false removes it from events
 * too) the prompt as `prompt:<prompt.id>`, so per-session reports still group a prompt's events
 * and never lump every session-less event of the team into one.
 */
const STORED_EVENT_V8: EventSource = {
  event: 'ClaudeEvent',
  session: `if(SessionId != '', SessionId, if(${str('prompt.id')} != '', concat('prompt:', ${str('prompt.id')}), ''))`,
};

const USAGE_COLUMNS = ['requests', 'cost_usd', 'input_tokens', 'output_tokens', 'cache_read_tokens', 'cache_creation_tokens'];

const USAGE_METRICS = `('claude_code.cost.usage', 'claude_code.token.usage')`;

/**
 * The cost and token counters per day, user, model, query source and token type, as the
 * increments view would sum them, but filled at insert so the cost reports stay as fast at level
 * basic as the event rollup is: a delta point adds to `delta`; a cumulative series (attributes,
 * resource and start time) keeps its latest value of the day in `cumulative`, and its increment
 * for a day is that minus the day before (claude_code_usage computes it over this small table).
 */
const METRIC_ROLLUP_SELECT = (sums: string, filter = '') => `SELECT
  toDate(TimeUnix) AS day,
  ${userExpression('Attributes')} AS user,
  Attributes['model'] AS model,
  Attributes['query_source'] AS query_source,
  MetricName AS metric,
  Attributes['type'] AS type,
  if(AggregationTemporality = 2, cityHash64(ServiceName, cityHash64(Attributes), cityHash64(ResourceAttributes)), 0) AS series,
  if(AggregationTemporality = 2, StartTimeUnix, toDateTime64(0, 9)) AS start,
  sumIf(Value, AggregationTemporality != 2) AS delta,
  maxIf(Value, AggregationTemporality = 2) AS cumulative
FROM ${sums}
WHERE MetricName IN ${USAGE_METRICS} AND (IsMonotonic OR AggregationTemporality = 1)${filter}
GROUP BY day, user, model, query_source, metric, type, series, start`;

function metricRollup(context: DdlContext): string[] {
  const sums = qualified(context, RAW_TABLES.metricsSum);
  const table = createTable(
    context,
    DERIVED.dailyMetricUsage,
    [
      'day Date',
      'user LowCardinality(String)',
      'model LowCardinality(String)',
      'query_source LowCardinality(String)',
      'metric LowCardinality(String)',
      'type LowCardinality(String)',
      'series UInt64',
      'start DateTime64(9)',
      'delta SimpleAggregateFunction(sum, Float64)',
      'cumulative SimpleAggregateFunction(max, Float64)',
    ],
    'PARTITION BY toYYYYMM(day)\nORDER BY (day, user, metric, model, query_source, type, series, start)\nSETTINGS non_replicated_deduplication_window = 1000',
    'AggregatingMergeTree',
  );
  // As the event rollup (v4, v6): the definer's rights, so the collector's insert-only user fills it.
  const view = `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(context, DERIVED.dailyMetricUsageView)}${onCluster(context)} TO ${qualified(context, DERIVED.dailyMetricUsage)} DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
${METRIC_ROLLUP_SELECT(sums)}`;
  const backfill = `INSERT INTO ${qualified(context, DERIVED.dailyMetricUsage)}
${METRIC_ROLLUP_SELECT(sums, `\n  AND TimeUnix < (SELECT metadata_modification_time FROM system.tables WHERE database = ${quoteString(context.database)} AND name = ${quoteString(DERIVED.dailyMetricUsageView)})`)}
SETTINGS insert_deduplicate = 1, insert_deduplication_token = 'telemetry-stack-migration-8-metric-backfill'`;
  return [table, view, backfill];
}

/**
 * Daily usage per user, model and query source: the rollup of api_request events, and for a user
 * and day without any (level basic keeps metrics only) the cost and token counters, which carry
 * user, model, query_source and token type. The counters know no request count: 0 there.
 */
function usageView(context: DdlContext): string {
  const rollup = qualified(context, DERIVED.dailyUsage);
  const tokens = (type: string) => `toUInt64(round(sumIf(amount, metric = 'claude_code.token.usage' AND type = '${type}')))`;
  return `CREATE OR REPLACE VIEW ${qualified(context, DERIVED.usage)}${onCluster(context)} AS
SELECT day, user, model, ${querySourceCategory('query_source')} AS query_source, ${USAGE_COLUMNS.join(', ')}
FROM ${rollup}
UNION ALL
SELECT
  day,
  user,
  model,
  ${querySourceCategory('source')} AS query_source,
  toUInt64(0) AS requests,
  sumIf(amount, metric = 'claude_code.cost.usage') AS cost_usd,
  ${tokens('input')} AS input_tokens,
  ${tokens('output')} AS output_tokens,
  ${tokens('cacheRead')} AS cache_read_tokens,
  ${tokens('cacheCreation')} AS cache_creation_tokens
FROM (
  SELECT
    day,
    user,
    model,
    query_source AS source,
    metric,
    type,
    delta + if(series = 0, 0, cumulative - lagInFrame(cumulative, 1, 0) OVER (PARTITION BY metric, series, start ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS amount
  FROM (
    SELECT day, user, model, query_source, metric, type, series, start, sum(delta) AS delta, max(cumulative) AS cumulative
    FROM ${qualified(context, DERIVED.dailyMetricUsage)}
    GROUP BY day, user, model, query_source, metric, type, series, start
  )
)
WHERE (day, user) NOT IN (SELECT day, user FROM ${rollup})
GROUP BY day, user, model, query_source`;
}

function clientV2_1(context: DdlContext): string[] {
  return [
    ...eventViews(context, STORED_EVENT_V8, TYPED_VIEWS),
    ...metricRollup(context),
    usageView(context),
    `CREATE OR REPLACE VIEW ${qualified(context, DERIVED.teamDailyUsage)}${onCluster(context)} DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
SELECT
  day,
  model,
  query_source,
  uniqExact(user) AS users,
  ${USAGE_COLUMNS.map((column) => `sum(${column}) AS ${column}`).join(',\n  ')}
FROM ${qualified(context, DERIVED.usage)}
GROUP BY day, model, query_source`,
  ];
}

// ---------------------------------------------------------------- v9: typed event tables filled at insert

/**
 * Until v8 every typed view computed its columns from the attribute map of every matching raw
 * record, at each read: a report over a month of events read all their maps. From v9 each typed
 * view reads a table of its own, filled by a materialized view as records arrive (the same
 * expressions, computed once), so a report reads only the few small columns it names. The view
 * keeps its name and columns: reports, dashboards and people's own SQL read it unchanged.
 */
export const typedTable = (view: string) => `${view}_data`;
export const typedTableView = (view: string) => `${view}_data_mv`;

/** The table behind each typed view (v9). */
export const TYPED_TABLES: readonly string[] = TYPED_VIEWS.map((view) => typedTable(view.view));

const LC = 'LowCardinality(String)';
/**
 * Column types of the typed tables: the types the view expressions produce (so each view answers
 * exactly as before), strings with few distinct values as LowCardinality.
 */
const TYPED_COLUMN_TYPES: Readonly<Record<string, string>> = {
  timestamp: 'DateTime64(9)',
  day: 'Date',
  user: LC,
  authenticated_user: LC,
  session_id: 'String',
  prompt_id: 'String',
  event_sequence: 'UInt64',
  client_version: LC,
  model: LC,
  final_model: LC,
  cost_usd: 'Float64',
  duration_ms: 'Float64',
  ttft_ms: 'Float64',
  total_retry_duration_ms: 'Float64',
  input_tokens: 'UInt64',
  output_tokens: 'UInt64',
  cache_read_tokens: 'UInt64',
  cache_creation_tokens: 'UInt64',
  cache_creation_5m_tokens: 'UInt64',
  cache_creation_1h_tokens: 'UInt64',
  total_tokens: 'UInt64',
  pre_tokens: 'UInt64',
  post_tokens: 'UInt64',
  prompt_length: 'UInt64',
  tool_input_size_bytes: 'UInt64',
  tool_result_size_bytes: 'UInt64',
  attempt: 'UInt32',
  total_attempts: 'UInt32',
  total_tool_uses: 'UInt32',
  hooks: 'UInt32',
  succeeded: 'UInt32',
  blocking: 'UInt32',
  non_blocking_errors: 'UInt32',
  cancelled: 'UInt32',
  success: 'UInt8',
  has_explanation: 'UInt8',
  model_swapped: 'UInt8',
  is_async: 'UInt8',
  is_built_in: 'UInt8',
  is_plugin: 'UInt8',
  request_id: 'String',
  tool_use_id: 'String',
  agent_id: 'String',
  error: 'String',
  attribution: 'String',
  hook_name: 'String',
};
/** Every other column is a short, repetitive string. */
export const typedColumnType = (name: string) => TYPED_COLUMN_TYPES[name] ?? LC;

/** `expression AS name` -> name. */
export const columnName = (column: string) => /\sAS (\w+)$/.exec(column)![1]!;

/** The sort key's dimension after time and user: what the reports over this table filter and group on. */
const TYPED_SORT: Readonly<Record<string, string>> = {
  [DERIVED.apiRequests]: 'model',
  [DERIVED.apiErrors]: 'status_code',
  [DERIVED.apiRetriesExhausted]: 'status_code',
  [DERIVED.toolResults]: 'tool',
  [DERIVED.toolDecisions]: 'tool',
  [DERIVED.subagents]: 'agent_type',
  [DERIVED.skills]: 'skill_name',
  [DERIVED.mcpConnections]: 'server_name',
};

/** The SELECT the materialized view runs on each inserted block, and the backfill on stored rows. */
function typedSelect(context: DdlContext, view: TypedView, filter = ''): string {
  return `SELECT ${[...commonColumns(STORED_EVENT_V8), ...view.columns].join(',\n  ')}
FROM ${qualified(context, RAW_TABLES.logs)}
WHERE ClaudeEvent = ${quoteString(view.event)}${filter}`;
}

function typedTables(context: DdlContext): string[] {
  return TYPED_VIEWS.flatMap((view) => {
    const columns = [...commonColumns(STORED_EVENT_V8), ...view.columns].map(columnName);
    const sort = ['day', 'authenticated_user', ...(TYPED_SORT[view.view] ? [TYPED_SORT[view.view]!] : []), 'session_id', 'timestamp'];
    const table = createTable(
      context,
      typedTable(view.view),
      [
        ...columns.map((name) => `${name} ${typedColumnType(name)}`),
        'INDEX idx_session_id session_id TYPE bloom_filter(0.001) GRANULARITY 1',
        'INDEX idx_prompt_id prompt_id TYPE bloom_filter(0.001) GRANULARITY 1',
      ],
      // Daily partitions like the raw logs: the same TTL (eventsDays) and disk cap drop them day by day.
      // The deduplication window makes the backfill safe to repeat (its tokens).
      `PARTITION BY day\nORDER BY (${sort.join(', ')})\nSETTINGS index_granularity = 8192, ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000`,
    );
    // As the rollups: the definer's rights, so the collector's insert-only user fills it.
    const mv = `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(context, typedTableView(view.view))}${onCluster(context)} TO ${qualified(context, typedTable(view.view))} DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
${typedSelect(context, view)}`;
    const thin = `CREATE OR REPLACE VIEW ${qualified(context, view.view)}${onCluster(context)} AS
SELECT ${columns.join(', ')}
FROM ${qualified(context, typedTable(view.view))}`;
    return [table, mv, thin];
  });
}

/** What a backfill copies: the rows of `source` a materialized view did not see, into its table. */
interface BackfillStep {
  readonly table: string;
  /** The materialized view that fills `table` from now on; its creation time is the cut-off. */
  readonly view: string;
  readonly source: typeof RAW_TABLES.logs | typeof RAW_TABLES.metricsSum;
  /** The one event the view takes (logs), '' for every event; undefined for metric points. */
  readonly event?: string;
  /** The view's SELECT with an extra `AND ...` filter. */
  readonly select: (filter: string) => string;
}

const SOURCE_TIME = { [RAW_TABLES.logs]: 'TimestampTime', [RAW_TABLES.metricsSum]: 'TimeUnix' } as const;

/**
 * Rows stored before the materialized views existed (an upgrade), copied one day partition of the
 * raw table at a time, so memory stays bounded whatever the retention; a day without the view's
 * event is skipped (one pass over the small event-name column finds them). The cut-off is each
 * view's creation time (rows the view already saw are not copied again) and each day's insert
 * carries a deduplication token, so a run interrupted half-way is simply repeated.
 */
async function backfillByDay(target: SqlTarget, context: DdlContext, version: number, steps: readonly BackfillStep[]): Promise<void> {
  for (const source of new Set(steps.map((step) => step.source))) {
    const census = await target.query<{ partition: string; event: string }>(
      source === RAW_TABLES.logs
        ? `SELECT DISTINCT _partition_id AS partition, ClaudeEvent AS event FROM ${qualified(context, source)} ORDER BY partition, event`
        : `SELECT DISTINCT _partition_id AS partition, '' AS event FROM ${qualified(context, source)} ORDER BY partition`,
    );
    for (const step of steps.filter((candidate) => candidate.source === source)) {
      const days = [...new Set(census.filter((row) => (step.event ? row.event === step.event : step.event === '' ? row.event !== '' : true)).map((row) => row.partition))];
      const cutoff = `(SELECT metadata_modification_time FROM system.tables WHERE database = ${quoteString(context.database)} AND name = ${quoteString(step.view)})`;
      for (const partition of days) {
        await target.exec(`INSERT INTO ${qualified(context, step.table)}
${step.select(`\n  AND _partition_id = ${quoteString(partition)} AND ${SOURCE_TIME[source]} < ${cutoff}`)}
SETTINGS insert_deduplicate = 1, insert_deduplication_token = ${quoteString(`telemetry-stack-migration-${version}-${step.table}-${partition}`)}`);
      }
    }
  }
}

const backfillTypedTables = (target: SqlTarget, context: DdlContext) =>
  backfillByDay(
    target,
    context,
    9,
    TYPED_VIEWS.map((view) => ({
      table: typedTable(view.view),
      view: typedTableView(view.view),
      source: RAW_TABLES.logs,
      event: view.event,
      select: (filter: string) => typedSelect(context, view, filter),
    })),
  );

// ---------------------------------------------------------------- v10: per-prompt and counter rollups

/**
 * Events per day, user, session and prompt: what active users and prompt cost need from every
 * event, summed at insert (a day holds one row per prompt instead of its tens of events).
 */
const PROMPT_ROLLUP_SELECT = (context: DdlContext, filter = '') => `SELECT
  toDate(TimestampTime) AS day,
  ${userExpression('LogAttributes')} AS user,
  EndUser AS authenticated_user,
  ${STORED_EVENT_V8.session} AS session_id,
  ${str('prompt.id')} AS prompt_id,
  count() AS events,
  countIf(ClaudeEvent = 'api_request') AS api_requests,
  countIf(ClaudeEvent = 'tool_result') AS tool_calls,
  sumIf(if(${str('cost_usd')} != '', ${num('cost_usd', 'Float64')}, ${num('cost_usd_micros', 'Float64')} / 1000000), ClaudeEvent = 'api_request') AS cost_usd
FROM ${qualified(context, RAW_TABLES.logs)}
WHERE ClaudeEvent != ''${filter}
GROUP BY day, user, authenticated_user, session_id, prompt_id`;

/**
 * Every monotonic counter (and delta sum) per day and series, as the increments view would sum it:
 * a delta point adds to `delta`; a cumulative series (attributes, resource and start time) keeps its
 * latest value of the day in `cumulative`, and its increment for a day is that minus its value on
 * the day before (claude_code_daily_increments computes it over this small table). The series'
 * attributes reports group on are kept as columns: type, language, decision.
 */
const COUNTER_ROLLUP_SELECT = (context: DdlContext, filter = '') => `SELECT
  toDate(TimeUnix) AS day,
  ${userExpression('Attributes')} AS user,
  EndUser AS authenticated_user,
  MetricName AS metric,
  Attributes['type'] AS type,
  Attributes['language'] AS language,
  Attributes['decision'] AS decision,
  if(AggregationTemporality = 2, cityHash64(ServiceName, cityHash64(Attributes), cityHash64(ResourceAttributes)), 0) AS series,
  if(AggregationTemporality = 2, StartTimeUnix, toDateTime64(0, 9)) AS start,
  sumIf(Value, AggregationTemporality != 2) AS delta,
  maxIf(Value, AggregationTemporality = 2) AS cumulative
FROM ${qualified(context, RAW_TABLES.metricsSum)}
WHERE (IsMonotonic OR AggregationTemporality = 1)${filter}
GROUP BY day, user, authenticated_user, metric, type, language, decision, series, start`;

function promptAndCounterRollups(context: DdlContext): string[] {
  // Daily partitions and the raw tables' retention (eventsDays, metricsDays): these answer what the
  // raw rows answered, no longer. The deduplication window makes the backfill safe to repeat.
  const tail = (order: string) => `PARTITION BY day\nORDER BY (${order})\nSETTINGS ttl_only_drop_parts = 1, non_replicated_deduplication_window = 1000`;
  const prompts = createTable(
    context,
    DERIVED.dailyPrompts,
    [
      'day Date',
      'user LowCardinality(String)',
      'authenticated_user LowCardinality(String)',
      'session_id String',
      'prompt_id String',
      'events SimpleAggregateFunction(sum, UInt64)',
      'api_requests SimpleAggregateFunction(sum, UInt64)',
      'tool_calls SimpleAggregateFunction(sum, UInt64)',
      'cost_usd SimpleAggregateFunction(sum, Float64)',
    ],
    tail('day, authenticated_user, user, session_id, prompt_id'),
    'AggregatingMergeTree',
  );
  const counters = createTable(
    context,
    DERIVED.dailyCounters,
    [
      'day Date',
      'user LowCardinality(String)',
      'authenticated_user LowCardinality(String)',
      'metric LowCardinality(String)',
      'type LowCardinality(String)',
      'language LowCardinality(String)',
      'decision LowCardinality(String)',
      'series UInt64',
      'start DateTime64(9)',
      'delta SimpleAggregateFunction(sum, Float64)',
      'cumulative SimpleAggregateFunction(max, Float64)',
    ],
    tail('day, authenticated_user, user, metric, type, language, decision, series, start'),
    'AggregatingMergeTree',
  );
  const mv = (view: string, table: string, select: string) =>
    `CREATE MATERIALIZED VIEW IF NOT EXISTS ${qualified(context, view)}${onCluster(context)} TO ${qualified(context, table)} DEFINER = CURRENT_USER SQL SECURITY DEFINER AS
${select}`;
  const increments = `CREATE OR REPLACE VIEW ${qualified(context, DERIVED.dailyIncrements)}${onCluster(context)} AS
SELECT day, user, authenticated_user, metric, type, language, decision, increment
FROM (
  SELECT
    day,
    user,
    authenticated_user,
    metric,
    type,
    language,
    decision,
    delta + if(series = 0, 0, cumulative - lagInFrame(cumulative, 1, 0) OVER (PARTITION BY metric, series, start ORDER BY day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)) AS increment
  FROM (
    SELECT day, user, authenticated_user, metric, type, language, decision, series, start, sum(delta) AS delta, max(cumulative) AS cumulative
    FROM ${qualified(context, DERIVED.dailyCounters)}
    GROUP BY day, user, authenticated_user, metric, type, language, decision, series, start
  )
)`;
  return [
    prompts,
    mv(DERIVED.dailyPromptsView, DERIVED.dailyPrompts, PROMPT_ROLLUP_SELECT(context)),
    counters,
    mv(DERIVED.dailyCountersView, DERIVED.dailyCounters, COUNTER_ROLLUP_SELECT(context)),
    increments,
  ];
}

const backfillPromptAndCounterRollups = (target: SqlTarget, context: DdlContext) =>
  backfillByDay(target, context, 10, [
    {
      table: DERIVED.dailyPrompts,
      view: DERIVED.dailyPromptsView,
      source: RAW_TABLES.logs,
      event: '',
      select: (filter) => PROMPT_ROLLUP_SELECT(context, filter),
    },
    {
      table: DERIVED.dailyCounters,
      view: DERIVED.dailyCountersView,
      source: RAW_TABLES.metricsSum,
      select: (filter) => COUNTER_ROLLUP_SELECT(context, filter),
    },
  ]);

export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'raw tables the collector exporter writes', statements: rawTables },
  { version: 2, name: 'EndUser: the authenticated user, from the enduser.id attribute', statements: endUserColumns },
  { version: 3, name: 'typed Claude Code event views and metric increments', statements: typedViews },
  { version: 4, name: 'daily cost and token rollup per user and model', statements: rollups },
  { version: 5, name: 'stored event name and session id for the event views', statements: storedEventColumns },
  { version: 6, name: 'rollup view and team totals run with the definer\'s rights', statements: definerViews },
  { version: 7, name: 'event name from the OTLP eventName field without its claude_code. prefix', statements: eventNamePrefix },
  { version: 8, name: 'views for Claude Code 2.1.x: query source, MCP tools, 529s, session-less events, typed extension events, usage from the counters', statements: clientV2_1 },
  { version: 9, name: 'typed event tables filled at insert behind the typed views', statements: typedTables, backfill: backfillTypedTables },
  { version: 10, name: 'per-prompt and counter rollups filled at insert', statements: promptAndCounterRollups, backfill: backfillPromptAndCounterRollups },
];

/** Table that records applied migrations. */
export function migrationsTable(context: DdlContext): string {
  return createTable(
    context,
    DERIVED.migrations,
    ['version UInt32', 'name String', 'applied_at DateTime64(3) DEFAULT now64(3)'],
    'ORDER BY version',
    'ReplacingMergeTree',
  );
}

export function createDatabase(context: DdlContext): string {
  return `CREATE DATABASE IF NOT EXISTS ${quoteIdentifier(context.database)}${onCluster(context)}`;
}
