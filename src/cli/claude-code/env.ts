/**
 * The environment Claude Code needs to send telemetry to a stack, as shell exports or as
 * the `env` block of managed-settings.json. Pure: the command reads the cluster, this
 * decides what to print (see docs/shared reference on Claude Code's telemetry switches).
 */
import type { Level } from '../../api/spec.ts';
import type { TelemetryStack } from '../../api/resource.ts';
import { PORTS, stackNames } from '../../stack/naming.ts';

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

export const TEMPORALITIES = ['delta', 'cumulative'] as const;
export type Temporality = (typeof TEMPORALITIES)[number];

/**
 * A client switch the exports set, its value for a level, and why: the reason is what `env` tells a
 * user whose own environment says otherwise (envNotes), so this table is also the documentation.
 * Claude Code 2.1.328 reads every name here (they are in its binary).
 */
interface Switch {
  readonly name: string;
  /** Undefined: not exported at this level. */
  readonly value: (level: Level, temporality: Temporality) => string | undefined;
  readonly why: (level: Level) => string;
}

const onlyFull = (level: Level) => (level === 'full' ? '1' : '0');
const trueAtFull = (level: Level) => (level === 'full' ? 'true' : 'false');
/** Level basic sends no events, so the event switches are not exported there. */
const withEvents = (value: (level: Level) => string) => (level: Level) => (level === 'basic' ? undefined : value(level));

function contentWhy(level: Level, what: string): string {
  return level === 'full' ? `level full stores ${what}` : `level ${level} does not store ${what}`;
}

function identifierWhy(level: Level, what: string): string {
  return level === 'full' ? `level full keeps ${what}` : `below level full the stack leaves out ${what}: it knows you by your credential`;
}

export const CLIENT_SWITCHES: readonly Switch[] = [
  {
    name: 'OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE',
    value: (_level, temporality) => temporality,
    why: () => 'the stack stores delta and cumulative points alike; choose with env --temporality',
  },
  {
    name: 'OTEL_TRACES_EXPORTER',
    value: () => 'none',
    why: () => 'this stack stores logs and metrics, not traces: its collector has no traces pipeline, so spans sent to it are refused',
  },
  // Content is on only where the level stores it: the collector removes it anyway; this keeps it off the wire.
  { name: 'OTEL_LOG_USER_PROMPTS', value: withEvents(onlyFull), why: (level) => contentWhy(level, 'prompts') },
  { name: 'OTEL_LOG_TOOL_DETAILS', value: withEvents(onlyFull), why: (level) => contentWhy(level, 'tool parameters (commands, file paths)') },
  { name: 'OTEL_LOG_ASSISTANT_RESPONSES', value: withEvents(onlyFull), why: (level) => contentWhy(level, 'model responses') },
  {
    name: 'OTEL_LOG_RAW_API_BODIES',
    value: withEvents(() => '0'),
    why: (level) =>
      level === 'full'
        ? 'raw API bodies repeat the whole conversation in every request (each stored truncated to 16 KiB); set it to 1 after these lines if you want them'
        : contentWhy(level, 'raw API bodies'),
  },
  // The session id is what the session reports group by (2.1.x also drops it from events when
  // this is false); the version shows which client sent what; the entrypoint tells CLI from SDK.
  { name: 'OTEL_METRICS_INCLUDE_SESSION_ID', value: () => 'true', why: () => 'the session reports group by session.id (false removes it from events too)' },
  { name: 'OTEL_METRICS_INCLUDE_VERSION', value: () => 'true', why: () => 'the reports and the drift check show which client version sent what' },
  { name: 'OTEL_METRICS_INCLUDE_ENTRYPOINT', value: () => 'true', why: () => 'the reports tell CLI, SDK and IDE sessions apart' },
  // Identifiers the reports do not need below full: the collector stamps the authenticated user on every record.
  { name: 'OTEL_METRICS_INCLUDE_ACCOUNT_UUID', value: trueAtFull, why: (level) => identifierWhy(level, 'the Anthropic account uuid') },
  { name: 'OTEL_METRICS_INCLUDE_REPOSITORY', value: trueAtFull, why: (level) => identifierWhy(level, 'repository names, URLs and branches') },
  { name: 'OTEL_RESOURCE_INCLUDE_HOST', value: trueAtFull, why: (level) => identifierWhy(level, 'the machine name and id') },
];

/**
 * Variables that take precedence over the exports for one signal (where it goes, with which
 * header, in which protocol): with one of these in a profile, that signal never reaches the stack.
 */
export const OVERRIDING_VARIABLES: readonly string[] = ['LOGS', 'METRICS'].flatMap((signal) =>
  ['ENDPOINT', 'HEADERS', 'PROTOCOL'].map((part) => `OTEL_EXPORTER_OTLP_${signal}_${part}`),
);

/** The client's beta tracing switches: nothing on this stack stores what they turn on. */
export const TRACING_VARIABLES: readonly string[] = ['CLAUDE_CODE_ENHANCED_TELEMETRY_BETA', 'ENABLE_BETA_TRACING_DETAILED', 'BETA_TRACING_ENDPOINT'];

export interface ClientEnvInput {
  readonly stack: TelemetryStack;
  /** The user's ready `Basic ...` value from their Secret. */
  readonly authorization: string;
  readonly endpoint: string;
  readonly protocol: OtlpProtocol;
  /** Extra key=value pairs for OTEL_RESOURCE_ATTRIBUTES (team, cost centre), already validated. */
  readonly resourceAttributes?: Readonly<Record<string, string>>;
  /** Delta (the default, as the client's) or cumulative metric points. */
  readonly temporality?: Temporality;
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
  };
  for (const item of CLIENT_SWITCHES) {
    const value = item.value(level, input.temporality ?? 'delta');
    if (value !== undefined) env[item.name] = value;
  }
  const attributes = Object.entries(input.resourceAttributes ?? {});
  if (attributes.length > 0) env.OTEL_RESOURCE_ATTRIBUTES = otlpHeaders(Object.fromEntries(attributes));
  return env;
}

/**
 * What a user should know about the environment they run `env` in before pasting the exports:
 * variables that would send a signal elsewhere, switches that do nothing on this stack, and
 * switches whose value the exports change, with the reason. One line each; no header value.
 */
export function envNotes(level: Level, exported: Readonly<Record<string, string>>, current: NodeJS.ProcessEnv): string[] {
  const notes: string[] = [];
  for (const name of OVERRIDING_VARIABLES) {
    if (current[name]) notes.push(`note: ${name} is set in your environment and takes precedence over these exports; unset it, or that signal does not reach this stack`);
  }
  const tracing = TRACING_VARIABLES.filter((name) => current[name]);
  if (tracing.length > 0) notes.push(`note: ${tracing.join(', ')} ${tracing.length === 1 ? 'is' : 'are'} set in your environment and ${tracing.length === 1 ? 'has' : 'have'} no effect on this stack: it stores no traces`);
  for (const item of CLIENT_SWITCHES) {
    const mine = current[item.name];
    const theirs = exported[item.name];
    if (!mine || theirs === undefined || mine === theirs) continue;
    notes.push(`note: ${item.name}=${mine} in your environment becomes ${theirs}: ${item.why(level)}`);
  }
  return notes;
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
