/** `telemetry-stack synth`: print or write the manifests of a stack, like `helm template`. */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { validateStack } from '../api/validate.ts';
import { checkNamespaceNames } from './command.ts';
import { installManifests } from '../charts/install/install-chart.ts';
import { render, toYaml } from '../charts/render.ts';
import { CollectorConfigTooLargeError } from '../charts/collector/config.ts';
import { generateSecrets } from '../stack/secrets.ts';
import type { TelemetryStack } from '../api/resource.ts';
import { validateCollectorYaml } from './collector-validate.ts';
import { UserError } from './errors.ts';
import { readStackFile, specOf } from './load.ts';
import { applySet } from './set-values.ts';

export interface SynthOptions {
  file?: string | undefined;
  set: string[];
  name?: string | undefined;
  namespace?: string | undefined;
  outDir?: string | undefined;
  withSecrets: boolean;
  /** Path of a collector binary: the rendered collector configuration must pass its `validate`. */
  validateWith?: string | undefined;
}

/** Loads, overrides and validates; every problem names the source, the field path and what is wrong. */
export function loadStack(options: Pick<SynthOptions, 'file' | 'set' | 'name' | 'namespace'>): TelemetryStack {
  const { source, document } = options.file ? readStackFile(options.file) : { source: '<defaults>', document: {} };
  const spec = specOf(document);
  for (const assignment of options.set) applySet(spec, assignment);
  if (options.namespace && 'metadata' in document && typeof document.metadata === 'object' && document.metadata) {
    (document.metadata as Record<string, unknown>).namespace = options.namespace;
  }
  const result = validateStack(document, { name: options.name, namespace: options.namespace });
  if (!result.ok) {
    const lines = result.problems.map((problem) => `  ${problem.path}: ${problem.message}`);
    throw new UserError(`${source}: invalid TelemetryStack (${result.problems.length} problem${result.problems.length > 1 ? 's' : ''}):\n${lines.join('\n')}`);
  }
  return result.stack;
}

/** render(), with a spec that validates but cannot deploy reported like a validation problem. */
function renderChecked(stack: TelemetryStack, source: string): ReturnType<typeof render> {
  try {
    return render(stack);
  } catch (error) {
    if (error instanceof CollectorConfigTooLargeError) throw new UserError(`${source}: invalid TelemetryStack (1 problem):\n  ${error.path}: ${error.message}`);
    throw error;
  }
}

export function synth(options: SynthOptions): string {
  const stack = loadStack(options);
  const rendered = renderChecked(stack, options.file ?? '<defaults>');
  if (options.validateWith) checkWithCollector(options.validateWith, rendered.collectorConfigYaml, options.file ?? '<defaults>');
  const objects: object[] = [...rendered.objects];
  if (options.withSecrets) objects.push(...generateSecrets(stack));
  if (!options.outDir) return toYaml(objects);
  mkdirSync(options.outDir, { recursive: true });
  for (const object of objects as { kind: string; metadata: { name: string } }[]) {
    const file = join(options.outDir, `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`);
    if (object.kind === 'Secret') writePrivate(file, toYaml([object]));
    else writeFileSync(file, toYaml([object]));
  }
  return '';
}

/**
 * A file only its owner can read (0600), for generated credentials. Created afresh: writeFileSync's
 * mode applies only to a new file, so an earlier run's world-readable file is removed first
 * rather than rewritten with its old permissions.
 */
function writePrivate(file: string, content: string): void {
  rmSync(file, { force: true });
  writeFileSync(file, content, { mode: 0o600, flag: 'wx' });
}

function checkWithCollector(binary: string, yaml: string, source: string): void {
  if (!existsSync(binary)) {
    throw new UserError(`--validate-with: ${binary} does not exist; pass the path of an OpenTelemetry Collector binary (node scripts/test-binaries/collector.ts builds one)`);
  }
  const result = validateCollectorYaml(binary, yaml);
  if (!result.ok) {
    throw new UserError(`${source}: the rendered collector configuration does not pass \`${binary} validate\`:\n${result.output}`);
  }
}

/**
 * `synth --install`: the CRD and the operator watching the given namespaces (default: `telemetry`,
 * which is dist/install.yaml), or with `clusterWide` every namespace (dist/install-cluster-wide.yaml).
 */
export function synthInstall(watchNamespaces: readonly string[], clusterWide = false): string {
  checkNamespaceNames('--watch-namespace', watchNamespaces);
  if (clusterWide && watchNamespaces.length > 0) throw new UserError('--cluster-wide and --watch-namespace exclude each other: drop one', 2);
  return toYaml(installManifests(clusterWide ? { clusterWide } : { watchNamespaces }));
}
