/**
 * Claude-Code-shaped records for the pipeline tests: one of each event family with the
 * attributes the client sends (shared/reference/claude-code-telemetry.md), in a benign form (no
 * value any preset touches) and a form carrying secrets where they are seen in practice.
 */
import type { ClaudeCodeEvent, ClaudeCodeMetricPoint } from './claude-code-client.ts';

const COMMON = {
  'session.id': '7f9c2a1e-5b3d-4e8f-9a0b-1c2d3e4f5a6b',
  'organization.id': 'org-3c1f0e9a',
  'user.account_uuid': '0b8e5d2c-7a41-4f3e-9d6c-2e1a0f9b8c7d',
  'user.id': 'install-9e8d7c6b5a4f',
  'terminal.type': 'vscode',
};

function event(name: string, attributes: ClaudeCodeEvent['attributes']): ClaudeCodeEvent {
  return { name, attributes: { ...COMMON, 'prompt.id': 'prompt-0001', ...attributes } };
}

/** Every free-text attribute a level can remove appears at least once. */
export function benignEvents(): ClaudeCodeEvent[] {
  return [
    event('user_prompt', { prompt_length: 42, prompt: 'Refactor the parser module into smaller functions', prompt_text: 'Refactor the parser module into smaller functions', command_name: 'none' }),
    event('assistant_response', { response_length: 120, response: 'I split parse() into tokenize() and build().', model: 'claude-sonnet-4-6', request_id: 'req_001' }),
    event('tool_result', {
      tool_name: 'Bash',
      tool_use_id: 'toolu_01',
      success: 'true',
      duration_ms: 812,
      decision_type: 'accept',
      decision_source: 'config',
      tool_input_size_bytes: 64,
      tool_result_size_bytes: 2048,
      tool_parameters: JSON.stringify({ bash_command: 'npm test', full_command: 'npm test -- --run', description: 'Run the tests' }),
      tool_input: JSON.stringify({ command: 'npm test -- --run' }),
    }),
    event('tool_result', { tool_name: 'Read', tool_use_id: 'toolu_02', success: 'false', duration_ms: 3, error_type: 'not_found', error: 'File does not exist: src/missing.ts' }),
    event('tool_decision', { tool_name: 'Edit', tool_use_id: 'toolu_03', decision: 'accept', source: 'user', tool_source: 'builtin', tool_parameters: '{"file_path":"src/parser.ts"}' }),
    event('api_request', {
      model: 'claude-sonnet-4-6',
      cost_usd: 0.0123,
      cost_usd_micros: 12300,
      duration_ms: 2400,
      input_tokens: 1500,
      output_tokens: 320,
      cache_read_tokens: 9000,
      cache_creation_tokens: 0,
      request_id: 'req_002',
      query_source: 'main',
      speed: 'normal',
      effort: 'medium',
    }),
    event('api_error', { model: 'claude-sonnet-4-6', error: 'Overloaded', status_code: '529', duration_ms: 15000, attempt: 11, request_id: 'req_003' }),
    event('api_request_body', { request_id: 'req_004', api_request_body: '{"model":"claude-sonnet-4-6","max_tokens":1024}' }),
    event('api_response_body', { request_id: 'req_004', api_response_body: '{"stop_reason":"end_turn"}' }),
    // Client 2.1.x: the raw bodies travel as events with a `body` attribute; beta tracing adds the rest.
    event('api_request_body', { body: '{"model":"claude-sonnet-4-6","max_tokens":1024}', body_length: 48, body_truncated: 'false', request_body_id: 'rb_001' }),
    event('system_prompt', { system_prompt: 'You are an interactive command line tool that helps with software work.' }),
    event('tool', { tool: '{"name":"Read","description":"Reads a file from the working directory"}' }),
    event('hook_execution_start', { hook_event: 'PostToolUse', hook_name: 'PostToolUse:Edit', num_hooks: 1, hook_definitions: '[{"type":"command","command":"npm run lint"}]' }),
  ];
}

/** Secrets where Claude Code is seen to carry them: bash commands, tool input, errors, prompts, e-mail. */
export function secretEvents(): ClaudeCodeEvent[] {
  return [
    event('user_prompt', { prompt_length: 80, prompt: 'use this key sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefGHIJKL-AA and email me at dana@example.com' }),
    event('tool_result', {
      tool_name: 'Bash',
      tool_use_id: 'toolu_10',
      success: 'true',
      duration_ms: 120,
      tool_parameters: JSON.stringify({
        bash_command: 'GH_TOKEN=ghp_16C7e42F292c6912E7710c838347Ae178B4a gh pr list',
        full_command: 'export AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE\nexport AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\naws s3 ls',
        description: 'List PRs',
      }),
      tool_input: JSON.stringify({ command: 'curl -H "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U" https://api.internal/v1' }),
    }),
    event('tool_result', { tool_name: 'Bash', tool_use_id: 'toolu_11', success: 'false', duration_ms: 30, error: 'fatal: could not read from https://alice:s3cretPassw0rd@git.example.com/repo.git' }),
    event('api_error', { model: 'claude-sonnet-4-6', error: 'invalid x-api-key sk-proj-Abc123Def456Ghi789Jkl012Mno345Pqr678Stu901Vwx234', status_code: '401', duration_ms: 90, attempt: 1 }),
    event('tool_decision', { tool_name: 'Bash', tool_use_id: 'toolu_12', decision: 'reject', source: 'user', tool_parameters: '{"bash_command":"echo DB_PASSWORD=hunter2-very-secret >> .env"}' }),
  ];
}

const MODEL = 'claude-sonnet-4-6';

export function claudeCodeMetrics(): ClaudeCodeMetricPoint[] {
  const common = { ...COMMON };
  return [
    { metric: 'claude_code.session.count', value: 1, attributes: { ...common, start_type: 'fresh' } },
    { metric: 'claude_code.cost.usage', value: 0.0123, attributes: { ...common, model: MODEL, query_source: 'main', speed: 'normal', effort: 'medium' } },
    { metric: 'claude_code.token.usage', value: 1500, attributes: { ...common, model: MODEL, type: 'input', query_source: 'main' } },
    { metric: 'claude_code.token.usage', value: 320, attributes: { ...common, model: MODEL, type: 'output', query_source: 'main' } },
    { metric: 'claude_code.lines_of_code.count', value: 57, attributes: { ...common, type: 'added', model: MODEL } },
    { metric: 'claude_code.code_edit_tool.decision', value: 1, attributes: { ...common, tool_name: 'Edit', decision: 'accept', source: 'config', language: 'TypeScript' } },
    { metric: 'claude_code.active_time.total', value: 34.5, attributes: { ...common, type: 'user' } },
  ];
}
