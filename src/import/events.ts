/**
 * A transcript's lines as the events and counters the live client would have sent for them
 * (the census of the pinned client that test/real-client.test.ts writes with TSTACK_CENSUS_FILE), so the
 * stack's views, rollups and reports count imported history like live telemetry:
 * - api_request per API response (message id; a streamed response's lines share it), with its
 *   tokens, the estimated cost, the duration from the client's own api-request line when it wrote one;
 * - user_prompt per prompt typed; tool_decision and tool_result per tool call;
 * - claude_code.token.usage (per token type) and claude_code.cost.usage points per response, and
 *   claude_code.lines_of_code.count per file edit: the counters, which are what level basic stores.
 * Every record carries IMPORTED_ATTRIBUTE, which says its cost is an estimate and where it came
 * from; the content a live client sends only with its switches (prompt text, tool input) only
 * when the same switches are on. Pure: no I/O.
 */
import { IMPORTED_ATTRIBUTE } from '../sanitizer/fields.ts';
import type { ApiRequestLine, AssistantLine, TokenUsage, ToolUse, TranscriptEntry, UserLine } from './transcript.ts';

export { IMPORTED_ATTRIBUTE };

export type ImportedEvent = 'api_request' | 'user_prompt' | 'tool_result' | 'tool_decision';

export type AttributeValue = string | number | boolean;

export interface ImportRecord {
  /** Unique per thing the client did (an API message id, a prompt's uuid, a tool call id): what makes a second import send nothing. */
  readonly key: string;
  readonly event: ImportedEvent;
  readonly time: number;
  readonly sessionId: string;
  readonly version: string | undefined;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
  /** api_request only: what the counters carry. */
  readonly usage?: { readonly model: string; readonly querySource: string; readonly tokens: TokenUsage; readonly costUsd: number | undefined };
  /** tool_result of a file edit: the lines-of-code counter's added and removed, and the model that asked for the edit. */
  readonly lines?: { readonly model: string; readonly added: number; readonly removed: number };
}

export interface MappingOptions {
  /** OTEL_LOG_USER_PROMPTS=1: the prompt text, as the live client sends it. */
  readonly prompts: boolean;
  /** OTEL_LOG_TOOL_DETAILS=1: tool input, as the live client sends it. */
  readonly toolDetails: boolean;
  /** OTEL_METRICS_INCLUDE_REPOSITORY=true: the branch (vcs.ref.head.name), as the live client sends it. */
  readonly repository?: boolean;
  /** USD for a request, undefined when unknown. */
  readonly price: (model: string, usage: TokenUsage, time: number) => number | undefined;
}

/** Responses without an API call behind them (the client's own error notices). */
const SYNTHETIC_MODEL = '<synthetic>';

/** The client's metric dimension for a query source, as querySourceCategory in src/clickhouse/schema.ts maps the event's raw value. */
export function querySourceCategory(raw: string): 'main' | 'subagent' | 'auxiliary' {
  if (raw === '' || raw === 'main' || raw === 'sdk' || raw.startsWith('repl_main_thread')) return 'main';
  if (raw === 'subagent' || raw === 'hook_agent' || raw.startsWith('agent:')) return 'subagent';
  return 'auxiliary';
}

/** mcp__server__tool as the live client reports it: tool_name mcp_tool, and the names the collector would lift from tool_parameters. */
function toolAttributes(use: ToolUse): Record<string, string> {
  const input = typeof use.input === 'object' && use.input !== null ? (use.input as Record<string, unknown>) : {};
  const mcp = /^mcp__(.+?)__(.+)$/.exec(use.name);
  if (mcp) return { tool_name: 'mcp_tool', mcp_server_name: mcp[1]!, mcp_tool_name: mcp[2]! };
  const attributes: Record<string, string> = { tool_name: use.name };
  if (use.name === 'Skill' && typeof input.skill === 'string') attributes.skill_name = input.skill;
  if ((use.name === 'Agent' || use.name === 'Task') && typeof input.subagent_type === 'string') attributes.subagent_type = input.subagent_type;
  return attributes;
}

/** The slash command of a prompt the client recorded as `<command-name>/name</command-name>`. */
function commandName(prompt: string): string | undefined {
  return /<command-name>\/?([^<\s]+)<\/command-name>/.exec(prompt)?.[1];
}

/** The records of one transcript file, in the file's order. */
export function recordsOfTranscript(entries: readonly TranscriptEntry[], options: MappingOptions): ImportRecord[] {
  const requests = new Map<string, ApiRequestLine>();
  const toolCalls = new Map<string, { use: ToolUse; line: AssistantLine }>();
  // A streamed response is one line per content block: the last carries the final usage.
  const lastOfMessage = new Map<string, AssistantLine>();
  for (const entry of entries) {
    if (entry.kind === 'api-request') requests.set(entry.id, entry);
    if (entry.kind === 'assistant') {
      if (entry.messageId) lastOfMessage.set(entry.messageId, entry);
      for (const use of entry.toolUses) toolCalls.set(use.id, { use, line: entry });
    }
  }
  const records: ImportRecord[] = [];
  let promptId: string | undefined;
  let sequence = 0;
  const emit = (line: TranscriptEntry, key: string, event: ImportedEvent, attributes: Record<string, AttributeValue>, extra: Pick<ImportRecord, 'usage' | 'lines'> = {}) => {
    records.push({
      key,
      event,
      time: line.time,
      sessionId: line.sessionId,
      version: line.version,
      attributes: {
        'event.name': event,
        'event.timestamp': new Date(line.time).toISOString(),
        'event.sequence': sequence++,
        'session.id': line.sessionId,
        ...(promptId ? { 'prompt.id': promptId } : {}),
        ...(options.repository && line.gitBranch ? { 'vcs.ref.head.name': line.gitBranch } : {}),
        ...attributes,
        [IMPORTED_ATTRIBUTE]: 'true',
      },
      ...extra,
    });
  };
  for (const entry of entries) {
    if (entry.kind === 'user') {
      if (entry.promptId) promptId = entry.promptId;
      userRecords(entry, toolCalls, options, emit);
    } else if (entry.kind === 'assistant') {
      const id = entry.messageId ?? entry.uuid;
      // Only the last line of a message counts, and only a real API response with its usage.
      if (id === undefined || (entry.messageId && lastOfMessage.get(entry.messageId) !== entry)) continue;
      if (entry.model === SYNTHETIC_MODEL || entry.usage === undefined) continue;
      const request = entry.requestRef ? requests.get(entry.requestRef) : undefined;
      const querySource = request?.querySource ?? (entry.isSidechain ? 'subagent' : 'main');
      const tokens = entry.usage;
      const cost = options.price(entry.model, tokens, entry.time);
      emit(
        entry,
        `message:${id}`,
        'api_request',
        {
          model: entry.model,
          input_tokens: tokens.input,
          output_tokens: tokens.output,
          cache_read_tokens: tokens.cacheRead,
          cache_creation_tokens: tokens.cacheCreation,
          ...(tokens.cacheCreation5m !== undefined ? { cache_creation_5m_tokens: tokens.cacheCreation5m } : {}),
          ...(tokens.cacheCreation1h !== undefined ? { cache_creation_1h_tokens: tokens.cacheCreation1h } : {}),
          ...(cost !== undefined ? { cost_usd: cost, cost_usd_micros: Math.round(cost * 1e6) } : {}),
          ...(request && entry.time >= request.time ? { duration_ms: entry.time - request.time } : {}),
          query_source: querySource,
          ...(entry.requestId ? { request_id: entry.requestId } : {}),
          ...(entry.messageId ? { 'message.id': entry.messageId } : {}),
          ...(entry.isSidechain && entry.agentId ? { agent_id: entry.agentId } : {}),
          ...(entry.effort ? { effort: entry.effort } : {}),
        },
        { usage: { model: entry.model, querySource: querySourceCategory(querySource), tokens, costUsd: cost } },
      );
    }
  }
  return records;
}

function userRecords(
  entry: UserLine,
  toolCalls: ReadonlyMap<string, { use: ToolUse; line: AssistantLine }>,
  options: MappingOptions,
  emit: (line: TranscriptEntry, key: string, event: ImportedEvent, attributes: Record<string, AttributeValue>, extra?: Pick<ImportRecord, 'lines'>) => void,
): void {
  // A subagent's first message is the task its caller wrote, not a person's prompt.
  if (entry.prompt !== undefined && !entry.isSidechain && entry.uuid) {
    const command = commandName(entry.prompt);
    emit(entry, `prompt:${entry.uuid}`, 'user_prompt', {
      'message.uuid': entry.uuid,
      prompt_length: String(entry.prompt.length),
      ...(command ? { command_name: command } : {}),
      ...(options.prompts ? { prompt: entry.prompt } : {}),
    });
  }
  for (const result of entry.toolResults) {
    const call = toolCalls.get(result.toolUseId);
    if (!call) continue;
    const input = JSON.stringify(call.use.input ?? {});
    const common = {
      ...toolAttributes(call.use),
      tool_use_id: result.toolUseId,
      ...(call.line.requestId ? { request_id: call.line.requestId } : {}),
      ...(entry.isSidechain && entry.agentId ? { agent_id: entry.agentId } : {}),
    };
    if (entry.decision) {
      emit(entry, `decision:${result.toolUseId}`, 'tool_decision', { ...common, decision: entry.decision.decision, source: entry.decision.source });
    }
    emit(entry, `tool:${result.toolUseId}`, 'tool_result', {
      ...common,
      success: String(!result.isError),
      // From the response that asked for the call to the line with its result.
      duration_ms: String(Math.max(0, entry.time - call.line.time)),
      tool_input_size_bytes: String(Buffer.byteLength(input)),
      tool_result_size_bytes: String(result.size),
      ...(options.toolDetails ? { tool_input: input } : {}),
    }, entry.lines && entry.toolResults.length === 1 && !result.isError ? { lines: { model: call.line.model, ...entry.lines } } : {});
  }
}
