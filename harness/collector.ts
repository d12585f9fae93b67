/**
 * Runs the real collector (built by scripts/test-binaries/collector.ts) on a rendered
 * configuration. Only what cannot hold outside a pod is changed: listen addresses move to free
 * loopback ports, container paths move into a temp dir, and the ClickHouse exporter is swapped
 * for an otlp_http exporter to a sink the test controls, keeping the rendered sending queue
 * (persistent storage, batching) and retry settings.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { freePorts } from './ports.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { TelemetryStack } from '../src/api/resource.ts';
import { COLLECTOR_ENV, COLLECTOR_PATHS, type CollectorConfig } from '../src/charts/collector/config.ts';
import { render } from '../src/charts/render.ts';
import { generateSecrets, SECRET_KEYS, type SecretObject } from '../src/stack/secrets.ts';
import { stackNames } from '../src/stack/naming.ts';
import { HASH_KEY_ENV } from '../src/sanitizer/compile.ts';
import { requireCollectorBinary } from '../scripts/test-binaries/collector.ts';

export const SINK_EXPORTER = 'otlp_http/sink';
const CLICKHOUSE_EXPORTER = 'clickhouse';

export interface CollectorPorts {
  grpc: number;
  http: number;
  health: number;
  metrics: number;
}

export async function collectorPorts(): Promise<CollectorPorts> {
  const [grpc, http, health, metrics] = (await freePorts(4)) as [number, number, number, number];
  return { grpc, http, health, metrics };
}

type Mutable = Record<string, any>;

/**
 * The rendered configuration made runnable on this machine. `sinkEndpoint` replaces the
 * ClickHouse exporter (and only it) by an OTLP/HTTP JSON exporter with the same queue and retry;
 * `clickhouseEndpoint` instead keeps the real ClickHouse exporter and changes only its scheme and
 * address (e.g. to http://127.0.0.1:PORT, the test's ClickHouse front), keeping the path and the
 * query (dial_timeout, ...).
 */
export function localConfig(
  rendered: CollectorConfig,
  options: { dir: string; ports: CollectorPorts; sinkEndpoint?: string; clickhouseEndpoint?: string; htpasswdFile: string; queueDir?: string; mounts?: Record<string, string> },
): Mutable {
  const config = relocate(structuredClone(rendered), options.mounts ?? {}) as Mutable;
  const { ports, dir } = options;
  const protocols = config.receivers.otlp.protocols;
  protocols.grpc.endpoint = `127.0.0.1:${ports.grpc}`;
  protocols.http.endpoint = `127.0.0.1:${ports.http}`;
  config.extensions.health_check.endpoint = `127.0.0.1:${ports.health}`;
  for (const reader of config.service.telemetry.metrics.readers) {
    reader.pull.exporter.prometheus.host = '127.0.0.1';
    reader.pull.exporter.prometheus.port = ports.metrics;
  }
  for (const extension of Object.values(config.extensions) as Mutable[]) {
    if (extension.htpasswd?.file === COLLECTOR_PATHS.htpasswdFile) extension.htpasswd.file = options.htpasswdFile;
    if (extension.directory === COLLECTOR_PATHS.queueDir) {
      const queueDir = options.queueDir ?? join(dir, 'queue');
      mkdirSync(queueDir, { recursive: true });
      extension.directory = queueDir;
      if (extension.compaction?.directory) extension.compaction.directory = queueDir;
    }
  }
  const clickhouse = config.exporters[CLICKHOUSE_EXPORTER];
  if (!clickhouse) throw new Error('rendered configuration has no clickhouse exporter');
  if (options.clickhouseEndpoint !== undefined) {
    // By hand: WHATWG URLs refuse to turn a tcp: URL into an http: one (the setter is ignored).
    const local = new URL(options.clickhouseEndpoint);
    clickhouse.endpoint = String(clickhouse.endpoint).replace(/^[a-z]+:\/\/[^/?#]*/i, `${local.protocol}//${local.host}`);
    return config;
  }
  if (options.sinkEndpoint === undefined) throw new Error('localConfig needs a sinkEndpoint or a clickhouseEndpoint');
  delete config.exporters[CLICKHOUSE_EXPORTER];
  config.exporters[SINK_EXPORTER] = {
    endpoint: options.sinkEndpoint,
    encoding: 'json',
    compression: 'none',
    timeout: clickhouse.timeout,
    retry_on_failure: clickhouse.retry_on_failure,
    sending_queue: clickhouse.sending_queue,
  };
  for (const pipeline of Object.values(config.service.pipelines) as Mutable[]) {
    pipeline.exporters = pipeline.exporters.map((id: string) => (id === CLICKHOUSE_EXPORTER ? SINK_EXPORTER : id));
  }
  return config;
}

/** Every string that starts with a mounted container directory, moved to the local directory standing in for it. */
function relocate(value: unknown, mounts: Record<string, string>): unknown {
  if (typeof value === 'string') {
    for (const [container, local] of Object.entries(mounts)) {
      if (value === container || value.startsWith(`${container}/`)) return local + value.slice(container.length);
    }
    return value;
  }
  if (Array.isArray(value)) return value.map((item) => relocate(item, mounts));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, relocate(item, mounts)]));
  return value;
}

/** The Secrets the operator would create for the stack, and the environment the pod would get from them. */
export interface StackSecrets {
  readonly secrets: SecretObject[];
  readonly htpasswd: string;
  readonly env: Record<string, string>;
  /** Authorization header value per user name. */
  readonly authorization: Record<string, string>;
}

export function stackSecrets(stack: TelemetryStack): StackSecrets {
  const secrets = generateSecrets(stack);
  const names = stackNames(stack.metadata.name);
  const byName = (name: string) => secrets.find((secret) => secret.metadata.name === name)!.stringData;
  const ingest = byName(names.clickhouseIngestSecret);
  const authorization: Record<string, string> = {};
  for (const user of stack.spec.access.users) {
    authorization[user.name] = byName(names.userSecret(user.name))[SECRET_KEYS.otlpAuthorization]!;
  }
  return {
    secrets,
    htpasswd: byName(names.ingestAuthSecret)[SECRET_KEYS.htpasswd]!,
    env: {
      [COLLECTOR_ENV.clickhouseUsername]: ingest[SECRET_KEYS.username]!,
      [COLLECTOR_ENV.clickhousePassword]: ingest[SECRET_KEYS.password]!,
      [HASH_KEY_ENV]: byName(names.sanitizerKeySecret)[SECRET_KEYS.hashKey]!,
    },
    authorization,
  };
}

export interface CollectorOptions {
  readonly stack: TelemetryStack;
  /** Where the OTLP exporter standing in for ClickHouse sends; or, with `clickhouseEndpoint`, nothing. */
  readonly sinkEndpoint?: string;
  /** Keep the real ClickHouse exporter, sent to this scheme and address (test/support/clickhouse-front.ts). */
  readonly clickhouseEndpoint?: string;
  /** Defaults to freshly generated ones. */
  readonly secrets?: StackSecrets;
  /** Reuse a directory (and so the persistent queue) from an earlier run. */
  readonly dir?: string;
  /** Where the persistent queue lives (e.g. a small filesystem); defaults to `<dir>/queue`. */
  readonly queueDir?: string;
  /** Secret volumes: container directory (e.g. COLLECTOR_PATHS.tlsDir) -> local directory with the same files. */
  readonly mounts?: Record<string, string>;
  /** Last changes to the runnable configuration, e.g. JSON encoding for an upstream exporter a test sink reads. */
  readonly configure?: (config: Mutable) => void;
  /** Extra environment, e.g. GOMAXPROCS. */
  readonly env?: Record<string, string>;
  /** Run under this command prefix, e.g. ['taskset', '-c', '0']. */
  readonly prefix?: string[];
}

export interface RunningCollector {
  /** Process id (taskset and similar prefixes exec the collector, so it is the collector's). */
  readonly pid: number;
  readonly ports: CollectorPorts;
  readonly dir: string;
  readonly secrets: StackSecrets;
  readonly config: Mutable;
  readonly grpcEndpoint: string;
  readonly httpEndpoint: string;
  /** SIGTERM (graceful: the exporter flushes into its queue), waiting for exit. */
  stop(): Promise<void>;
  /** The collector's own log, for failure messages. */
  log(): string;
}

const running = new Set<ChildProcess>();
const createdDirs = new Set<string>();

export async function startCollector(options: CollectorOptions): Promise<RunningCollector> {
  const binary = requireCollectorBinary();
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'tstack-otelcol-'));
  createdDirs.add(dir);
  const secrets = options.secrets ?? stackSecrets(options.stack);
  const htpasswdFile = join(dir, 'htpasswd');
  writeFileSync(htpasswdFile, secrets.htpasswd, { mode: 0o600 });
  const ports = await collectorPorts();
  const config = localConfig(render(options.stack).collectorConfig, {
    dir,
    ports,
    ...(options.sinkEndpoint !== undefined ? { sinkEndpoint: options.sinkEndpoint } : {}),
    ...(options.clickhouseEndpoint !== undefined ? { clickhouseEndpoint: options.clickhouseEndpoint } : {}),
    htpasswdFile,
    ...(options.queueDir ? { queueDir: options.queueDir } : {}),
    ...(options.mounts ? { mounts: options.mounts } : {}),
  });
  options.configure?.(config);
  const configFile = join(dir, 'config.yaml');
  writeFileSync(configFile, stringify(config, { lineWidth: 0 }));
  const logFile = join(dir, `collector-${randomBytes(4).toString('hex')}.log`);
  const logStream = createWriteStream(logFile);
  const [command, ...args] = [...(options.prefix ?? []), binary, `--config=${configFile}`];
  const child = spawn(command!, args, {
    env: { PATH: process.env.PATH ?? '', ...secrets.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  child.stdout!.pipe(logStream);
  child.stderr!.pipe(logStream);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => running.delete(child));
  const log = () => {
    try {
      return readFileSync(logFile, 'utf8');
    } catch {
      return '';
    }
  };

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`collector exited with ${child.exitCode} before it was healthy:\n${log()}`);
    try {
      const response = await fetch(`http://127.0.0.1:${ports.health}/`);
      if (response.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`collector not healthy within 30s:\n${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }

  return {
    pid: child.pid!,
    ports,
    dir,
    secrets,
    config,
    grpcEndpoint: `http://127.0.0.1:${ports.grpc}`,
    httpEndpoint: `http://127.0.0.1:${ports.http}`,
    log,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** For afterAll: kills every collector a test file started and did not stop, and removes their directories. */
export async function stopAllCollectors(): Promise<void> {
  await Promise.all(
    [...running].map(
      (child) =>
        new Promise<void>((resolve) => {
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  for (const dir of createdDirs) removeDir(dir);
  createdDirs.clear();
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
