/**
 * Claude Code's local session transcripts (~/.claude/projects/<project>/<session>.jsonl, and a
 * subagent's in <session>/subagents/agent-<id>.jsonl): one JSON object per line. This module reads
 * the lines the import needs (user and assistant messages, the client's api-request lines) into
 * plain values and nothing else; a line it does not need is ignored, whatever its type, so a newer
 * client's additions never stop an import.
 *
 * Shapes are from the pinned client (2.1.328, written by the real-client harness) and older
 * clients, which write the same message lines without the api-request ones.
 */
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** A line that is not a JSON object: where it is and why, for a one-line message. */
export interface TranscriptProblem {
  readonly file: string;
  /** 1-based; 0 for the whole file (it could not be read). */
  readonly line: number;
  readonly problem: string;
}

/** The four token counts of a Messages API response, and the split of cache writes by lifetime when the client recorded it. */
export interface TokenUsage {
  readonly input: number;
  readonly output: number;
  readonly cacheRead: number;
  readonly cacheCreation: number;
  readonly cacheCreation5m?: number;
  readonly cacheCreation1h?: number;
}

interface LineBase {
  readonly file: string;
  readonly line: number;
  /** Milliseconds since the epoch. */
  readonly time: number;
  readonly sessionId: string;
  readonly version: string | undefined;
  readonly isSidechain: boolean;
  /** The subagent's id, on the lines of a subagent's transcript. */
  readonly agentId: string | undefined;
  /** The git branch of the working directory ("HEAD" outside a branch). */
  readonly gitBranch: string | undefined;
}

export interface ToolUse {
  readonly id: string;
  readonly name: string;
  readonly input: unknown;
}

export interface AssistantLine extends LineBase {
  readonly kind: 'assistant';
  readonly uuid: string | undefined;
  /** The API message id (msg_...): a streamed response is written as one line per content block, all with this id. */
  readonly messageId: string | undefined;
  readonly requestId: string | undefined;
  /** The id of the api-request line this response answers (2.1.x). */
  readonly requestRef: string | undefined;
  readonly model: string;
  readonly usage: TokenUsage | undefined;
  readonly effort: string | undefined;
  readonly toolUses: readonly ToolUse[];
}

export interface ToolResult {
  readonly toolUseId: string;
  readonly isError: boolean;
  /** Bytes of the result as the model saw it (text of its blocks). */
  readonly size: number;
}

export interface UserLine extends LineBase {
  readonly kind: 'user';
  readonly uuid: string | undefined;
  readonly promptId: string | undefined;
  /** Text the person typed (undefined for a line that only carries tool results, or a meta line the client added). */
  readonly prompt: string | undefined;
  readonly toolResults: readonly ToolResult[];
  /** How the client decided on the tool call this line answers (2.1.x). */
  readonly decision: { readonly decision: string; readonly source: string } | undefined;
  /** Lines a file edit of this line's tool call added and removed (a Write's new file, an Edit's patch). */
  readonly lines: { readonly added: number; readonly removed: number } | undefined;
}

/** The client's record of a request it sent (2.1.x): when it started and for which part of the client. */
export interface ApiRequestLine extends LineBase {
  readonly kind: 'api-request';
  readonly id: string;
  readonly querySource: string | undefined;
}

export type TranscriptEntry = AssistantLine | UserLine | ApiRequestLine;

export interface ParsedTranscript {
  readonly entries: TranscriptEntry[];
  readonly problems: TranscriptProblem[];
  /** The last line had no newline yet: a running client is still writing it; the next import reads it. */
  readonly incompleteTail: boolean;
}

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value > 0 ? Math.round(value) : 0);

function usageOf(value: unknown): TokenUsage | undefined {
  if (!isObject(value)) return undefined;
  const split = isObject(value.cache_creation) ? value.cache_creation : undefined;
  return {
    input: count(value.input_tokens),
    output: count(value.output_tokens),
    cacheRead: count(value.cache_read_input_tokens),
    cacheCreation: count(value.cache_creation_input_tokens),
    ...(split ? { cacheCreation5m: count(split.ephemeral_5m_input_tokens), cacheCreation1h: count(split.ephemeral_1h_input_tokens) } : {}),
  };
}

function textOf(content: unknown): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((block) => (isObject(block) && typeof block.text === 'string' ? block.text : '')).join('');
}

function base(value: Json, file: string, line: number, time: number, sessionId: string): LineBase {
  return {
    file,
    line,
    time,
    sessionId,
    version: str(value.version),
    isSidechain: value.isSidechain === true,
    agentId: str(value.agentId),
    gitBranch: str(value.gitBranch),
  };
}

function entryOf(value: Json, file: string, line: number): TranscriptEntry | undefined {
  const time = typeof value.timestamp === 'string' ? Date.parse(value.timestamp) : Number.NaN;
  const sessionId = str(value.sessionId);
  if (Number.isNaN(time) || sessionId === undefined) return undefined;
  const common = base(value, file, line, time, sessionId);
  if (value.type === 'api-request' && str(value.id)) {
    return { ...common, kind: 'api-request', id: value.id as string, querySource: str(value.querySource) };
  }
  const message = isObject(value.message) ? value.message : undefined;
  if (!message) return undefined;
  if (value.type === 'assistant') {
    const model = str(message.model);
    if (model === undefined) return undefined;
    const toolUses = (Array.isArray(message.content) ? message.content : [])
      .filter((block): block is Json => isObject(block) && block.type === 'tool_use' && str(block.id) !== undefined && str(block.name) !== undefined)
      .map((block) => ({ id: block.id as string, name: block.name as string, input: block.input }));
    return {
      ...common,
      kind: 'assistant',
      uuid: str(value.uuid),
      messageId: str(message.id),
      requestId: str(value.requestId),
      requestRef: str(value.requestRef),
      model,
      usage: usageOf(message.usage),
      effort: str(value.effort),
      toolUses,
    };
  }
  if (value.type === 'user') {
    const content = message.content;
    const toolResults = (Array.isArray(content) ? content : [])
      .filter((block): block is Json => isObject(block) && block.type === 'tool_result' && str(block.tool_use_id) !== undefined)
      .map((block) => ({ toolUseId: block.tool_use_id as string, isError: block.is_error === true, size: Buffer.byteLength(textOf(block.content)) }));
    // A person's prompt: text, not the answer to a tool call, not a line the client itself inserted.
    const typed = toolResults.length === 0 && value.isMeta !== true && value.isCompactSummary !== true ? textOf(content) : '';
    const decision = isObject(value.permissionDecision) ? value.permissionDecision : undefined;
    return {
      ...common,
      kind: 'user',
      uuid: str(value.uuid),
      promptId: str(value.promptId),
      prompt: typed !== '' ? typed : undefined,
      toolResults,
      decision: decision && str(decision.decision) ? { decision: decision.decision as string, source: str(decision.source) ?? '' } : undefined,
      lines: linesOf(value.toolUseResult),
    };
  }
  return undefined;
}

/**
 * Lines added and removed by a file tool's result as the client records it: a new file's content
 * (`type: create`), else the hunks of its `structuredPatch` ("+" and "-" lines).
 */
function linesOf(result: unknown): { added: number; removed: number } | undefined {
  if (!isObject(result)) return undefined;
  const hunks = Array.isArray(result.structuredPatch) ? result.structuredPatch : [];
  if (result.type === 'create' && typeof result.content === 'string' && hunks.length === 0) {
    const content = result.content.endsWith('\n') ? result.content.slice(0, -1) : result.content;
    return { added: content === '' ? 0 : content.split('\n').length, removed: 0 };
  }
  if (hunks.length === 0) return undefined;
  let added = 0;
  let removed = 0;
  for (const hunk of hunks) {
    for (const text of isObject(hunk) && Array.isArray(hunk.lines) ? hunk.lines : []) {
      if (typeof text !== 'string') continue;
      if (text.startsWith('+')) added++;
      else if (text.startsWith('-')) removed++;
    }
  }
  return { added, removed };
}

/** The first line of a JSON parser's message, without the position noise of a whole line's text. */
function jsonProblem(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0]!.replace(/, "[^"]*"\.\.\. is not valid JSON$/, ' (not valid JSON)');
}

/** Reads a transcript's text; `file` names it in problems. */
export function parseTranscript(text: string, file: string): ParsedTranscript {
  const entries: TranscriptEntry[] = [];
  const problems: TranscriptProblem[] = [];
  const lines = text.split('\n');
  const incompleteTail = lines.length > 0 && lines[lines.length - 1] !== '';
  // Without a final newline the last line may be half written: left for the next import.
  const complete = incompleteTail ? lines.slice(0, -1) : lines;
  complete.forEach((raw, index) => {
    if (raw.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch (error) {
      problems.push({ file, line: index + 1, problem: jsonProblem(error) });
      return;
    }
    if (!isObject(value)) {
      problems.push({ file, line: index + 1, problem: 'not a JSON object' });
      return;
    }
    const entry = entryOf(value, file, index + 1);
    if (entry) entries.push(entry);
  });
  return { entries, problems, incompleteTail };
}

/** Every *.jsonl under `dir` (subagents' transcripts included), sorted so a run's order is stable. */
export function transcriptFiles(dir: string): string[] {
  const found: string[] = [];
  const walk = (current: string) => {
    for (const entry of readdirSync(current, { withFileTypes: true })) {
      const path = join(current, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (entry.isFile() && entry.name.endsWith('.jsonl')) found.push(path);
      else if (entry.isSymbolicLink() && entry.name.endsWith('.jsonl') && statSync(path, { throwIfNoEntry: false })?.isFile()) found.push(path);
    }
  };
  walk(dir);
  return found.sort();
}
