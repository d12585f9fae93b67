/**
 * Sends import records to a stack as the live client does: OTLP over HTTP to the endpoint and with
 * the Authorization header that `telemetry-stack env` exports (OTEL_EXPORTER_OTLP_ENDPOINT and
 * _HEADERS, or their per-signal forms, read as the client reads them), so the collector
 * authenticates the same user and applies the same level and sanitizer. Events go as log records
 * (body `claude_code.<name>`, scope com.anthropic.claude_code.events), counters as delta sums
 * (scope com.anthropic.claude_code). The body is OTLP/JSON, which every OTLP/HTTP receiver takes:
 * no protobuf code is needed for a one-off upload.
 */
import type { AnyValue, KeyValue, LogRecord, Metric, NumberDataPoint } from '../clickhouse/otlp-json.ts';
import { type AttributeValue, IMPORTED_ATTRIBUTE, type ImportRecord } from './events.ts';

export interface OtlpDestination {
  readonly logsUrl: string;
  readonly metricsUrl: string;
  readonly headers: Readonly<Record<string, string>>;
  /** OTEL_LOGS_EXPORTER / OTEL_METRICS_EXPORTER=none (env prints logs none at level basic): that signal is not sent. */
  readonly logs: boolean;
  readonly metrics: boolean;
}

/** A destination, or the one-line reason there is none. */
export type DestinationResult = { ok: true; destination: OtlpDestination } | { ok: false; problem: string };

const ENV_HINT = 'run  eval "$(telemetry-stack env --user NAME)"  first (import sends with the credential env prints)';

/** OTEL_EXPORTER_OTLP_HEADERS as the client reads it: pairs at ",", key and value at the first "=", trimmed. */
export function parseHeaders(text: string): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const index = pair.indexOf('=');
    if (index <= 0) continue;
    headers[pair.slice(0, index).trim()] = pair.slice(index + 1).trim();
  }
  return headers;
}

const signalUrl = (base: string, signal: 'logs' | 'metrics') => `${base.replace(/\/+$/, '')}/v1/${signal}`;

/**
 * Where and with which header to send, from the environment `env` exports; `endpoint` (--endpoint)
 * replaces the endpoint only, never the credential.
 */
export function destinationFromEnv(env: NodeJS.ProcessEnv, endpoint?: string): DestinationResult {
  const protocol = env.OTEL_EXPORTER_OTLP_PROTOCOL ?? 'http/protobuf';
  const base = endpoint ?? env.OTEL_EXPORTER_OTLP_ENDPOINT;
  const logsUrl = endpoint ? signalUrl(endpoint, 'logs') : (env.OTEL_EXPORTER_OTLP_LOGS_ENDPOINT ?? (base ? signalUrl(base, 'logs') : undefined));
  const metricsUrl = endpoint ? signalUrl(endpoint, 'metrics') : (env.OTEL_EXPORTER_OTLP_METRICS_ENDPOINT ?? (base ? signalUrl(base, 'metrics') : undefined));
  if (!logsUrl || !metricsUrl) return { ok: false, problem: `OTEL_EXPORTER_OTLP_ENDPOINT is not set: ${ENV_HINT}` };
  if (endpoint === undefined && protocol === 'grpc') {
    return { ok: false, problem: 'OTEL_EXPORTER_OTLP_PROTOCOL is grpc, but import sends OTLP over HTTP: pass --endpoint with the collector\'s OTLP/HTTP address (port 4318, or node port 30318 on kind)' };
  }
  for (const url of [logsUrl, metricsUrl]) {
    if (!/^https?:\/\/[^\s/]+(\/\S*)?$/.test(url)) return { ok: false, problem: `the OTLP endpoint "${url}" is not an http:// or https:// URL: ${ENV_HINT}, or pass --endpoint URL` };
  }
  const headers = { ...parseHeaders(env.OTEL_EXPORTER_OTLP_HEADERS ?? '') };
  const authorization = (signal: 'LOGS' | 'METRICS') => {
    const own = parseHeaders(env[`OTEL_EXPORTER_OTLP_${signal}_HEADERS`] ?? '');
    return Object.entries({ ...headers, ...own }).find(([key]) => key.toLowerCase() === 'authorization')?.[1];
  };
  if (!authorization('LOGS') || !authorization('METRICS')) {
    return { ok: false, problem: `OTEL_EXPORTER_OTLP_HEADERS has no Authorization: ${ENV_HINT}` };
  }
  return {
    ok: true,
    destination: {
      logsUrl,
      metricsUrl,
      headers,
      logs: env.OTEL_LOGS_EXPORTER !== 'none',
      metrics: env.OTEL_METRICS_EXPORTER !== 'none',
    },
  };
}

function anyValue(value: AttributeValue): AnyValue {
  if (typeof value === 'boolean') return { boolValue: value };
  if (typeof value === 'number') return Number.isInteger(value) ? { intValue: String(value) } : { doubleValue: value };
  return { stringValue: value };
}

const keyValues = (attributes: Readonly<Record<string, AttributeValue>>): KeyValue[] =>
  Object.entries(attributes).map(([key, value]) => ({ key, value: anyValue(value) }));

const nanos = (ms: number) => `${BigInt(Math.round(ms)) * 1_000_000n}`;

/** The resource of a client version (the live client's service.name and service.version). */
function resource(version: string | undefined): { attributes: KeyValue[] } {
  return { attributes: keyValues({ 'service.name': 'claude-code', ...(version ? { 'service.version': version } : {}) }) };
}

function byVersion<T>(items: readonly T[], version: (item: T) => string | undefined): Map<string | undefined, T[]> {
  const groups = new Map<string | undefined, T[]>();
  for (const item of items) {
    const key = version(item);
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

/** An ExportLogsServiceRequest for these records. */
export function logsRequest(records: readonly ImportRecord[]): object {
  return {
    resourceLogs: [...byVersion(records, (record) => record.version)].map(([version, group]) => ({
      resource: resource(version),
      scopeLogs: [
        {
          scope: { name: 'com.anthropic.claude_code.events', ...(version ? { version } : {}) },
          logRecords: group.map(
            (record): LogRecord => ({
              timeUnixNano: nanos(record.time),
              observedTimeUnixNano: nanos(record.time),
              body: { stringValue: `claude_code.${record.event}` },
              attributes: keyValues(record.attributes),
            }),
          ),
        },
      ],
    })),
  };
}

/** The counter points of one api_request: tokens per type, and the cost when it is known. */
export interface CounterPoint {
  readonly metric: 'claude_code.token.usage' | 'claude_code.cost.usage' | 'claude_code.lines_of_code.count';
  readonly time: number;
  readonly version: string | undefined;
  readonly value: number;
  readonly attributes: Readonly<Record<string, AttributeValue>>;
}

export function counterPoints(record: ImportRecord): CounterPoint[] {
  if (record.lines) {
    const attributes = (type: string) => ({ 'session.id': record.sessionId, model: record.lines!.model, type, [IMPORTED_ATTRIBUTE]: 'true' });
    return (['added', 'removed'] as const).map((type) => ({
      metric: 'claude_code.lines_of_code.count',
      time: record.time,
      version: record.version,
      value: record.lines![type],
      attributes: attributes(type),
    }));
  }
  if (!record.usage) return [];
  const { model, querySource, tokens, costUsd } = record.usage;
  const dimensions = { 'session.id': record.sessionId, model, query_source: querySource, [IMPORTED_ATTRIBUTE]: 'true' };
  const point = (metric: CounterPoint['metric'], value: number, type?: string): CounterPoint => ({
    metric,
    time: record.time,
    version: record.version,
    value,
    attributes: { ...dimensions, ...(type ? { type } : {}) },
  });
  return [
    point('claude_code.token.usage', tokens.input, 'input'),
    point('claude_code.token.usage', tokens.output, 'output'),
    point('claude_code.token.usage', tokens.cacheRead, 'cacheRead'),
    point('claude_code.token.usage', tokens.cacheCreation, 'cacheCreation'),
    ...(costUsd !== undefined ? [point('claude_code.cost.usage', costUsd)] : []),
  ];
}

const UNITS: Record<CounterPoint['metric'], string> = { 'claude_code.token.usage': 'tokens', 'claude_code.cost.usage': 'USD', 'claude_code.lines_of_code.count': '' };

/** An ExportMetricsServiceRequest: each point a delta of a monotonic sum, as the client's delta temporality sends it. */
export function metricsRequest(points: readonly CounterPoint[]): object {
  return {
    resourceMetrics: [...byVersion(points, (point) => point.version)].map(([version, group]) => ({
      resource: resource(version),
      scopeMetrics: [
        {
          scope: { name: 'com.anthropic.claude_code', ...(version ? { version } : {}) },
          metrics: [...new Set(group.map((point) => point.metric))].map(
            (metric): Metric => ({
              name: metric,
              unit: UNITS[metric],
              sum: {
                aggregationTemporality: 1,
                isMonotonic: true,
                dataPoints: group
                  .filter((point) => point.metric === metric)
                  .map(
                    (point): NumberDataPoint => ({
                      attributes: keyValues(point.attributes),
                      startTimeUnixNano: nanos(point.time - 1),
                      timeUnixNano: nanos(point.time),
                      asDouble: point.value,
                    }),
                  ),
              },
            }),
          ),
        },
      ],
    })),
  };
}

/** A refused or failed export: the status (0 when nothing answered) and a one-line reason. */
export class ExportFailure extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.status = status;
  }
}

/** Statuses the OTLP specification says to retry (the collector's memory limiter answers 503 or 429 when it sheds load). */
const RETRYABLE = new Set([429, 502, 503, 504]);

/**
 * POSTs one OTLP/JSON body; retries what the OTLP specification calls retryable, with backoff
 * (a Retry-After header is honoured), a few times. Never puts a header value in an error.
 */
export async function postOtlp(url: string, headers: Readonly<Record<string, string>>, body: object, attempts = 5): Promise<void> {
  const text = JSON.stringify(body);
  for (let attempt = 1; ; attempt++) {
    let status = 0;
    let reason: string;
    let wait = Math.min(500 * 2 ** (attempt - 1), 8_000);
    try {
      const response = await fetch(url, { method: 'POST', headers: { ...headers, 'Content-Type': 'application/json' }, body: text, signal: AbortSignal.timeout(60_000) });
      status = response.status;
      const answer = (await response.text()).slice(0, 200).replace(/\s+/g, ' ');
      if (response.ok) return;
      reason = `${url} answered ${status}${answer ? `: ${answer}` : ''}`;
      const retryAfter = Number(response.headers.get('retry-after'));
      if (Number.isFinite(retryAfter) && retryAfter > 0) wait = Math.min(retryAfter * 1000, 30_000);
      if (status === 401 || status === 403) {
        throw new ExportFailure(status, `${url} refused the credential (${status}): check that the Authorization in OTEL_EXPORTER_OTLP_HEADERS is the one "telemetry-stack env" prints now`);
      }
      if (!RETRYABLE.has(status)) throw new ExportFailure(status, reason);
    } catch (error) {
      if (error instanceof ExportFailure) throw error;
      reason = `${url} did not answer (${error instanceof Error ? (error.cause instanceof Error ? error.cause.message : error.message) : String(error)})`;
    }
    if (attempt >= attempts) throw new ExportFailure(status, `${reason}; gave up after ${attempts} attempts`);
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}
