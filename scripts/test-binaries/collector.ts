/**
 * Builds the OpenTelemetry Collector the tests run, with the Collector Builder, at the version
 * of the image the chart deploys (VERSIONS.collector), into the shared binary cache:
 *
 *   node scripts/test-binaries/collector.ts        # builds once, prints the binary's path
 *
 * The binary holds exactly the components a rendered configuration can name (COLLECTOR_COMPONENTS;
 * test/collector-validate.test.ts checks rendered configs against it so the two cannot drift).
 * The tests' sink is the otlp_http exporter the chart already uses, so nothing test-only is added.
 */
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { VERSIONS } from '../../src/versions.ts';
import { buildOnce, componentDir } from './cache.ts';

export type ComponentKind = 'receivers' | 'processors' | 'exporters' | 'extensions';

export interface CollectorComponent {
  readonly kind: ComponentKind;
  /** The component type as written in a config (the part of an id before any `/`). */
  readonly type: string;
  readonly gomod: string;
}

const CORE = 'go.opentelemetry.io/collector';
const CONTRIB = 'github.com/open-telemetry/opentelemetry-collector-contrib';

function core(kind: ComponentKind, type: string, path: string): CollectorComponent {
  return { kind, type, gomod: `${CORE}/${path} v${VERSIONS.collector}` };
}
function contrib(kind: ComponentKind, type: string, path: string, version: string = VERSIONS.collector): CollectorComponent {
  return { kind, type, gomod: `${CONTRIB}/${path} v${version}` };
}

/**
 * The Go module proxy these machines reach serves basicauthextension at 0.161.0 but not the
 * internal/basicauth module that release depends on; 0.158.0 is the newest release whose whole
 * dependency set it serves. The extension's configuration is unchanged between the two.
 */
const BASICAUTH_VERSION = '0.158.0';

export const COLLECTOR_COMPONENTS: readonly CollectorComponent[] = [
  core('receivers', 'otlp', 'receiver/otlpreceiver'),
  core('processors', 'memory_limiter', 'processor/memorylimiterprocessor'),
  contrib('processors', 'attributes', 'processor/attributesprocessor'),
  contrib('processors', 'filter', 'processor/filterprocessor'),
  contrib('processors', 'transform', 'processor/transformprocessor'),
  contrib('exporters', 'clickhouse', 'exporter/clickhouseexporter'),
  core('exporters', 'otlp_grpc', 'exporter/otlpexporter'),
  core('exporters', 'otlp_http', 'exporter/otlphttpexporter'),
  contrib('extensions', 'health_check', 'extension/healthcheckextension'),
  contrib('extensions', 'basicauth', 'extension/basicauthextension', BASICAUTH_VERSION),
  contrib('extensions', 'file_storage', 'extension/storage/filestorage'),
];

const PROVIDERS = ['envprovider', 'fileprovider', 'yamlprovider'].map(
  (name) => `${CORE}/confmap/provider/${name} v${VERSIONS.collectorProviders}`,
);

export const COLLECTOR_BINARY_NAME = 'otelcol-tstack';

/** The Collector Builder manifest (YAML is a superset of JSON, so JSON is written). */
export function builderManifest(outputPath: string): Record<string, unknown> {
  const byKind = (kind: ComponentKind) =>
    COLLECTOR_COMPONENTS.filter((component) => component.kind === kind).map(({ gomod }) => ({ gomod }));
  return {
    dist: {
      module: 'local/otelcol-tstack',
      name: COLLECTOR_BINARY_NAME,
      description: 'telemetry-stack test collector',
      version: VERSIONS.collector,
      output_path: outputPath,
    },
    receivers: byKind('receivers'),
    processors: byKind('processors'),
    exporters: byKind('exporters'),
    extensions: byKind('extensions'),
    providers: PROVIDERS.map((gomod) => ({ gomod })),
  };
}

export function collectorDir(env: NodeJS.ProcessEnv = process.env): string {
  return componentDir('otelcol', VERSIONS.collector, env);
}

/** Where the test binary is, whether or not it has been built. */
export function collectorBinaryPath(env: NodeJS.ProcessEnv = process.env): string {
  return join(collectorDir(env), COLLECTOR_BINARY_NAME);
}

export const BUILD_COMMAND = 'node scripts/test-binaries/collector.ts';

/** The binary's path; throws with the command that builds it when it is missing (tests fail, never skip). */
export function requireCollectorBinary(env: NodeJS.ProcessEnv = process.env): string {
  const path = collectorBinaryPath(env);
  if (!existsSync(path)) {
    throw new Error(`The test collector is not built (${path} is missing). Build it with: ${BUILD_COMMAND}`);
  }
  return path;
}

export async function buildCollector(env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const dir = await buildOnce(collectorDir(env), (workDir) => {
    const toolsDir = join(workDir, 'tools');
    const sourceDir = join(workDir, 'source');
    mkdirSync(toolsDir, { recursive: true });
    const goEnv = { ...process.env, GOBIN: toolsDir, CGO_ENABLED: '0' };
    const run = (file: string, args: string[]) =>
      execFileSync('nice', ['-n', '10', file, ...args], { stdio: 'inherit', env: goEnv });
    run('go', ['install', `${CORE}/cmd/builder@v${VERSIONS.collector}`]);
    const manifestPath = join(workDir, 'builder-config.yaml');
    writeFileSync(manifestPath, `${JSON.stringify(builderManifest(sourceDir), null, 2)}\n`);
    run(join(toolsDir, 'builder'), [`--config=${manifestPath}`]);
    copyFileSync(join(sourceDir, COLLECTOR_BINARY_NAME), join(workDir, COLLECTOR_BINARY_NAME));
  });
  return join(dir, COLLECTOR_BINARY_NAME);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const started = Date.now();
  const binary = await buildCollector();
  process.stderr.write(`collector ready in ${Math.round((Date.now() - started) / 1000)}s\n`);
  process.stdout.write(`${binary}\n`);
}
