/**
 * The environment Claude Code needs to send telemetry to a stack, as shell exports or as
 * the `env` block of managed-settings.json. Pure: the command reads the cluster, this
 * decides what to print (see docs/shared reference on Claude Code's telemetry switches).
 */
import type { Level } from '../../api/spec.ts';
import type { TelemetryStack } from '../../api/resource.ts';
import { PORTS, stackNames } from '../../charts/naming.ts';

export const OTLP_PROTOCOLS = ['http/protobuf', 'grpc'] as const;
export type OtlpProtocol = (typeof OTLP_PROTOCOLS)[number];

/** Claude Code's own default intervals, set explicitly so that a profile elsewhere cannot make them surprising. */
export const METRIC_EXPORT_INTERVAL_MS = 60_000;
export const LOGS_EXPORT_INTERVAL_MS = 5_000;

export interface CollectorEndpoint {
  readonly url: string;
  /** "host": a NodePort that the kind config maps to localhost; "cluster": a Service address reachable only from inside the cluster. */
  readonly reachableFrom: 'host' | 'cluster';
}

/**
 * Where a client sends OTLP. A NodePort stack is reached on localhost at the node port
 * (kind/cluster.yaml maps each node port to the same host port); a ClusterIP stack at its
 * Service's DNS name, which only works inside the cluster (or behind an ingress: --endpoint).
 */
export function collectorEndpoint(stack: TelemetryStack, protocol: OtlpProtocol): CollectorEndpoint {
  const service = stack.spec.collector.service;
  const grpc = protocol === 'grpc';
  // The receivers speak TLS when the stack sets collector.tls.
  const scheme = stack.spec.collector.tls ? 'https' : 'http';
  if (service.type === 'NodePort') {
    return { url: `${scheme}://localhost:${grpc ? service.nodePorts.otlpGrpc : service.nodePorts.otlpHttp}`, reachableFrom: 'host' };
  }
  const host = `${stackNames(stack.metadata.name).collector}.${stack.metadata.namespace ?? 'default'}.svc.cluster.local`;
  return { url: `${scheme}://${host}:${grpc ? PORTS.otlpGrpc : PORTS.otlpHttp}`, reachableFrom: 'cluster' };
}

/**
 * key=value pairs in the W3C Baggage format, percent-encoded: for OTEL_RESOURCE_ATTRIBUTES, whose
 * values Claude Code percent-decodes (as the OpenTelemetry SDKs do).
 */
export function otlpHeaders(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([key, value]) => `${encodeURIComponent(key)}=${encodeURIComponent(value)}`)
    .join(',');
}

/**
 * OTEL_EXPORTER_OTLP_HEADERS as Claude Code reads it: pairs split at "," and at the first "=",
 * trimmed, and not percent-decoded (2.1.328 sends "Basic%20<b64>" verbatim, and the collector
 * answers 401; test/real-client.test.ts). The OpenTelemetry SDKs percent-decode, which leaves a
 * value without "%" unchanged, so raw values mean the same to both. A value that either would
 * read differently (a ",", "%" or line break) is a bug here, never a user's input.
 */
export function clientHeaders(headers: Record<string, string>): string {
  return Object.entries(headers)
    .map(([key, value]) => {
      if (!/^[A-Za-z0-9-]+$/.test(key) || /[,%\r\n]/.test(value)) throw new Error(`header ${key} cannot be written to OTEL_EXPORTER_OTLP_HEADERS unambiguously`);
      return `${key}=${value}`;
    })
    .join(',');
}

/** What free text Claude Code attaches to events, by the stack's level. The stack drops it anyway when the level forbids it; this keeps it off the wire. */
function contentFlags(level: Level): Record<string, string> {
  const full = level === 'full' ? '1' : '0';
  return {
    OTEL_LOG_USER_PROMPTS: full,
    OTEL_LOG_TOOL_DETAILS: full,
    OTEL_LOG_ASSISTANT_RESPONSES: full,
  };
}

export interface ClientEnvInput {
  readonly stack: TelemetryStack;
  /** The user's ready `Basic ...` value from their Secret. */
  readonly authorization: string;
  readonly endpoint: string;
  readonly protocol: OtlpProtocol;
  /** Extra key=value pairs for OTEL_RESOURCE_ATTRIBUTES (team, cost centre), already validated. */
  readonly resourceAttributes?: Readonly<Record<string, string>>;
}

/** The variables in the order a person reads them: switch, exporters, where, who, how often, what. */
export function clientEnv(input: ClientEnvInput): Record<string, string> {
  const level = input.stack.spec.level;
  const env: Record<string, string> = {
    CLAUDE_CODE_ENABLE_TELEMETRY: '1',
    OTEL_METRICS_EXPORTER: 'otlp',
    // Level basic stores metrics only: do not send events the collector would drop.
    OTEL_LOGS_EXPORTER: level === 'basic' ? 'none' : 'otlp',
    OTEL_EXPORTER_OTLP_PROTOCOL: input.protocol,
    OTEL_EXPORTER_OTLP_ENDPOINT: input.endpoint,
    OTEL_EXPORTER_OTLP_HEADERS: clientHeaders({ Authorization: input.authorization }),
    OTEL_METRIC_EXPORT_INTERVAL: String(METRIC_EXPORT_INTERVAL_MS),
    OTEL_LOGS_EXPORT_INTERVAL: String(LOGS_EXPORT_INTERVAL_MS),
    // The stack's queries sum delta points; say so explicitly rather than rely on the client default.
    OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE: 'delta',
    ...(level === 'basic' ? {} : contentFlags(level)),
  };
  const attributes = Object.entries(input.resourceAttributes ?? {});
  if (attributes.length > 0) env.OTEL_RESOURCE_ATTRIBUTES = otlpHeaders(Object.fromEntries(attributes));
  return env;
}

/** `export K='v'` lines; single quotes so that no character of a value is interpreted by the shell. */
export function shellExports(env: Record<string, string>, comment: string): string {
  const quote = (value: string) => `'${value.replace(/'/g, `'\\''`)}'`;
  return `# ${comment}\n${Object.entries(env)
    .map(([key, value]) => `export ${key}=${quote(value)}`)
    .join('\n')}\n`;
}

/** The block for managed-settings.json (/etc/claude-code/ on Linux, /Library/Application Support/ClaudeCode/ on macOS). */
export function managedSettings(env: Record<string, string>): string {
  return `${JSON.stringify({ env }, null, 2)}\n`;
}

/** Parses "team=payments,cost_center=42" (--resource-attributes); undefined with the problem when malformed. */
export function parseResourceAttributes(text: string): { ok: true; value: Record<string, string> } | { ok: false; problem: string } {
  const value: Record<string, string> = {};
  for (const pair of text.split(',').filter((p) => p.trim() !== '')) {
    const index = pair.indexOf('=');
    const key = index === -1 ? '' : pair.slice(0, index).trim();
    if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(key) || index === pair.length - 1) {
      return { ok: false, problem: `"${pair}" is not key=value (keys: letters, digits, "_", ".", "-")` };
    }
    value[key] = pair.slice(index + 1).trim();
  }
  return { ok: true, value };
}
