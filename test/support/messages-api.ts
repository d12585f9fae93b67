/**
 * A scripted stand-in for the Anthropic Messages API on 127.0.0.1, for driving the real Claude
 * Code client offline (ANTHROPIC_BASE_URL=<this>.url). Each conversation request the client sends
 * (`POST /v1/messages`, streamed as server-sent events when `stream: true`, as the client asks)
 * takes the next scripted turn: a text answer, a tool_use the client then executes, or an error
 * in Anthropic's error JSON shape. The usage numbers of every answer come from the script, so a
 * test can check the tokens the client reports in its telemetry against the ones it was given.
 *
 * Requests the script does not cover get a sensible answer and are logged in `unscripted`:
 * `count_tokens` answers a count, a conversation request past the end of the script (or one the
 * turn's `match` does not accept, such as a side query for a title) gets a short text turn,
 * anything else 404 in the error shape. Every request is recorded in `requests`.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenOnLoopback } from '../../harness/local-server.ts';

/** The four token counts of a Messages API `usage` object, chosen by the script. */
export interface Usage {
  readonly input_tokens: number;
  readonly output_tokens: number;
  readonly cache_read_input_tokens: number;
  readonly cache_creation_input_tokens: number;
}

export const DEFAULT_USAGE: Usage = { input_tokens: 10, output_tokens: 5, cache_read_input_tokens: 0, cache_creation_input_tokens: 0 };

/** Anthropic's error `type` for each HTTP status the client treats specially. */
export const ERROR_TYPES: Readonly<Record<number, string>> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

interface TurnBase {
  /** The model the answer claims (`message.model`); defaults to the model the request asked for. */
  readonly model?: string;
  /** Only a request this accepts takes the turn; others get the default answer (e.g. side queries). */
  readonly match?: (request: MessagesRequest) => boolean;
}

export interface TextTurn extends TurnBase {
  readonly kind: 'text';
  readonly text: string;
  readonly usage?: Partial<Usage>;
}

export interface ToolUseTurn extends TurnBase {
  readonly kind: 'tool_use';
  /** e.g. "Bash", "Write". */
  readonly name: string;
  readonly input: Record<string, unknown>;
  /** Text before the tool call, in its own content block. */
  readonly text?: string;
  /** The tool_use block's id; generated when omitted. */
  readonly id?: string;
  readonly usage?: Partial<Usage>;
}

export interface ErrorTurn extends TurnBase {
  readonly kind: 'error';
  readonly status: number;
  /** Anthropic's error type; defaults from the status (ERROR_TYPES). */
  readonly errorType?: string;
  readonly message?: string;
  /** Seconds, sent as `retry-after` (the client waits at least this long before retrying). */
  readonly retryAfter?: number;
}

export type Turn = TextTurn | ToolUseTurn | ErrorTurn;

export const text = (value: string, usage?: Partial<Usage>, extra: Partial<TextTurn> = {}): TextTurn => ({ kind: 'text', text: value, ...(usage ? { usage } : {}), ...extra });
export const toolUse = (name: string, input: Record<string, unknown>, usage?: Partial<Usage>, extra: Partial<ToolUseTurn> = {}): ToolUseTurn => ({
  kind: 'tool_use',
  name,
  input,
  ...(usage ? { usage } : {}),
  ...extra,
});
export const apiError = (status: number, extra: Partial<ErrorTurn> = {}): ErrorTurn => ({ kind: 'error', status, ...extra });

/** The parts of a Messages API request body the tests look at (the rest is kept in `body`). */
export interface MessagesRequest {
  readonly model: string;
  readonly stream: boolean;
  readonly messages: readonly { role: string; content: unknown }[];
  readonly tools: readonly { name: string }[];
  readonly system: unknown;
  readonly body: Record<string, unknown>;
}

export interface RecordedRequest {
  readonly method: string;
  /** Path and query, e.g. "/v1/messages?beta=true". */
  readonly url: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  /** Parsed JSON body, or the raw text when it is not JSON. */
  readonly body: unknown;
  /** What was answered: the scripted turn's kind, "default", "count_tokens" or "unknown". */
  readonly answeredWith: string;
  readonly status: number;
}

export interface MessagesApiOptions {
  /** Turns answered in order, one per conversation request. */
  readonly script?: readonly Turn[];
  /** The answer past the end of the script and for requests a turn's `match` refuses. */
  readonly fallback?: TextTurn;
  /** The count a `count_tokens` request gets. */
  readonly countTokens?: number;
}

/** Whether a request carries a tool_result block (the client answering a tool_use turn). */
export function hasToolResult(request: MessagesRequest): boolean {
  return request.messages.some((message) => Array.isArray(message.content) && (message.content as { type?: string }[]).some((block) => block.type === 'tool_result'));
}

/** The tool_result blocks of the last user message (what the client's tool produced). */
export function toolResults(request: MessagesRequest): { tool_use_id: string; content: unknown; is_error?: boolean }[] {
  const last = request.messages.at(-1);
  if (!last || !Array.isArray(last.content)) return [];
  return (last.content as { type?: string }[]).filter((block) => block.type === 'tool_result') as never;
}

export class MessagesApi {
  readonly requests: RecordedRequest[] = [];
  /** Requests the script did not answer (logged so a test failure shows what the client asked). */
  readonly unscripted: RecordedRequest[] = [];
  /** The conversation requests that took a scripted turn, in order. */
  readonly scripted: { request: MessagesRequest; turn: Turn; status: number }[] = [];
  private script: Turn[];
  private readonly fallback: TextTurn;
  private readonly countTokens: number;
  private server: Server | undefined;
  private port = 0;
  private sequence = 0;

  constructor(options: MessagesApiOptions = {}) {
    this.script = [...(options.script ?? [])];
    this.fallback = options.fallback ?? text('OK', DEFAULT_USAGE);
    this.countTokens = options.countTokens ?? 42;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Turns not yet taken. */
  get remaining(): readonly Turn[] {
    return this.script;
  }

  /** Replaces the turns still to come and forgets what the last session took (between sessions; `requests` keeps everything). */
  setScript(turns: readonly Turn[]): void {
    this.script = [...turns];
    this.scripted.length = 0;
    this.unscripted.length = 0;
  }

  async start(): Promise<this> {
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        try {
          this.handle(request, Buffer.concat(chunks).toString('utf8'), response);
        } catch (error) {
          if (!response.headersSent) sendError(response, 500, 'api_error', `stand-in failed: ${String(error)}`);
          else response.end();
        }
      });
    });
    this.port = await listenOnLoopback(server);
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server);
  }

  /** One line per request, for failure messages. */
  describe(): string {
    return this.requests.map((r) => `${r.method} ${r.url} -> ${r.status} (${r.answeredWith})`).join('\n');
  }

  private record(request: IncomingMessage, body: unknown, answeredWith: string, status: number): RecordedRequest {
    const url = request.url ?? '/';
    const recorded: RecordedRequest = {
      method: request.method ?? 'GET',
      url,
      path: new URL(url, 'http://x').pathname,
      headers: request.headers,
      body,
      answeredWith,
      status,
    };
    this.requests.push(recorded);
    return recorded;
  }

  private handle(request: IncomingMessage, raw: string, response: ServerResponse): void {
    let body: unknown = raw;
    try {
      body = raw === '' ? undefined : JSON.parse(raw);
    } catch {
      // not JSON: kept as text
    }
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    if (request.method === 'POST' && path === '/v1/messages/count_tokens') {
      this.record(request, body, 'count_tokens', 200);
      sendJson(response, 200, { input_tokens: this.countTokens });
      return;
    }
    if (request.method === 'POST' && path === '/v1/messages' && typeof body === 'object' && body !== null) {
      const parsed = messagesRequest(body as Record<string, unknown>);
      const next = this.script[0];
      const takes = next !== undefined && (next.match === undefined || next.match(parsed));
      const turn: Turn = takes ? this.script.shift()! : this.fallback;
      const status = turn.kind === 'error' ? turn.status : 200;
      const recorded = this.record(request, body, takes ? turn.kind : 'default', status);
      if (takes) this.scripted.push({ request: parsed, turn, status });
      else this.unscripted.push(recorded);
      this.answer(parsed, turn, response);
      return;
    }
    if (request.method === 'GET' && path === '/v1/models') {
      this.unscripted.push(this.record(request, body, 'models', 200));
      sendJson(response, 200, { data: [], has_more: false, first_id: null, last_id: null });
      return;
    }
    this.unscripted.push(this.record(request, body, 'unknown', 404));
    sendError(response, 404, 'not_found_error', `the stand-in does not serve ${request.method} ${path}`);
  }

  private answer(request: MessagesRequest, turn: Turn, response: ServerResponse): void {
    if (turn.kind === 'error') {
      const headers: Record<string, string> = turn.retryAfter === undefined ? {} : { 'retry-after': String(turn.retryAfter) };
      sendError(response, turn.status, turn.errorType ?? ERROR_TYPES[turn.status] ?? 'api_error', turn.message ?? `scripted ${turn.status}`, headers);
      return;
    }
    this.sequence += 1;
    const id = `msg_standin_${String(this.sequence).padStart(4, '0')}`;
    const model = turn.model ?? request.model;
    const usage = { ...DEFAULT_USAGE, ...turn.usage };
    const blocks: ContentBlock[] = [];
    if (turn.kind === 'text') blocks.push({ type: 'text', text: turn.text });
    else {
      if (turn.text) blocks.push({ type: 'text', text: turn.text });
      blocks.push({ type: 'tool_use', id: turn.id ?? `toolu_standin_${String(this.sequence).padStart(4, '0')}`, name: turn.name, input: turn.input });
    }
    const stopReason = turn.kind === 'tool_use' ? 'tool_use' : 'end_turn';
    const headers = { 'request-id': `req_standin_${String(this.sequence).padStart(4, '0')}` };
    if (!request.stream) {
      sendJson(response, 200, { id, type: 'message', role: 'assistant', model, content: blocks, stop_reason: stopReason, stop_sequence: null, usage }, headers);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
    const event = (name: string, data: unknown) => response.write(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
    // As the API does: message_start carries the input-side usage, message_delta the final output count.
    event('message_start', {
      type: 'message_start',
      message: {
        id,
        type: 'message',
        role: 'assistant',
        model,
        content: [],
        stop_reason: null,
        stop_sequence: null,
        usage: { ...usage, output_tokens: 1 },
      },
    });
    blocks.forEach((block, index) => {
      if (block.type === 'text') {
        event('content_block_start', { type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
        event('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'text_delta', text: block.text } });
      } else {
        event('content_block_start', { type: 'content_block_start', index, content_block: { type: 'tool_use', id: block.id, name: block.name, input: {} } });
        event('content_block_delta', { type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: JSON.stringify(block.input) } });
      }
      event('content_block_stop', { type: 'content_block_stop', index });
    });
    event('message_delta', { type: 'message_delta', delta: { stop_reason: stopReason, stop_sequence: null }, usage });
    event('message_stop', { type: 'message_stop' });
    response.end();
  }
}

type ContentBlock = { type: 'text'; text: string } | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> };

function messagesRequest(body: Record<string, unknown>): MessagesRequest {
  return {
    model: typeof body.model === 'string' ? body.model : '',
    stream: body.stream === true,
    messages: Array.isArray(body.messages) ? (body.messages as MessagesRequest['messages']) : [],
    tools: Array.isArray(body.tools) ? (body.tools as MessagesRequest['tools']) : [],
    system: body.system,
    body,
  };
}

function sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  response.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
}

/** Anthropic's error shape: {"type":"error","error":{"type":...,"message":...}}. */
function sendError(response: ServerResponse, status: number, type: string, message: string, headers: Record<string, string> = {}): void {
  sendJson(response, status, { type: 'error', error: { type, message } }, headers);
}
