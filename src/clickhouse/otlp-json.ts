/**
 * Loads exported telemetry (the collector file exporter's OTLP/JSON: one
 * `{"resourceLogs": ...}` or `{"resourceMetrics": ...}` object per line) into the raw
 * tables, with the same column values the collector's ClickHouse exporter writes
 * (attribute values flattened to strings, service name from the resource), so the
 * library queries see the same rows from a file as from a live stack.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { RAW_TABLES } from './tables.ts';
import type { Row, SqlTarget } from './target.ts';

// ---------------------------------------------------------------- OTLP/JSON shapes (the parts we read)

export interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  bytesValue?: string;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
export interface KeyValue {
  key: string;
  value?: AnyValue;
}
interface Scope {
  name?: string;
  version?: string;
  attributes?: KeyValue[];
}
export interface LogRecord {
  timeUnixNano?: string | number;
  observedTimeUnixNano?: string | number;
  severityNumber?: number;
  severityText?: string;
  eventName?: string;
  body?: AnyValue;
  attributes?: KeyValue[];
  flags?: number;
  traceId?: string;
  spanId?: string;
}
export interface NumberDataPoint {
  attributes?: KeyValue[];
  startTimeUnixNano?: string | number;
  timeUnixNano?: string | number;
  asDouble?: number;
  asInt?: string | number;
  flags?: number;
}
export interface Metric {
  name: string;
  description?: string;
  unit?: string;
  sum?: { dataPoints?: NumberDataPoint[]; aggregationTemporality?: number | string; isMonotonic?: boolean };
  gauge?: { dataPoints?: NumberDataPoint[] };
}
export interface ResourceLogs {
  resource?: { attributes?: KeyValue[] };
  schemaUrl?: string;
  scopeLogs?: { scope?: Scope; schemaUrl?: string; logRecords?: LogRecord[] }[];
}
export interface ResourceMetrics {
  resource?: { attributes?: KeyValue[] };
  schemaUrl?: string;
  scopeMetrics?: { scope?: Scope; schemaUrl?: string; metrics?: Metric[] }[];
}
export interface ExportLine {
  resourceLogs?: ResourceLogs[];
  resourceMetrics?: ResourceMetrics[];
}

// ---------------------------------------------------------------- conversion

/** pcommon.Value.AsString: how the exporter flattens an attribute value into Map(String, String). */
export function valueAsString(value: AnyValue | undefined): string {
  if (!value) return '';
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return String(value.boolValue);
  if (value.intValue !== undefined) return String(value.intValue);
  if (value.doubleValue !== undefined) return String(value.doubleValue);
  if (value.bytesValue !== undefined) return value.bytesValue;
  if (value.arrayValue) return JSON.stringify((value.arrayValue.values ?? []).map(plain));
  if (value.kvlistValue) return JSON.stringify(Object.fromEntries((value.kvlistValue.values ?? []).map((kv) => [kv.key, plain(kv.value)])));
  return '';
}

function plain(value: AnyValue | undefined): unknown {
  if (!value) return null;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(plain);
  if (value.kvlistValue) return Object.fromEntries((value.kvlistValue.values ?? []).map((kv) => [kv.key, plain(kv.value)]));
  return value.stringValue ?? value.bytesValue ?? null;
}

export function attributeMap(attributes: KeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of attributes ?? []) out[kv.key] = valueAsString(kv.value);
  return out;
}

/** Unix nanoseconds (string or number) as "seconds.nanoseconds", which DateTime64(9) parses exactly. */
export function nanosToDecimalSeconds(nanos: string | number | undefined): string {
  const digits = String(nanos ?? '0').replace(/^0+(?=\d)/, '');
  if (!/^\d+$/.test(digits)) throw new Error(`not a Unix nanosecond timestamp: ${String(nanos)}`);
  const padded = digits.padStart(10, '0');
  return `${padded.slice(0, -9)}.${padded.slice(-9)}`;
}

const TEMPORALITY: Record<string, number> = {
  AGGREGATION_TEMPORALITY_UNSPECIFIED: 0,
  AGGREGATION_TEMPORALITY_DELTA: 1,
  AGGREGATION_TEMPORALITY_CUMULATIVE: 2,
};

function temporality(value: number | string | undefined): number {
  if (value === undefined) return 0;
  return typeof value === 'number' ? value : (TEMPORALITY[value] ?? Number(value));
}

export interface RawRows {
  logs: Row[];
  sums: Row[];
  gauges: Row[];
}

export function rowsOf(line: ExportLine, into: RawRows = { logs: [], sums: [], gauges: [] }): RawRows {
  for (const resourceLogs of line.resourceLogs ?? []) {
    const resourceAttributes = attributeMap(resourceLogs.resource?.attributes);
    const serviceName = resourceAttributes['service.name'] ?? '';
    for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
      for (const record of scopeLogs.logRecords ?? []) {
        const time = record.timeUnixNano !== undefined && String(record.timeUnixNano) !== '0' ? record.timeUnixNano : record.observedTimeUnixNano;
        into.logs.push({
          Timestamp: nanosToDecimalSeconds(time),
          TraceId: record.traceId ?? '',
          SpanId: record.spanId ?? '',
          TraceFlags: record.flags ?? 0,
          SeverityText: record.severityText ?? '',
          SeverityNumber: record.severityNumber ?? 0,
          ServiceName: serviceName,
          Body: valueAsString(record.body),
          ResourceSchemaUrl: resourceLogs.schemaUrl ?? '',
          ResourceAttributes: resourceAttributes,
          ScopeSchemaUrl: scopeLogs.schemaUrl ?? '',
          ScopeName: scopeLogs.scope?.name ?? '',
          ScopeVersion: scopeLogs.scope?.version ?? '',
          ScopeAttributes: attributeMap(scopeLogs.scope?.attributes),
          LogAttributes: attributeMap(record.attributes),
          EventName: record.eventName ?? '',
        });
      }
    }
  }
  for (const resourceMetrics of line.resourceMetrics ?? []) {
    const resourceAttributes = attributeMap(resourceMetrics.resource?.attributes);
    const serviceName = resourceAttributes['service.name'] ?? '';
    for (const scopeMetrics of resourceMetrics.scopeMetrics ?? []) {
      for (const metric of scopeMetrics.metrics ?? []) {
        const base = {
          ResourceAttributes: resourceAttributes,
          ResourceSchemaUrl: resourceMetrics.schemaUrl ?? '',
          ScopeName: scopeMetrics.scope?.name ?? '',
          ScopeVersion: scopeMetrics.scope?.version ?? '',
          ScopeAttributes: attributeMap(scopeMetrics.scope?.attributes),
          ScopeSchemaUrl: scopeMetrics.schemaUrl ?? '',
          ServiceName: serviceName,
          MetricName: metric.name,
          MetricDescription: metric.description ?? '',
          MetricUnit: metric.unit ?? '',
        };
        const point = (dataPoint: NumberDataPoint) => ({
          ...base,
          Attributes: attributeMap(dataPoint.attributes),
          StartTimeUnix: nanosToDecimalSeconds(dataPoint.startTimeUnixNano),
          TimeUnix: nanosToDecimalSeconds(dataPoint.timeUnixNano),
          Value: dataPoint.asDouble ?? Number(dataPoint.asInt ?? 0),
          Flags: dataPoint.flags ?? 0,
        });
        if (metric.sum) {
          for (const dataPoint of metric.sum.dataPoints ?? []) {
            into.sums.push({
              ...point(dataPoint),
              AggregationTemporality: temporality(metric.sum.aggregationTemporality),
              IsMonotonic: metric.sum.isMonotonic ?? false,
            });
          }
        }
        if (metric.gauge) for (const dataPoint of metric.gauge.dataPoints ?? []) into.gauges.push(point(dataPoint));
      }
    }
  }
  return into;
}

/** The export files under `path`: the file itself, or every *.json / *.jsonl file in the folder (sorted). */
export function exportFiles(path: string): string[] {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path)
    .filter((name) => name.endsWith('.json') || name.endsWith('.jsonl'))
    .sort()
    .map((name) => join(path, name));
}

export class ExportFormatError extends Error {
  constructor(file: string, line: number, detail: string) {
    super(`${file}:${line}: ${detail}; expected one OTLP/JSON object per line ({"resourceLogs": [...]} or {"resourceMetrics": [...]}), as the collector's file exporter writes`);
    this.name = 'ExportFormatError';
  }
}

export interface LoadSummary {
  files: number;
  logRecords: number;
  metricPoints: number;
}

/** Parses the export files and inserts their records into the raw tables of `database`. */
export async function loadExport(target: SqlTarget, database: string, path: string, batchSize = 20_000): Promise<LoadSummary> {
  const files = exportFiles(path);
  const summary: LoadSummary = { files: files.length, logRecords: 0, metricPoints: 0 };
  let rows: RawRows = { logs: [], sums: [], gauges: [] };
  const flush = async () => {
    await target.insert(`${database}.${RAW_TABLES.logs}`, rows.logs);
    await target.insert(`${database}.${RAW_TABLES.metricsSum}`, rows.sums);
    await target.insert(`${database}.${RAW_TABLES.metricsGauge}`, rows.gauges);
    summary.logRecords += rows.logs.length;
    summary.metricPoints += rows.sums.length + rows.gauges.length;
    rows = { logs: [], sums: [], gauges: [] };
  };
  for (const file of files) {
    const lines = readFileSync(file, 'utf8').split('\n');
    for (const [index, text] of lines.entries()) {
      if (text.trim() === '') continue;
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch (error) {
        throw new ExportFormatError(file, index + 1, `not JSON (${(error as Error).message})`);
      }
      if (typeof parsed !== 'object' || parsed === null || (!('resourceLogs' in parsed) && !('resourceMetrics' in parsed))) {
        throw new ExportFormatError(file, index + 1, 'no resourceLogs or resourceMetrics');
      }
      rowsOf(parsed as ExportLine, rows);
      if (rows.logs.length + rows.sums.length + rows.gauges.length >= batchSize) await flush();
    }
  }
  await flush();
  return summary;
}
