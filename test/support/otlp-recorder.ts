/**
 * A recording pass-through for OTLP/HTTP between a client and the collector: every request is
 * forwarded byte for byte (headers included, so authentication is the collector's business) and
 * the collector's answer is returned unchanged; what the client sent is decoded and kept, with the
 * fields the downstream sink flattens away (the OTLP `eventName`, severity, the scope, value
 * types, units, temporality). This is how a test sees the real Claude Code client's own wire
 * output and the collector's verdict on it in one run.
 *
 * Decodes OTLP/HTTP protobuf (the default of `telemetry-stack env`) with a small reader of the
 * protobuf wire format for the OTLP logs and metrics messages, and OTLP/HTTP JSON; gzip bodies too.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import type { AttributeValue, Attributes } from '../../harness/otlp-sink.ts';
import { closeServer, listenOnLoopback } from '../../harness/local-server.ts';

export type ValueType = 'string' | 'int' | 'double' | 'bool' | 'array' | 'kvlist' | 'bytes' | 'empty';

export interface Scope {
  readonly name: string;
  readonly version: string;
}

export interface RecordedLogRecord {
  readonly resource: Attributes;
  readonly resourceTypes: Record<string, ValueType>;
  readonly scope: Scope;
  readonly attributes: Attributes;
  readonly attributeTypes: Record<string, ValueType>;
  readonly body: AttributeValue;
  /** The OTLP LogRecord `event_name` field ('' when unset). */
  readonly eventName: string;
  readonly severityNumber: number;
  readonly severityText: string;
}

export interface RecordedPoint {
  readonly metric: string;
  readonly unit: string;
  readonly description: string;
  readonly kind: 'sum' | 'gauge' | 'histogram' | 'exponentialHistogram' | 'summary';
  /** 0 unspecified, 1 delta, 2 cumulative. */
  readonly temporality: number;
  readonly monotonic: boolean;
  readonly resource: Attributes;
  readonly scope: Scope;
  readonly attributes: Attributes;
  readonly attributeTypes: Record<string, ValueType>;
  /** The number of a sum or gauge point; the count of a histogram point. */
  readonly value: number;
  readonly valueType: 'int' | 'double' | 'count';
}

export interface RecordedExport {
  readonly path: string;
  readonly contentType: string;
  readonly authorization: string | undefined;
  /** The collector's answer (or 502 when it could not be reached). */
  readonly status: number;
  readonly logs: RecordedLogRecord[];
  readonly points: RecordedPoint[];
  /** Why the body could not be decoded, if it could not. */
  readonly decodeError?: string;
}

export class OtlpRecorder {
  readonly exports: RecordedExport[] = [];
  private readonly upstream: string;
  private server: Server | undefined;
  private port = 0;

  /** `upstream`: the collector's OTLP/HTTP receiver, e.g. http://127.0.0.1:4318. */
  constructor(upstream: string) {
    this.upstream = upstream;
  }

  get endpoint(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Records the collector accepted (2xx). */
  get acceptedLogs(): RecordedLogRecord[] {
    return this.exports.filter((e) => e.status >= 200 && e.status < 300).flatMap((e) => e.logs);
  }

  get acceptedPoints(): RecordedPoint[] {
    return this.exports.filter((e) => e.status >= 200 && e.status < 300).flatMap((e) => e.points);
  }

  get allLogs(): RecordedLogRecord[] {
    return this.exports.flatMap((e) => e.logs);
  }

  get allPoints(): RecordedPoint[] {
    return this.exports.flatMap((e) => e.points);
  }

  clear(): void {
    this.exports.length = 0;
  }

  async start(): Promise<this> {
    const upstream = new URL(this.upstream);
    const server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks);
        const headers: IncomingHttpHeaders = { ...request.headers, host: upstream.host };
        const forward = httpRequest(
          { host: upstream.hostname, port: upstream.port, method: request.method, path: request.url, headers },
          (answer) => {
            const parts: Buffer[] = [];
            answer.on('data', (chunk: Buffer) => parts.push(chunk));
            answer.on('end', () => {
              this.record(request.url ?? '/', request.headers, body, answer.statusCode ?? 0);
              response.writeHead(answer.statusCode ?? 502, answer.headers).end(Buffer.concat(parts));
            });
          },
        );
        forward.on('error', (error) => {
          this.record(request.url ?? '/', request.headers, body, 502);
          response.writeHead(502).end(String(error));
        });
        forward.end(body);
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

  private record(url: string, headers: IncomingHttpHeaders, raw: Buffer, status: number): void {
    const path = new URL(url, 'http://x').pathname;
    const contentType = String(headers['content-type'] ?? '');
    const authorization = headers.authorization;
    try {
      const body = headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const json = contentType.includes('json');
      const logs = path.endsWith('/v1/logs') ? (json ? logsFromJson(JSON.parse(body.toString('utf8'))) : logsFromProto(body)) : [];
      const points = path.endsWith('/v1/metrics') ? (json ? pointsFromJson(JSON.parse(body.toString('utf8'))) : pointsFromProto(body)) : [];
      this.exports.push({ path, contentType, authorization, status, logs, points });
    } catch (error) {
      this.exports.push({ path, contentType, authorization, status, logs: [], points: [], decodeError: String(error) });
    }
  }
}

// ---- protobuf wire format --------------------------------------------------------------------

type FieldValue = bigint | Buffer;
interface Field {
  readonly no: number;
  readonly wire: number;
  readonly value: FieldValue;
}

function readVarint(buf: Buffer, at: { pos: number }): bigint {
  let result = 0n;
  let shift = 0n;
  for (;;) {
    if (at.pos >= buf.length) throw new Error('truncated varint');
    const byte = buf[at.pos++]!;
    result |= BigInt(byte & 0x7f) << shift;
    if ((byte & 0x80) === 0) return result;
    shift += 7n;
  }
}

function fields(buf: Buffer): Field[] {
  const out: Field[] = [];
  const at = { pos: 0 };
  while (at.pos < buf.length) {
    const key = Number(readVarint(buf, at));
    const no = key >>> 3;
    const wire = key & 7;
    if (wire === 0) out.push({ no, wire, value: readVarint(buf, at) });
    else if (wire === 1) {
      out.push({ no, wire, value: buf.subarray(at.pos, at.pos + 8) });
      at.pos += 8;
    } else if (wire === 2) {
      const length = Number(readVarint(buf, at));
      out.push({ no, wire, value: buf.subarray(at.pos, at.pos + length) });
      at.pos += length;
    } else if (wire === 5) {
      out.push({ no, wire, value: buf.subarray(at.pos, at.pos + 4) });
      at.pos += 4;
    } else throw new Error(`unsupported protobuf wire type ${wire}`);
  }
  return out;
}

const bytesOf = (list: Field[], no: number): Buffer[] => list.filter((f) => f.no === no && f.wire === 2).map((f) => f.value as Buffer);
const firstBytes = (list: Field[], no: number): Buffer | undefined => bytesOf(list, no)[0];
const str = (list: Field[], no: number): string => firstBytes(list, no)?.toString('utf8') ?? '';
const varint = (list: Field[], no: number): bigint => (list.find((f) => f.no === no && f.wire === 0)?.value as bigint | undefined) ?? 0n;
const fixed64 = (list: Field[], no: number): Buffer | undefined => list.find((f) => f.no === no && f.wire === 1)?.value as Buffer | undefined;

function anyValueProto(buf: Buffer): [AttributeValue, ValueType] {
  const list = fields(buf);
  const field = list[0];
  if (!field) return [null, 'empty'];
  switch (field.no) {
    case 1:
      return [(field.value as Buffer).toString('utf8'), 'string'];
    case 2:
      return [(field.value as bigint) !== 0n, 'bool'];
    case 3:
      return [Number(BigInt.asIntN(64, field.value as bigint)), 'int'];
    case 4:
      return [(field.value as Buffer).readDoubleLE(0), 'double'];
    case 5:
      return [bytesOf(fields(field.value as Buffer), 1).map((v) => anyValueProto(v)[0]), 'array'];
    case 6:
      return [keyValuesProto(bytesOf(fields(field.value as Buffer), 1)).values, 'kvlist'];
    case 7:
      return [(field.value as Buffer).toString('base64'), 'bytes'];
    default:
      return [null, 'empty'];
  }
}

function keyValuesProto(list: Buffer[]): { values: Attributes; types: Record<string, ValueType> } {
  const values: Attributes = {};
  const types: Record<string, ValueType> = {};
  for (const kv of list) {
    const parts = fields(kv);
    const key = str(parts, 1);
    const value = firstBytes(parts, 2);
    const [decoded, type] = value ? anyValueProto(value) : [null, 'empty' as const];
    values[key] = decoded;
    types[key] = type;
  }
  return { values, types };
}

function scopeProto(buf: Buffer | undefined): Scope {
  if (!buf) return { name: '', version: '' };
  const list = fields(buf);
  return { name: str(list, 1), version: str(list, 2) };
}

function logsFromProto(buf: Buffer): RecordedLogRecord[] {
  const out: RecordedLogRecord[] = [];
  for (const resourceLogs of bytesOf(fields(buf), 1)) {
    const rl = fields(resourceLogs);
    const resourceBuf = firstBytes(rl, 1);
    const resource = keyValuesProto(resourceBuf ? bytesOf(fields(resourceBuf), 1) : []);
    for (const scopeLogs of bytesOf(rl, 2)) {
      const sl = fields(scopeLogs);
      const scope = scopeProto(firstBytes(sl, 1));
      for (const recordBuf of bytesOf(sl, 2)) {
        const record = fields(recordBuf);
        const attributes = keyValuesProto(bytesOf(record, 6));
        const bodyBuf = firstBytes(record, 5);
        out.push({
          resource: resource.values,
          resourceTypes: resource.types,
          scope,
          attributes: attributes.values,
          attributeTypes: attributes.types,
          body: bodyBuf ? anyValueProto(bodyBuf)[0] : null,
          eventName: str(record, 12),
          severityNumber: Number(varint(record, 2)),
          severityText: str(record, 3),
        });
      }
    }
  }
  return out;
}

const METRIC_KINDS: Record<number, RecordedPoint['kind']> = { 5: 'gauge', 7: 'sum', 9: 'histogram', 10: 'exponentialHistogram', 11: 'summary' };

function pointsFromProto(buf: Buffer): RecordedPoint[] {
  const out: RecordedPoint[] = [];
  for (const resourceMetrics of bytesOf(fields(buf), 1)) {
    const rm = fields(resourceMetrics);
    const resourceBuf = firstBytes(rm, 1);
    const resource = keyValuesProto(resourceBuf ? bytesOf(fields(resourceBuf), 1) : []).values;
    for (const scopeMetrics of bytesOf(rm, 2)) {
      const sm = fields(scopeMetrics);
      const scope = scopeProto(firstBytes(sm, 1));
      for (const metricBuf of bytesOf(sm, 2)) {
        const metric = fields(metricBuf);
        const data = metric.find((f) => METRIC_KINDS[f.no] !== undefined && f.wire === 2);
        if (!data) continue;
        const kind = METRIC_KINDS[data.no]!;
        const body = fields(data.value as Buffer);
        for (const pointBuf of bytesOf(body, 1)) {
          const point = fields(pointBuf);
          // NumberDataPoint keeps attributes in field 7, the histogram kinds in field 9.
          const attributes = keyValuesProto(bytesOf(point, kind === 'sum' || kind === 'gauge' ? 7 : 9));
          let value = 0;
          let valueType: RecordedPoint['valueType'] = 'count';
          if (kind === 'sum' || kind === 'gauge') {
            const double = fixed64(point, 4);
            const int = fixed64(point, 6);
            if (double) [value, valueType] = [double.readDoubleLE(0), 'double'];
            else if (int) [value, valueType] = [Number(int.readBigInt64LE(0)), 'int'];
          } else value = Number(fixed64(point, 4)?.readBigUInt64LE(0) ?? 0n);
          out.push({
            metric: str(metric, 1),
            description: str(metric, 2),
            unit: str(metric, 3),
            kind,
            temporality: kind === 'gauge' ? 0 : Number(varint(body, 2)),
            monotonic: kind === 'sum' && varint(body, 3) !== 0n,
            resource,
            scope,
            attributes: attributes.values,
            attributeTypes: attributes.types,
            value,
            valueType,
          });
        }
      }
    }
  }
  return out;
}

// ---- OTLP/JSON --------------------------------------------------------------------------------

interface JsonAny {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: JsonAny[] };
  kvlistValue?: { values?: { key: string; value?: JsonAny }[] };
  bytesValue?: string;
}

function anyValueJson(value: JsonAny | undefined): [AttributeValue, ValueType] {
  if (!value) return [null, 'empty'];
  if (value.stringValue !== undefined) return [value.stringValue, 'string'];
  if (value.intValue !== undefined) return [Number(value.intValue), 'int'];
  if (value.doubleValue !== undefined) return [value.doubleValue, 'double'];
  if (value.boolValue !== undefined) return [value.boolValue, 'bool'];
  if (value.arrayValue) return [(value.arrayValue.values ?? []).map((v) => anyValueJson(v)[0]), 'array'];
  if (value.kvlistValue) return [keyValuesJson(value.kvlistValue.values).values, 'kvlist'];
  if (value.bytesValue !== undefined) return [value.bytesValue, 'bytes'];
  return [null, 'empty'];
}

function keyValuesJson(list: { key: string; value?: JsonAny }[] | undefined): { values: Attributes; types: Record<string, ValueType> } {
  const values: Attributes = {};
  const types: Record<string, ValueType> = {};
  for (const { key, value } of list ?? []) [values[key], types[key]] = anyValueJson(value);
  return { values, types };
}

const temporalityJson = (value: unknown): number =>
  typeof value === 'number' ? value : typeof value === 'string' ? (value.endsWith('DELTA') ? 1 : value.endsWith('CUMULATIVE') ? 2 : 0) : 0;

function logsFromJson(payload: any): RecordedLogRecord[] {
  const out: RecordedLogRecord[] = [];
  for (const rl of payload.resourceLogs ?? []) {
    const resource = keyValuesJson(rl.resource?.attributes);
    for (const sl of rl.scopeLogs ?? []) {
      const scope = { name: sl.scope?.name ?? '', version: sl.scope?.version ?? '' };
      for (const record of sl.logRecords ?? []) {
        const attributes = keyValuesJson(record.attributes);
        out.push({
          resource: resource.values,
          resourceTypes: resource.types,
          scope,
          attributes: attributes.values,
          attributeTypes: attributes.types,
          body: anyValueJson(record.body)[0],
          eventName: record.eventName ?? '',
          severityNumber: Number(record.severityNumber ?? 0),
          severityText: record.severityText ?? '',
        });
      }
    }
  }
  return out;
}

function pointsFromJson(payload: any): RecordedPoint[] {
  const out: RecordedPoint[] = [];
  for (const rm of payload.resourceMetrics ?? []) {
    const resource = keyValuesJson(rm.resource?.attributes).values;
    for (const sm of rm.scopeMetrics ?? []) {
      const scope = { name: sm.scope?.name ?? '', version: sm.scope?.version ?? '' };
      for (const metric of sm.metrics ?? []) {
        const kind = (['sum', 'gauge', 'histogram', 'exponentialHistogram', 'summary'] as const).find((k) => metric[k] !== undefined);
        if (!kind) continue;
        const data = metric[kind];
        for (const point of data.dataPoints ?? []) {
          const attributes = keyValuesJson(point.attributes);
          const isNumber = kind === 'sum' || kind === 'gauge';
          out.push({
            metric: metric.name,
            description: metric.description ?? '',
            unit: metric.unit ?? '',
            kind,
            temporality: temporalityJson(data.aggregationTemporality),
            monotonic: data.isMonotonic === true,
            resource,
            scope,
            attributes: attributes.values,
            attributeTypes: attributes.types,
            value: isNumber ? Number(point.asDouble ?? point.asInt ?? 0) : Number(point.count ?? 0),
            valueType: isNumber ? (point.asDouble !== undefined ? 'double' : 'int') : 'count',
          });
        }
      }
    }
  }
  return out;
}
