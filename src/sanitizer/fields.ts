/**
 * The attributes Claude Code sends (client v2.1.x; ../shared/reference/claude-code-telemetry.md),
 * and where each one travels. Two users of this table:
 * - docs/PRIVACY.md says, field by field, what each level stores (generated from here and
 *   from levels.ts, so it cannot drift);
 * - a `drop` rule deletes a matching attribute by key, and OTTL can only delete keys it
 *   names (compile.ts), so these keys are the ones a drop removes outright.
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

const field = (key: string, carrier: Carrier, meaning: string): TelemetryField => ({ key, carrier, meaning });

export const TELEMETRY_FIELDS: readonly TelemetryField[] = [
  field('service.name', 'resource', 'claude-code or claude-code-desktop'),
  field('service.version', 'resource', 'client version'),
  field('os.type', 'resource', 'operating system'),
  field('os.version', 'resource', 'operating system version'),
  field('host.arch', 'resource', 'CPU architecture'),

  field(IDENTITY_ATTRIBUTE, 'every record', 'the authenticated ingestion user, stamped by the collector (a client-sent value is overwritten)'),
  field('session.id', 'every record', 'session identifier'),
  field('app.version', 'every record', 'client version (metrics: only when enabled)'),
  field('organization.id', 'every record', 'Anthropic organization id'),
  field('user.account_uuid', 'every record', 'Anthropic account uuid'),
  field('user.account_id', 'every record', 'Anthropic account id'),
  field('user.id', 'every record', 'anonymous installation id'),
  field('user.email', 'every record', 'e-mail of OAuth logins (hashed by the email-addresses preset)'),
  field('terminal.type', 'every record', 'terminal or IDE'),

  field('event.name', 'events', 'event kind (user_prompt, tool_result, api_request ...)'),
  field('event.timestamp', 'events', 'event time'),
  field('event.sequence', 'events', 'order within the session'),
  field('prompt.id', 'events', 'prompt identifier'),
  field('prompt_length', 'events', 'prompt length in characters'),
  field('prompt', 'events', 'the prompt text (only with OTEL_LOG_USER_PROMPTS)'),
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
  field('error_type', 'events', 'error class'),
  field('error', 'events', 'error text (may quote commands, paths, URLs)'),
  field('decision', 'events', 'permission decision (older clients)'),
  field('source', 'events', 'decision source (older clients)'),
  field('decision_type', 'events', 'permission decision'),
  field('decision_source', 'events', 'who decided'),
  field('tool_source', 'events', 'built-in, MCP or plugin tool'),
  field('tool_input_size_bytes', 'events', 'size of the tool input'),
  field('tool_result_size_bytes', 'events', 'size of the tool result'),
  field('tool_parameters', 'events', 'JSON: bash_command, full_command, description, git_commit_id, MCP/skill/subagent names'),
  field('tool_input', 'events', 'tool input (paths, URLs, file fragments)'),
  field('cost_usd', 'events', 'request cost in USD'),
  field('cost_usd_micros', 'events', 'request cost in micro-USD'),
  field('input_tokens', 'events', 'input tokens'),
  field('output_tokens', 'events', 'output tokens'),
  field('cache_read_tokens', 'events', 'cache read tokens'),
  field('cache_creation_tokens', 'events', 'cache creation tokens'),
  field('status_code', 'events', 'HTTP status of a failed request'),
  field('attempt', 'events', 'retry attempt'),
  field('total_attempts', 'events', 'attempts before giving up'),
  field('total_retry_duration_ms', 'events', 'time spent retrying'),
  field('attribution', 'events', 'request attribution'),
  field('api_request_body', 'events', 'raw API request body (only with OTEL_LOG_RAW_API_BODIES)'),
  field('api_response_body', 'events', 'raw API response body (only with OTEL_LOG_RAW_API_BODIES)'),

  field('type', 'metrics', 'token type, lines added/removed, active time kind'),
  field('start_type', 'metrics', 'fresh, resume, continue'),
  field('language', 'metrics', 'language of an edited file'),
  field('query_source', 'metrics', 'main, subagent or auxiliary (also on api_request events)'),
  field('speed', 'metrics', 'speed setting (also on api_request events)'),
  field('effort', 'metrics', 'effort setting (also on api_request events)'),
  field('agent.name', 'metrics', 'subagent name'),
  field('skill.name', 'metrics', 'skill name'),
  field('plugin.name', 'metrics', 'plugin name'),
  field('marketplace.name', 'metrics', 'plugin marketplace'),
  field('mcp_server.name', 'metrics', 'MCP server name'),
  field('mcp_tool.name', 'metrics', 'MCP tool name'),
];

/** Every attribute key above: what a `drop` rule can delete by name. */
export const KNOWN_ATTRIBUTE_KEYS: readonly string[] = TELEMETRY_FIELDS.map((f) => f.key);
