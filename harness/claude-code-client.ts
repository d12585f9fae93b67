/**
 * Sends telemetry the way Claude Code does: the OpenTelemetry JS SDK's OTLP exporters (gRPC or
 * HTTP/protobuf), metrics with delta temporality from meter `com.anthropic.claude_code`, events
 * as log records whose body is `claude_code.<name>`, with the attribute names of
 * shared/reference/claude-code-telemetry.md. Records are built by the SDK (LoggerProvider,
 * MeterProvider) into memory and then handed to the real exporter, so each send reports the
 * exporter's own result (the status a client would see).
 */
import { Metadata } from '@grpc/grpc-js';
import type { AnyValueMap } from '@opentelemetry/api-logs';
import { type ExportResult, ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter as GrpcLogExporter } from '@opentelemetry/exporter-logs-otlp-grpc';
import { OTLPLogExporter as HttpLogExporter } from '@opentelemetry/exporter-logs-otlp-http';
import { OTLPMetricExporter as GrpcMetricExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as HttpMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { InMemoryLogRecordExporter, LoggerProvider, type ReadableLogRecord, SimpleLogRecordProcessor } from '@opentelemetry/sdk-logs';
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';

export type Protocol = 'grpc' | 'http';

export interface Target {
  protocol: Protocol;
  /** http://127.0.0.1:<port> of the collector's gRPC or HTTP receiver. */
  endpoint: string;
  /** Authorization header value, e.g. "Basic ..."; omitted sends none. */
  authorization?: string | undefined;
}

export interface ClaudeCodeEvent {
  /** `event.name`, e.g. "tool_result"; the body becomes `claude_code.<name>`. */
  name: string;
  attributes: Record<string, string | number | boolean>;
}

export interface ClaudeCodeMetricPoint {
  /** e.g. "claude_code.cost.usage" */
  metric: string;
  value: number;
  attributes: Record<string, string>;
}

export const CLAUDE_CODE_RESOURCE = {
  'service.name': 'claude-code',
  'service.version': '2.1.130',
  'os.type': 'linux',
  'os.version': '6.8.0',
  'host.arch': 'amd64',
} as const;

const METER = 'com.anthropic.claude_code';
const METRIC_UNITS: Record<string, string> = {
  'claude_code.cost.usage': 'USD',
  'claude_code.token.usage': 'tokens',
  'claude_code.active_time.total': 's',
};

function logExporter(target: Target) {
  const url = target.protocol === 'http' ? `${target.endpoint}/v1/logs` : target.endpoint;
  if (target.protocol === 'http') {
    return new HttpLogExporter({ url, headers: target.authorization ? { Authorization: target.authorization } : {} });
  }
  return new GrpcLogExporter({ url, metadata: grpcMetadata(target) });
}

function metricExporter(target: Target) {
  const temporalityPreference = AggregationTemporality.DELTA;
  if (target.protocol === 'http') {
    return new HttpMetricExporter({
      url: `${target.endpoint}/v1/metrics`,
      headers: target.authorization ? { Authorization: target.authorization } : {},
      temporalityPreference,
    });
  }
  return new GrpcMetricExporter({ url: target.endpoint, metadata: grpcMetadata(target), temporalityPreference });
}

function grpcMetadata(target: Target): Metadata {
  const metadata = new Metadata();
  if (target.authorization) metadata.set('authorization', target.authorization);
  return metadata;
}

function exportWith<T>(exporter: { export(items: T, done: (result: ExportResult) => void): void; shutdown(): Promise<void> }, items: T) {
  return new Promise<ExportResult>((resolve) => exporter.export(items, resolve)).finally(() => exporter.shutdown());
}

/** A log record as `telemetry-stack sanitize` reads and writes it. */
export interface PlainRecord {
  body: string;
  attributes: Record<string, string | number | boolean>;
  /** The OTLP LogRecord eventName field (newer clients name events there). */
  eventName?: string;
}

/** The SDK's log records with exactly these bodies and attributes. */
export async function logRecords(records: readonly PlainRecord[], resource: Record<string, string> = {}): Promise<ReadableLogRecord[]> {
  const memory = new InMemoryLogRecordExporter();
  const provider = new LoggerProvider({
    resource: resourceFromAttributes({ ...CLAUDE_CODE_RESOURCE, ...resource }),
    processors: [new SimpleLogRecordProcessor({ exporter: memory })],
    logRecordLimits: { attributeValueLengthLimit: Infinity, attributeCountLimit: 1000 },
  });
  const logger = provider.getLogger(METER, CLAUDE_CODE_RESOURCE['service.version']);
  for (const record of records) logger.emit({ body: record.body, attributes: record.attributes as AnyValueMap, ...(record.eventName ? { eventName: record.eventName } : {}) });
  await provider.forceFlush();
  const finished = [...memory.getFinishedLogRecords()];
  await provider.shutdown();
  return finished;
}

/** The SDK's log records for these events, as Claude Code would emit them. */
export function eventRecords(events: readonly ClaudeCodeEvent[], resource: Record<string, string> = {}): Promise<ReadableLogRecord[]> {
  const timestamp = new Date().toISOString();
  return logRecords(
    events.map((event, sequence) => ({
      body: `claude_code.${event.name}`,
      attributes: { 'event.name': event.name, 'event.timestamp': timestamp, 'event.sequence': sequence, ...event.attributes },
    })),
    resource,
  );
}

export async function sendEvents(target: Target, events: readonly ClaudeCodeEvent[], resource: Record<string, string> = {}): Promise<ExportResult> {
  return exportWith(logExporter(target), await eventRecords(events, resource));
}

/** Sends already built records (large bursts reuse one build) in batches of `batchSize`; stops at the first failure. */
export async function sendEventRecords(target: Target, records: readonly ReadableLogRecord[], batchSize = 2_000): Promise<ExportResult> {
  const exporter = logExporter(target);
  try {
    for (let start = 0; start < records.length; start += batchSize) {
      const result = await new Promise<ExportResult>((resolve) => exporter.export(records.slice(start, start + batchSize), resolve));
      if (result.code !== ExportResultCode.SUCCESS) return result;
    }
    return { code: ExportResultCode.SUCCESS };
  } finally {
    await exporter.shutdown();
  }
}

/** One delta collection of monotonic counters, as Claude Code's periodic reader exports it. */
export async function metricRecords(points: readonly ClaudeCodeMetricPoint[], resource: Record<string, string> = {}): Promise<ResourceMetrics> {
  const memory = new InMemoryMetricExporter(AggregationTemporality.DELTA);
  const reader = new PeriodicExportingMetricReader({ exporter: memory, exportIntervalMillis: 3_600_000 });
  const provider = new MeterProvider({ resource: resourceFromAttributes({ ...CLAUDE_CODE_RESOURCE, ...resource }), readers: [reader] });
  const meter = provider.getMeter(METER, CLAUDE_CODE_RESOURCE['service.version']);
  const counters = new Map<string, ReturnType<typeof meter.createCounter>>();
  for (const point of points) {
    let counter = counters.get(point.metric);
    if (!counter) {
      counter = meter.createCounter(point.metric, { unit: METRIC_UNITS[point.metric] ?? '' });
      counters.set(point.metric, counter);
    }
    counter.add(point.value, point.attributes);
  }
  await provider.forceFlush();
  const collected = memory.getMetrics();
  await provider.shutdown();
  if (collected.length !== 1) throw new Error(`expected one metrics collection, got ${collected.length}`);
  return collected[0]!;
}

export async function sendMetrics(target: Target, points: readonly ClaudeCodeMetricPoint[], resource: Record<string, string> = {}): Promise<ExportResult> {
  return exportWith(metricExporter(target), await metricRecords(points, resource));
}

/** A failed export's status: HTTP status for OTLP/HTTP, gRPC status code for gRPC. */
export function failureCode(result: ExportResult): number | undefined {
  if (result.code === ExportResultCode.SUCCESS) return undefined;
  const error = result.error as (Error & { code?: number }) | undefined;
  return error?.code;
}

export { ExportResultCode };
