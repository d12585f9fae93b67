/**
 * The downstream the tests control in place of ClickHouse: an OTLP/HTTP (JSON) server that
 * keeps every record it receives, flattened to the shape the ClickHouse exporter stores
 * (resource attributes, attributes, body / value). It can be stopped and started again on the
 * same port to simulate an outage.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import { closeServer, listenOnLoopback } from './local-server.ts';

export type AttributeValue = string | number | boolean | null | AttributeValue[] | { [key: string]: AttributeValue };
export type Attributes = Record<string, AttributeValue>;

export interface StoredLog {
  resource: Attributes;
  attributes: Attributes;
  body: AttributeValue;
}

export interface StoredPoint {
  metric: string;
  resource: Attributes;
  attributes: Attributes;
  value: number;
  /** 1 delta, 2 cumulative (as the exporter's AggregationTemporality column). */
  temporality: number;
}

interface AnyValue {
  stringValue?: string;
  intValue?: string | number;
  doubleValue?: number;
  boolValue?: boolean;
  arrayValue?: { values?: AnyValue[] };
  kvlistValue?: { values?: KeyValue[] };
}
interface KeyValue {
  key: string;
  value?: AnyValue;
}

function fromAny(value: AnyValue | undefined): AttributeValue {
  if (!value) return null;
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(fromAny);
  if (value.kvlistValue) return fromAttributes(value.kvlistValue.values);
  return null;
}

export function fromAttributes(list: KeyValue[] | undefined): Attributes {
  const out: Attributes = {};
  for (const { key, value } of list ?? []) out[key] = fromAny(value);
  return out;
}

const RECORD_MARKER = Buffer.from('"observedTimeUnixNano"');

/** Every OTLP/JSON log record the collector writes carries exactly one observedTimeUnixNano. */
function countLogRecords(body: Buffer): number {
  let count = 0;
  for (let at = body.indexOf(RECORD_MARKER); at !== -1; at = body.indexOf(RECORD_MARKER, at + RECORD_MARKER.length)) count++;
  return count;
}

export class OtlpSink {
  readonly logs: StoredLog[] = [];
  readonly points: StoredPoint[] = [];
  private server: Server | undefined;
  private port = 0;
  /** HTTP status to answer with instead of accepting (e.g. 503), or undefined to accept. */
  failWith: number | undefined;
  /** Benchmarks: count log records without decoding or keeping them, so the sink is never the bottleneck. */
  countOnly = false;
  countedLogs = 0;
  /** The Authorization header of every request, in order (undefined when there was none). */
  readonly authorizations: (string | undefined)[] = [];

  private readonly tls: { cert: string; key: string } | undefined;

  /** With `tls`, the sink serves HTTPS with this PEM certificate and key. */
  constructor(tls?: { cert: string; key: string }) {
    this.tls = tls;
  }

  get endpoint(): string {
    return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    const handler = (request: IncomingMessage, response: ServerResponse) => {
      this.authorizations.push(request.headers.authorization);
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        if (this.failWith !== undefined) {
          response.writeHead(this.failWith).end();
          return;
        }
        if (this.countOnly) {
          this.countedLogs += countLogRecords(Buffer.concat(chunks));
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
          return;
        }
        try {
          const payload = JSON.parse(Buffer.concat(chunks).toString('utf8'));
          if (request.url === '/v1/logs') this.addLogs(payload);
          else if (request.url === '/v1/metrics') this.addMetrics(payload);
          else {
            response.writeHead(404).end();
            return;
          }
          response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
        } catch (error) {
          response.writeHead(400).end(String(error));
        }
      });
    };
    const server = this.tls ? createTlsServer({ cert: this.tls.cert, key: this.tls.key }, handler) : createServer(handler);
    this.port = await listenOnLoopback(server, this.port);
    this.server = server;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    await closeServer(server);
  }

  clear(): void {
    this.logs.length = 0;
    this.points.length = 0;
  }

  private addLogs(payload: any): void {
    for (const resourceLogs of payload.resourceLogs ?? []) {
      const resource = fromAttributes(resourceLogs.resource?.attributes);
      for (const scopeLogs of resourceLogs.scopeLogs ?? []) {
        for (const record of scopeLogs.logRecords ?? []) {
          this.logs.push({ resource, attributes: fromAttributes(record.attributes), body: fromAny(record.body) });
        }
      }
    }
  }

  private addMetrics(payload: any): void {
    for (const resourceMetrics of payload.resourceMetrics ?? []) {
      const resource = fromAttributes(resourceMetrics.resource?.attributes);
      for (const scopeMetrics of resourceMetrics.scopeMetrics ?? []) {
        for (const metric of scopeMetrics.metrics ?? []) {
          const data = metric.sum ?? metric.gauge;
          const temporality = metric.sum?.aggregationTemporality ?? 0;
          for (const point of data?.dataPoints ?? []) {
            this.points.push({
              metric: metric.name,
              resource,
              attributes: fromAttributes(point.attributes),
              value: point.asDouble ?? Number(point.asInt ?? 0),
              temporality: typeof temporality === 'string' ? (temporality.endsWith('DELTA') ? 1 : 2) : temporality,
            });
          }
        }
      }
    }
  }
}

/** Polls until `done()` holds or the time is up; returns whether it held. */
export async function waitFor(done: () => boolean, timeoutMs: number, intervalMs = 100): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
  return true;
}
