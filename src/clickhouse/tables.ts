/**
 * Names of the raw tables the collector's ClickHouse exporter inserts into. The exporter
 * runs with create_schema off; the DDL in this folder creates these tables (data-layer issue).
 */
export const RAW_TABLES = {
  logs: 'otel_logs',
  metricsSum: 'otel_metrics_sum',
  metricsGauge: 'otel_metrics_gauge',
  metricsHistogram: 'otel_metrics_histogram',
  metricsExponentialHistogram: 'otel_metrics_exponential_histogram',
  metricsSummary: 'otel_metrics_summary',
} as const;

/**
 * The insert-only ClickHouse user the collector authenticates as: defined by the in-cluster
 * server's config, and created by the operator's access plan in an external ClickHouse.
 */
export const INGEST_USER = 'otel_ingest';
/** The administrative ClickHouse user the operator uses for migrations and access control (in-cluster mode). */
export const ADMIN_USER = 'telemetry_admin';
/**
 * The read-only ClickHouse user Grafana's data source logs in as (when spec.grafana.enabled),
 * with the coordinator role's read grants: dashboards show every user's rows. The underscore
 * keeps it apart from spec user names, which cannot contain one.
 */
export const GRAFANA_USER = 'grafana_reader';
export const GRAFANA_USER_ROLE = 'coordinator';


/** Tables and views the migrations create on top of the raw tables. */
export const DERIVED = {
  migrations: 'telemetry_schema_migrations',
  events: 'claude_code_events',
  apiRequests: 'claude_code_api_requests',
  apiErrors: 'claude_code_api_errors',
  toolResults: 'claude_code_tool_results',
  toolDecisions: 'claude_code_tool_decisions',
  userPrompts: 'claude_code_user_prompts',
  /** v8: the events 2.1.x clients send that matter to a team. */
  apiRetriesExhausted: 'claude_code_api_retries_exhausted',
  apiRefusals: 'claude_code_api_refusals',
  subagents: 'claude_code_subagents',
  mcpConnections: 'claude_code_mcp_connections',
  skills: 'claude_code_skills',
  hooks: 'claude_code_hooks',
  compactions: 'claude_code_compactions',
  auth: 'claude_code_auth',
  /** v8: the daily rollup, else (a user and day with no api_request event, level basic) the cost and token counters. */
  usage: 'claude_code_usage',
  /** v8: daily sums of the cost and token counters (delta sums, cumulative maxima per series), filled at insert. */
  dailyMetricUsage: 'claude_code_daily_metric_usage',
  dailyMetricUsageView: 'claude_code_daily_metric_usage_mv',
  metricIncrements: 'claude_code_metric_increments',
  dailyUsage: 'claude_code_daily_usage',
  dailyUsageView: 'claude_code_daily_usage_mv',
  /** Team totals of the daily rollup (no user column), readable by viewers: SQL SECURITY DEFINER. */
  teamDailyUsage: 'claude_code_team_daily_usage',
  /** v10: events per day, user, session and prompt (active users, prompt cost), filled at insert. */
  dailyPrompts: 'claude_code_daily_prompts',
  dailyPromptsView: 'claude_code_daily_prompts_mv',
  /** v10: every monotonic counter per day and series (delta sums, cumulative maxima), filled at insert. */
  dailyCounters: 'claude_code_daily_counters',
  dailyCountersView: 'claude_code_daily_counters_mv',
  /** v10: the counters' increments per day, user, metric and the attributes reports group on. */
  dailyIncrements: 'claude_code_daily_increments',
  accessState: 'telemetry_access_state',
} as const;
