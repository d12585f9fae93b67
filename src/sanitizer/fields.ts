/**
 * The event names, metric names and attributes Claude Code sends (client v2.1.x, checked
 * against the pinned client by test/client-drift.test.ts), and where each attribute travels.
 * Users of these tables:
 * - docs/PRIVACY.md says, field by field, what each level stores (generated from here and
 *   from levels.ts, so it cannot drift);
 * - a `drop` rule deletes a matching attribute by key, and OTTL can only delete keys it
 *   names (compile.ts), so these keys are the ones a drop removes outright;
 * - queries/unknown-fields.sql (generated from here) and `doctor` list what a stack stored that
 *   these tables do not know: a new client version's fields, the day they arrive.
 * A key that carries free text must also be in levels.ts FREE_TEXT_ATTRIBUTES, or `enhanced`
 * stores it.
 */

import { IDENTITY_ATTRIBUTE } from '../api/constants.ts';

export { IDENTITY_ATTRIBUTE };

/** Where an attribute travels. */
export type Carrier = 'resource' | 'every record' | 'events' | 'metrics';

export interface TelemetryField {
  readonly key: string;
  readonly carrier: Carrier;
  /** One line: what the value is, for PRIVACY.md. */
  readonly meaning: string;
}

/**
 * Where the collector writes the names of the attributes a level removed: sorted,
 * comma-separated. One string attribute because the exporter stores attributes as
 * Map(String, String) (an array would arrive as JSON text anyway); sorted so the same set of
 * keys is the same value; `splitByChar(',', ...)` reads it back. Namespaced by this project, so
 * no client sends it; one that does sees it replaced at `enhanced` (and listed as removed).
 */
export const REMOVED_KEYS_ATTRIBUTE = 'telemetry_stack.removed_keys';

/**
 * "true" on every record `telemetry-stack import` rebuilt from a local transcript: its cost is an
 * estimate from a price table, not the client's own figure. On every record (metric points
 * included), so basic and enhanced keep it and a report can tell imported rows from live ones.
 */
export const IMPORTED_ATTRIBUTE = 'telemetry_stack.imported';

/** Set by the collector on a `user_prompt` that is not a person's prompt (levels.ts TASK_NOTIFICATION_PROMPT). */
export const PROMPT_ORIGIN_ATTRIBUTE = 'telemetry_stack.prompt_origin';

/**
 * Extension names inside the JSON `tool_parameters` that the collector copies to top-level
 * event attributes of the same name before the level applies: names of MCP servers, tools,
 * skills and subagents are configuration, not free text, and reports group by them.
 */
export const LIFTED_TOOL_PARAMETERS = ['mcp_server_name', 'mcp_tool_name', 'skill_name', 'subagent_type'] as const;

const field = (key: string, carrier: Carrier, meaning: string): TelemetryField => ({ key, carrier, meaning });

export const TELEMETRY_FIELDS: readonly TelemetryField[] = [
  field('service.name', 'resource', 'claude-code or claude-code-desktop'),
  field('service.version', 'resource', 'client version'),
  field('os.type', 'resource', 'operating system'),
  field('os.version', 'resource', 'operating system version'),
  field('host.arch', 'resource', 'CPU architecture'),
  field('host.name', 'resource', 'machine name (only with OTEL_RESOURCE_INCLUDE_HOST)'),
  field('host.id', 'resource', 'machine id (only with OTEL_RESOURCE_INCLUDE_HOST)'),

  field(IDENTITY_ATTRIBUTE, 'every record', 'the authenticated ingestion user, stamped by the collector (a client-sent value is overwritten)'),
  field('session.id', 'every record', 'session identifier'),
  field('app.version', 'every record', 'client version (metrics: only when enabled)'),
  field('app.entrypoint', 'every record', 'how the client was started: cli, sdk, IDE (metrics: only with OTEL_METRICS_INCLUDE_ENTRYPOINT)'),
  field('organization.id', 'every record', 'Anthropic organization id'),
  field('user.account_uuid', 'every record', 'Anthropic account uuid'),
  field('user.account_id', 'every record', 'Anthropic account id'),
  field('user.id', 'every record', 'anonymous installation id'),
  field('user.email', 'every record', 'e-mail of OAuth logins (hashed by the email-addresses preset)'),
  field('terminal.type', 'every record', 'terminal or IDE'),
  field('anthropic.provider', 'every record', 'API provider: firstParty, bedrock, vertex ...'),
  field('anthropic.custom_base_url', 'every record', 'whether ANTHROPIC_BASE_URL points elsewhere than Anthropic'),
  field('anthropic.plan', 'every record', 'subscription plan'),
  field('anthropic.seat_type', 'every record', 'seat type of the account'),
  field('vcs.provider.name', 'every record', 'git host (only with OTEL_METRICS_INCLUDE_REPOSITORY)'),
  field('vcs.owner.name', 'every record', 'repository owner (only with OTEL_METRICS_INCLUDE_REPOSITORY)'),
  field('vcs.repository.name', 'every record', 'repository name (only with OTEL_METRICS_INCLUDE_REPOSITORY)'),
  field('vcs.repository.url.full', 'every record', 'repository URL (only with OTEL_METRICS_INCLUDE_REPOSITORY)'),
  field('vcs.ref.head.name', 'every record', 'branch name (only with OTEL_METRICS_INCLUDE_REPOSITORY)'),
  field('vcs.ref.head.revision', 'every record', 'commit id (only with OTEL_METRICS_INCLUDE_REPOSITORY)'),
  field('vcs.ref.head.type', 'every record', 'branch or tag (only with OTEL_METRICS_INCLUDE_REPOSITORY)'),

  field('event.name', 'events', 'event kind (user_prompt, tool_result, api_request ...)'),
  field('event.timestamp', 'events', 'event time'),
  field('event.sequence', 'events', 'order within the session'),
  field('prompt.id', 'events', 'prompt identifier'),
  field('message.uuid', 'events', 'transcript message id'),
  field('message.id', 'events', 'API message id'),
  field('agent_id', 'events', 'subagent instance id'),
  field('prompt_length', 'events', 'prompt length in characters'),
  field('prompt', 'events', 'the prompt text (only with OTEL_LOG_USER_PROMPTS)'),
  field('prompt_text', 'events', 'a copy of the prompt text; also an async subagent\'s result (only with OTEL_LOG_USER_PROMPTS)'),
  field('command_name', 'events', 'slash command name'),
  field('response_length', 'events', 'response length in characters'),
  field('response', 'events', 'the model response text (only with OTEL_LOG_ASSISTANT_RESPONSES)'),
  field('model', 'events', 'model name'),
  field('request_id', 'events', 'API request id'),
  field('tool_name', 'events', 'tool name'),
  field('name', 'events', 'tool name (older clients)'),
  field('tool_use_id', 'events', 'tool call id'),
  field('success', 'events', 'whether the tool call succeeded'),
  field('duration_ms', 'events', 'duration'),
  field('ttft_ms', 'events', 'time to the first token of a request'),
  field('error_type', 'events', 'error class'),
  field('error', 'events', 'error text (may quote commands, paths, URLs)'),
  field('decision', 'events', 'permission decision (older clients; also on code_edit_tool.decision)'),
  field('source', 'events', 'decision source (older clients; also on code_edit_tool.decision)'),
  field('decision_type', 'events', 'permission decision'),
  field('decision_source', 'events', 'who decided'),
  field('permission_mode', 'events', 'permission mode in force (default, acceptEdits, plan ...)'),
  field('tool_source', 'events', 'built-in, MCP or plugin tool'),
  field('mcp_server_scope', 'events', 'where an MCP tool\'s server is configured'),
  field('tool_input_size_bytes', 'events', 'size of the tool input'),
  field('tool_result_size_bytes', 'events', 'size of the tool result'),
  field('tool_parameters', 'events', 'JSON: bash_command, full_command, description, git_commit_id, MCP/skill/subagent names'),
  field('tool_input', 'events', 'tool input (paths, URLs, file fragments)'),
  field('mcp_server_name', 'events', 'MCP server of an MCP tool call (copied by the collector from tool_parameters)'),
  field('mcp_tool_name', 'events', 'MCP tool of an MCP tool call (copied by the collector from tool_parameters)'),
  field('skill_name', 'events', 'skill a Skill tool call ran (copied by the collector from tool_parameters)'),
  field('subagent_type', 'events', 'subagent type a Task tool call started (copied by the collector from tool_parameters)'),
  field(PROMPT_ORIGIN_ATTRIBUTE, 'events', '"task_notification" on a user_prompt that is an async subagent reporting back, not a person\'s prompt (set by the collector when the client sends the prompt text)'),
  field(IMPORTED_ATTRIBUTE, 'every record', '"true" on records `telemetry-stack import` rebuilt from local transcripts: their cost is estimated from a price table'),
  field(REMOVED_KEYS_ATTRIBUTE, 'every record', 'names (never values) of the attributes the level removed, sorted, comma-separated (basic and enhanced)'),
  field('cost_usd', 'events', 'request cost in USD'),
  field('cost_usd_micros', 'events', 'request cost in micro-USD'),
  field('input_tokens', 'events', 'input tokens'),
  field('output_tokens', 'events', 'output tokens'),
  field('cache_read_tokens', 'events', 'cache read tokens'),
  field('cache_creation_tokens', 'events', 'cache creation tokens'),
  field('cache_creation_5m_tokens', 'events', 'cache creation tokens, 5-minute cache'),
  field('cache_creation_1h_tokens', 'events', 'cache creation tokens, 1-hour cache'),
  field('status_code', 'events', 'HTTP status of a failed request'),
  field('attempt', 'events', 'retry attempt'),
  field('total_attempts', 'events', 'attempts before giving up'),
  field('total_retry_duration_ms', 'events', 'time spent retrying'),
  field('attribution', 'events', 'request attribution'),
  field('api_request_body', 'events', 'raw API request body (older clients; only with OTEL_LOG_RAW_API_BODIES)'),
  field('api_response_body', 'events', 'raw API response body (older clients; only with OTEL_LOG_RAW_API_BODIES)'),
  field('body', 'events', 'raw API request or response body: system prompt, prompts, file contents, tool output (api_*_body events, only with OTEL_LOG_RAW_API_BODIES)'),
  field('body_length', 'events', 'raw API body length'),
  field('body_truncated', 'events', 'whether the raw API body was cut'),
  field('request_body_id', 'events', 'links an api_response_body to its api_request_body'),
  field('system_prompt', 'events', 'the system prompt (system_prompt event, beta tracing)'),
  field('tool', 'events', 'a tool\'s full schema and description (tool event, beta tracing)'),
  field('hook_definitions', 'events', 'hook commands as configured (hook events, beta tracing)'),
  field('hook_event', 'events', 'hook trigger (PreToolUse, PostToolUse ...)'),
  field('hook_name', 'events', 'hook name'),
  field('hook_source', 'events', 'where the hook is configured'),
  field('hook_type', 'events', 'command, prompt ...'),
  field('hook_matcher', 'events', 'tool pattern the hook applies to'),
  field('num_hooks', 'events', 'hooks run'),
  field('num_success', 'events', 'hooks that succeeded'),
  field('num_blocking', 'events', 'hooks that blocked'),
  field('num_non_blocking_error', 'events', 'hooks that failed without blocking'),
  field('num_cancelled', 'events', 'hooks cancelled'),
  field('num_outputs_persisted', 'events', 'hook outputs kept'),
  field('total_duration_ms', 'events', 'time all hooks took'),
  field('stdout_chars', 'events', 'size of hook output'),
  field('additional_context_chars', 'events', 'size of context a hook added'),
  field('initial_user_message_chars', 'events', 'size of the prompt a hook saw'),
  field('system_message_chars', 'events', 'size of a hook\'s system message'),
  field('managed_only', 'events', 'whether only managed hooks may run'),
  field('safe_mode', 'events', 'whether the client runs in safe mode'),
  field('managed_settings.sources', 'events', 'where managed settings came from'),
  field('managed_settings.source_behavior', 'events', 'how managed setting sources combine'),
  field('managed_settings.trigger', 'events', 'what resolved managed settings'),
  field('managed_settings.helper.applied', 'events', 'whether a settings helper applied'),
  field('managed_settings.helper.state', 'events', 'settings helper state'),
  field('server_name', 'events', 'MCP server name'),
  field('server_scope', 'events', 'where the MCP server is configured'),
  field('transport_type', 'events', 'MCP transport: stdio, http, sse'),
  field('status', 'events', 'MCP connection outcome'),
  field('is_plugin', 'events', 'whether the MCP server comes from a plugin'),
  field('plugin.scope', 'events', 'where the plugin is installed'),
  field('plugin_id_hash', 'events', 'hashed plugin id'),
  field('enabled_via', 'events', 'how the plugin was enabled'),
  field('agent_path_count', 'events', 'agents a plugin ships'),
  field('command_path_count', 'events', 'commands a plugin ships'),
  field('skill_path_count', 'events', 'skills a plugin ships'),
  field('has_hooks', 'events', 'whether a plugin ships hooks'),
  field('has_mcp', 'events', 'whether a plugin ships MCP servers'),
  field('host_owned_mcp', 'events', 'whether the plugin\'s MCP servers are host-owned'),
  field('skill.source', 'events', 'where the skill is defined'),
  field('invocation_trigger', 'events', 'what invoked the skill'),
  field('agent.source', 'events', 'where the subagent is defined'),
  field('agent_type', 'events', 'subagent type'),
  field('is_async', 'events', 'whether the subagent ran in the background'),
  field('is_built_in', 'events', 'whether the subagent is built in'),
  field('final_model', 'events', 'model the subagent ended on'),
  field('model_swapped', 'events', 'whether the subagent changed model'),
  field('total_tokens', 'events', 'tokens the subagent used'),
  field('total_tool_uses', 'events', 'tool calls the subagent made'),

  field('type', 'metrics', 'token type, lines added/removed, active time kind'),
  field('start_type', 'metrics', 'fresh, resume, continue'),
  field('language', 'metrics', 'language of an edited file'),
  field('query_source', 'metrics', 'main, subagent or auxiliary (raw values such as repl_main_thread on api_request events)'),
  field('speed', 'metrics', 'speed setting (also on api_request events)'),
  field('effort', 'metrics', 'effort setting (also on api_request events)'),
  field('agent.name', 'metrics', 'subagent name (also on api_request events)'),
  field('skill.name', 'metrics', 'skill name (also on api_request and skill_activated events)'),
  field('plugin.name', 'metrics', 'plugin name (also on plugin_loaded events)'),
  field('marketplace.name', 'metrics', 'plugin marketplace (also on plugin_loaded events)'),
  field('mcp_server.name', 'metrics', 'MCP server name (also on api_request events)'),
  field('mcp_tool.name', 'metrics', 'MCP tool name (also on api_request events)'),
];

/** A Claude Code event: the `event.name` attribute, and the log body `claude_code.<name>`. */
export interface TelemetryEvent {
  readonly name: string;
  readonly meaning: string;
}

const event = (name: string, meaning: string): TelemetryEvent => ({ name, meaning });

/** The events the client sends (seen from the pinned client, or named in its binary and documentation). */
export const TELEMETRY_EVENTS: readonly TelemetryEvent[] = [
  event('user_prompt', 'a prompt was submitted (also an async subagent reporting back)'),
  event('assistant_response', 'the model answered'),
  event('api_request', 'one Messages API request: model, tokens, cost, duration'),
  event('api_error', 'a failed request, after its retries'),
  event('api_retries_exhausted', 'a request gave up retrying'),
  event('api_refusal', 'the model refused'),
  event('api_request_body', 'raw API request body (only with OTEL_LOG_RAW_API_BODIES)'),
  event('api_response_body', 'raw API response body (only with OTEL_LOG_RAW_API_BODIES)'),
  event('tool_decision', 'a tool call was allowed or denied'),
  event('tool_result', 'a tool call finished'),
  event('subagent_completed', 'a subagent finished'),
  event('skill_activated', 'a skill was invoked'),
  event('mcp_server_connection', 'an MCP server connected or failed to'),
  event('at_mention', 'a file or resource was @-mentioned'),
  event('hook_registered', 'a hook was configured'),
  event('hook_execution_start', 'hooks started'),
  event('hook_execution_complete', 'hooks finished'),
  event('hook_plugin_metrics', 'hook counts of a plugin'),
  event('plugin_loaded', 'a plugin was loaded'),
  event('plugin_installed', 'a plugin was installed'),
  event('managed_settings_resolved', 'managed settings were read'),
  event('permission_mode_changed', 'the permission mode changed'),
  event('compaction', 'the conversation was compacted'),
  event('auth', 'a login or credential change'),
  event('retention_sweep', 'old local transcripts were removed'),
  event('internal_error', 'an error inside the client'),
  event('safety_event', 'a safety classifier fired'),
  event('feedback_survey', 'a feedback survey was shown or answered'),
  event('system_prompt', 'the system prompt (beta tracing)'),
  event('tool', 'a tool definition (beta tracing)'),
];

/** The client's metrics (meter com.anthropic.claude_code). */
export const TELEMETRY_METRICS: readonly string[] = [
  'claude_code.session.count',
  'claude_code.lines_of_code.count',
  'claude_code.pull_request.count',
  'claude_code.commit.count',
  'claude_code.cost.usage',
  'claude_code.token.usage',
  'claude_code.code_edit_tool.decision',
  'claude_code.active_time.total',
];

/** Every attribute key above: what a `drop` rule can delete by name. */
export const KNOWN_ATTRIBUTE_KEYS: readonly string[] = TELEMETRY_FIELDS.map((f) => f.key);

/** Every event name above. */
export const KNOWN_EVENT_NAMES: readonly string[] = TELEMETRY_EVENTS.map((e) => e.name);
