/**
 * What each collection level keeps. docs/PRIVACY.md is generated from these tables
 * (sanitizer issue), so the document and the collector configuration cannot drift.
 */
import type { Level } from '../api/spec.ts';

export interface LevelPolicy {
  readonly level: Level;
  readonly summary: string;
  /** Whether log records (Claude Code events) are stored at all. */
  readonly events: boolean;
  /** Event attributes removed before anything else runs (free text). */
  readonly removedEventAttributes: readonly string[];
}

/**
 * Event attributes that carry free text: prompts, model output, tool input and error strings,
 * raw API bodies, and what beta tracing adds (system prompt, tool schemas, hook commands).
 * Every free-text key of fields.ts belongs here, or `enhanced` stores it.
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

export const LEVEL_POLICIES: Record<Level, LevelPolicy> = {
  basic: {
    level: 'basic',
    summary: 'Metrics only (cost, tokens, sessions, lines of code, active time). No events are stored.',
    events: false,
    removedEventAttributes: [],
  },
  enhanced: {
    level: 'enhanced',
    summary: 'Metrics and events, with free text removed: prompts, responses, tool input and parameters, error text, raw API bodies.',
    events: true,
    removedEventAttributes: FREE_TEXT_ATTRIBUTES,
  },
  full: {
    level: 'full',
    summary: 'Metrics and events with all attributes the client sends, after the sanitizer.',
    events: true,
    removedEventAttributes: [],
  },
};
