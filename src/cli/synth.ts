/** `telemetry-stack synth`: print or write the manifests of a stack, like `helm template`. */
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { checkNamespaceNames } from './command.ts';
import { render, toYaml } from '../charts/render.ts';
import { CollectorConfigTooLargeError } from '../charts/collector/config.ts';
import { generateSecrets } from '../stack/secrets.ts';
import type { TelemetryStack } from '../api/resource.ts';
import { validateCollectorYaml } from './collector-validate.ts';
import { UserError } from './command.ts';
import { loadStack } from './stack-file/load.ts';

export interface SynthOptions {
  file?: string | undefined;
  set: string[];
  name?: string | undefined;
  namespace?: string | undefined;
  outDir?: string | undefined;
  /** What stdout gets: YAML documents, or (json) one v1 List as kubectl prints several objects. */
  format?: 'yaml' | 'json';
  withSecrets: boolean;
  /** Path of a collector binary: the rendered collector configuration must pass its `validate`. */
  validateWith?: string | undefined;
  /** Where notes for the person go (stderr): they never mix with the manifests on stdout. */
  warn?: (line: string) => void;
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
  if (options.warn && options.set.length > 0) noteIneffectiveSets(options, options.warn);
  if (options.validateWith) checkWithCollector(options.validateWith, rendered.collectorConfigYaml, options.file ?? '<defaults>');
  const objects: object[] = [...rendered.objects];
  if (options.withSecrets) objects.push(...generateSecrets(stack));
  if (!options.outDir) return printed(objects, options.format ?? 'yaml');
  const outDir = options.outDir;
  ensureOutputDir(outDir);
  for (const object of objects as { kind: string; metadata: { name: string } }[]) {
    const file = join(outDir, `${object.kind.toLowerCase()}-${object.metadata.name}.yaml`);
    try {
      if (object.kind === 'Secret') writePrivate(file, toYaml([object]));
      else writeFileSync(file, toYaml([object]));
    } catch (error) {
      throw fileError(`--output-dir ${outDir}`, `cannot write ${file}`, error);
    }
  }
  return '';
}

/** Objects as stdout gets them: YAML documents, or a List as `kubectl get -o json` prints several objects. */
export function printed(objects: readonly object[], format: 'yaml' | 'json'): string {
  return format === 'json' ? `${JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }, null, 2)}\n` : toYaml(objects);
}

/** A failed file operation as one line: what, where and the system's reason, never a stack trace. */
function fileError(flag: string, what: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === undefined) return error as Error;
  const reason = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : code === 'EROFS' ? 'read-only file system' : code;
  return new UserError(`${flag}: ${what} (${reason}); pass a folder you can write to`);
}

/**
 * Creates the --output-dir folder level by level. Not mkdirSync(recursive): on a path the kernel refuses
 * without a reason it retries forever (`-o /proc/x`, as --output-dir was spelled, hung), and an existing file or a file in the
 * path would end as an internal error.
 */
function ensureOutputDir(dir: string): void {
  const missing: string[] = [];
  let current = resolve(dir);
  for (;;) {
    let isDirectory: boolean;
    try {
      isDirectory = statSync(current).isDirectory();
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw fileError(`--output-dir ${dir}`, `cannot read ${current}`, error);
      missing.unshift(current);
      if (dirname(current) === current) break;
      current = dirname(current);
      continue;
    }
    if (!isDirectory) {
      if (current !== resolve(dir)) throw new UserError(`--output-dir ${dir}: ${current} is a file, not a folder; pass a folder path for one file per object`);
      throw new UserError(`--output-dir ${dir}: is a file; --output-dir takes a folder for one file per object (for one file, redirect stdout: > ${dir})`);
    }
    break;
  }
  for (const path of missing) {
    try {
      mkdirSync(path);
    } catch (error) {
      throw fileError(`--output-dir ${dir}`, `cannot create the folder ${path}`, error);
    }
  }
}

/**
 * Says on stderr when a --set changes none of the rendered objects, so it is not silently lost:
 * either it sets what is already there, or the field is one the operator applies (inside
 * ClickHouse: schema, retention TTLs, users and roles), which manifests cannot carry.
 */
function noteIneffectiveSets(options: SynthOptions, warn: (line: string) => void): void {
  let base: TelemetryStack;
  try {
    base = loadStack({ ...options, set: [] });
  } catch {
    return; // the file is valid only with the --set values: each one matters
  }
  const baseObjects = render(base).objects;
  for (const assignment of options.set) {
    let alone: TelemetryStack;
    try {
      alone = loadStack({ ...options, set: [assignment] });
    } catch {
      continue;
    }
    if (isDeepStrictEqual(alone.spec, base.spec)) {
      warn(`note: --set ${assignment} changes nothing: it is already the value (the default or the file's)`);
    } else if (isDeepStrictEqual(render(alone).objects, baseObjects)) {
      warn(
        `note: --set ${assignment} changes no rendered manifest: the operator applies it inside ClickHouse (schema, retention, users) ` +
          'when it reconciles the TelemetryStack; set it in the resource you apply, with the operator installed (synth --install)',
      );
    }
  }
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
export async function synthInstall(watchNamespaces: readonly string[], clusterWide = false, format: 'yaml' | 'json' = 'yaml'): Promise<string> {
  checkNamespaceNames('--watch-namespace', watchNamespaces);
  if (clusterWide && watchNamespaces.length > 0) throw new UserError('--cluster-wide and --watch-namespace exclude each other: drop one', 2);
  // Loaded here, not up front: a stack's synth has no use for the CRD and the operator's install.
  const { installManifests } = await import('../charts/install/install-chart.ts');
  return printed(installManifests(clusterWide ? { clusterWide } : { watchNamespaces }), format);
}
