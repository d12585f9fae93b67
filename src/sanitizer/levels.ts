/**
 * What each collection level keeps. docs/PRIVACY.md is generated from these tables
 * (sanitizer issue), so the document and the collector configuration cannot drift.
 *
 * `basic` and `enhanced` are allow-lists: an attribute a table below does not name is removed,
 * whatever a new client version calls it, and only its name is kept (REMOVED_KEYS_ATTRIBUTE)
 * so the drift report can show it. `full` stores everything, sanitized.
 */
import type { Level } from '../api/spec.ts';
import { LIFTED_TOOL_PARAMETERS, PROMPT_ORIGIN_ATTRIBUTE, REMOVED_KEYS_ATTRIBUTE, TELEMETRY_FIELDS } from './fields.ts';

export { LIFTED_TOOL_PARAMETERS, REMOVED_KEYS_ATTRIBUTE };

export interface LevelPolicy {
  readonly level: Level;
  readonly summary: string;
  /** Whether log records (Claude Code events) are stored at all. */
  readonly events: boolean;
  /** Whether events and data points keep only the attributes the allow-lists below name. */
  readonly allowList: boolean;
}

/**
 * Event attributes that carry free text: prompts, model output, tool input and error strings,
 * raw API bodies, and what beta tracing adds (system prompt, tool schemas, hook commands).
 * No allow-list may name one (test/sanitizer-levels.test.ts).
 */
export const FREE_TEXT_ATTRIBUTES = [
  'prompt',
  'prompt_text',
  'response',
  'tool_input',
  'tool_parameters',
  'error',
  'api_request_body',
  'api_response_body',
  'body',
  'system_prompt',
  'tool',
  'hook_definitions',
] as const;

/** What the lift parses: a whole JSON object only; one the truncation cut ends in its marker. */
export const WHOLE_JSON_OBJECT = '(?s)^\\s*\\{.*\\}\\s*$';

/**
 * An async subagent's result comes back as a `user_prompt` whose text is a <task-notification>:
 * the collector marks such a prompt in PROMPT_ORIGIN_ATTRIBUTE before the level removes the text,
 * so a count of prompts people typed can leave it out. Only a client that sends the text
 * (OTEL_LOG_USER_PROMPTS=1) can be told apart; without it the two look the same.
 */
export const TASK_NOTIFICATION_PROMPT = '^\\s*<task-notification>';
export const TASK_NOTIFICATION_ORIGIN = 'task_notification';

/** The error text of the client's "Repeated 529 Overloaded errors", which come without a status_code. */
export const REPEATED_529_ERROR = '\\b529\\b|[Oo]verloaded';

/** The fields of every record, but not the removed-keys list: the collector writes that one, a client's is removed. */
function recordKeys(): string[] {
  return TELEMETRY_FIELDS.filter((field) => field.carrier === 'every record' && field.key !== REMOVED_KEYS_ATTRIBUTE).map((field) => field.key);
}

/**
 * Attributes every event keeps at `enhanced`, and all an event of an unknown name keeps: who
 * (the identity and account fields), which session and client, when and in which order. A new
 * event can carry anything, free text included; with these it still counts per user and
 * session, and the names of what it carried show in the drift report.
 */
export const COMMON_EVENT_ATTRIBUTES: readonly string[] = [
  ...recordKeys(),
  'event.name',
  'event.timestamp',
  'event.sequence',
  'prompt.id',
];

const API = ['model', 'query_source', 'request_id', 'agent_id', 'speed', 'effort'];
const TOOL = ['tool_name', 'name', 'tool_use_id', 'tool_source', 'request_id', 'agent_id', 'mcp_server_scope', ...LIFTED_TOOL_PARAMETERS];
const HOOK = ['hook_event', 'hook_name', 'hook_source', 'managed_only', 'safe_mode'];
const RAW_BODY = [...API, 'message.id', 'message.uuid', 'body_length', 'body_truncated', 'request_body_id'];

/**
 * Per event name, what `enhanced` stores besides COMMON_EVENT_ATTRIBUTES. From the pinned
 * client's events (test/client-drift.test.ts) and the fields.ts table; an event whose
 * attributes we have not seen keeps the common ones only, until a client shows more.
 */
export const EVENT_ATTRIBUTES: Readonly<Record<string, readonly string[]>> = {
  user_prompt: ['message.uuid', 'prompt_length', 'command_name', PROMPT_ORIGIN_ATTRIBUTE],
  assistant_response: [...API, 'message.uuid', 'message.id', 'response_length'],
  api_request: [
    ...API,
    'message.id',
    'duration_ms',
    'ttft_ms',
    'cost_usd',
    'cost_usd_micros',
    'input_tokens',
    'output_tokens',
    'cache_read_tokens',
    'cache_creation_tokens',
    'cache_creation_5m_tokens',
    'cache_creation_1h_tokens',
    'attribution',
    'agent.name',
    'skill.name',
    'mcp_server.name',
    'mcp_tool.name',
  ],
  api_error: [...API, 'duration_ms', 'attempt', 'status_code', 'error_type'],
  api_retries_exhausted: [...API, 'status_code', 'error_type', 'total_attempts', 'total_retry_duration_ms'],
  api_refusal: [...API, 'message.id'],
  api_request_body: RAW_BODY,
  api_response_body: RAW_BODY,
  tool_decision: [...TOOL, 'decision', 'source', 'decision_type', 'decision_source', 'permission_mode'],
  tool_result: [
    ...TOOL,
    'success',
    'duration_ms',
    'error_type',
    'decision_type',
    'decision_source',
    'tool_input_size_bytes',
    'tool_result_size_bytes',
  ],
  subagent_completed: [
    'agent_id',
    'agent_type',
    'agent.source',
    'model',
    'final_model',
    'model_swapped',
    'is_async',
    'is_built_in',
    'duration_ms',
    'total_tokens',
    'total_tool_uses',
  ],
  skill_activated: ['skill.name', 'skill.source', 'invocation_trigger'],
  mcp_server_connection: ['server_name', 'server_scope', 'transport_type', 'status', 'is_plugin', 'duration_ms', 'error_type'],
  at_mention: [],
  hook_registered: [...HOOK, 'hook_type', 'hook_matcher'],
  hook_execution_start: [...HOOK, 'num_hooks'],
  hook_execution_complete: [
    ...HOOK,
    'num_hooks',
    'num_success',
    'num_blocking',
    'num_non_blocking_error',
    'num_cancelled',
    'num_outputs_persisted',
    'total_duration_ms',
    'stdout_chars',
    'additional_context_chars',
    'initial_user_message_chars',
    'system_message_chars',
  ],
  hook_plugin_metrics: ['plugin.name', 'plugin.scope', 'plugin_id_hash', 'num_hooks'],
  plugin_loaded: [
    'plugin.name',
    'plugin.scope',
    'plugin_id_hash',
    'marketplace.name',
    'enabled_via',
    'agent_path_count',
    'command_path_count',
    'skill_path_count',
    'has_hooks',
    'has_mcp',
    'host_owned_mcp',
    'safe_mode',
  ],
  plugin_installed: ['plugin.name', 'plugin.scope', 'plugin_id_hash', 'marketplace.name', 'enabled_via'],
  managed_settings_resolved: [
    'managed_settings.sources',
    'managed_settings.source_behavior',
    'managed_settings.trigger',
    'managed_settings.helper.applied',
    'managed_settings.helper.state',
  ],
  permission_mode_changed: ['permission_mode'],
  compaction: [],
  auth: [],
  retention_sweep: [],
  internal_error: ['error_type'],
  safety_event: [],
  feedback_survey: [],
  system_prompt: [],
  tool: [],
};

/** Everything `enhanced` stores on an event named `name` (an unknown name: the common attributes). */
export function eventAllowList(name: string | undefined): readonly string[] {
  const own = name !== undefined && Object.hasOwn(EVENT_ATTRIBUTES, name) ? EVENT_ATTRIBUTES[name]! : [];
  return [...new Set([...COMMON_EVENT_ATTRIBUTES, ...own])];
}

/**
 * What `basic` and `enhanced` store on a metric data point: the common record fields and the
 * metric dimensions (the "metrics" rows of fields.ts, and the event keys the client also puts
 * on data points). One list for all metrics: every one is a short enumeration, and a key a new
 * client adds is removed on every metric alike, its name kept.
 */
export const METRIC_ATTRIBUTES: readonly string[] = [
  ...new Set([
    ...recordKeys(),
    ...TELEMETRY_FIELDS.filter((field) => field.carrier === 'metrics').map((field) => field.key),
    'model',
    'tool_name',
    'decision',
    'source',
  ]),
];

export const LEVEL_POLICIES: Record<Level, LevelPolicy> = {
  basic: {
    level: 'basic',
    summary: 'Metrics only (cost, tokens, sessions, lines of code, active time), with the listed dimensions only. No events are stored.',
    events: false,
    allowList: true,
  },
  enhanced: {
    level: 'enhanced',
    summary:
      'Metrics and events, each with the attributes listed for it only: no prompts, responses, tool input and parameters, error text or raw API bodies, and nothing a newer client adds until it is listed.',
    events: true,
    allowList: true,
  },
  full: {
    level: 'full',
    summary: 'Metrics and events with all attributes the client sends, after the sanitizer.',
    events: true,
    allowList: false,
  },
};
