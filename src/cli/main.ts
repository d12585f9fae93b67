#!/usr/bin/env node
/** telemetry-stack: the command line. Each command lives in its own module. */
import { realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { UserError } from './errors.ts';
import { synth } from './synth.ts';

const USAGE = `Usage: telemetry-stack <command> [options]

Commands:
  synth   Print the Kubernetes manifests of a stack (like helm template)

synth options:
  -f, --file FILE        TelemetryStack resource or bare spec (YAML); "-" reads stdin; omitted: all defaults
      --set PATH=VALUE   Override a spec field, e.g. --set retention.eventsDays=30 (repeatable)
      --name NAME        Stack name when FILE is a bare spec (default "telemetry")
  -n, --namespace NS     Namespace to render into
  -o, --output DIR       Write one file per object into DIR instead of printing
      --with-secrets     Also print freshly generated credential Secrets (the operator normally creates them)
`;

export function run(argv: string[]): { code: number; stdout: string; stderr: string } {
  const [command, ...rest] = argv;
  try {
    if (command === undefined) return { code: 2, stdout: '', stderr: USAGE };
    if (command === '-h' || command === '--help' || command === 'help') return { code: 0, stdout: USAGE, stderr: '' };
    if (command !== 'synth') throw new UserError(`unknown command "${command}"\n\n${USAGE}`, 2);
    let parsed;
    try {
      parsed = parseArgs({
        args: rest,
        strict: true,
        allowPositionals: false,
        options: {
          file: { type: 'string', short: 'f' },
          set: { type: 'string', multiple: true, default: [] },
          name: { type: 'string' },
          namespace: { type: 'string', short: 'n' },
          output: { type: 'string', short: 'o' },
          'with-secrets': { type: 'boolean', default: false },
        },
      });
    } catch (error) {
      throw new UserError(`${(error as Error).message}\n\n${USAGE}`, 2);
    }
    const { values } = parsed;
    const stdout = synth({
      file: values.file,
      set: values.set ?? [],
      name: values.name,
      namespace: values.namespace,
      outDir: values.output,
      withSecrets: values['with-secrets'] ?? false,
    });
    return { code: 0, stdout, stderr: '' };
  } catch (error) {
    if (error instanceof UserError) return { code: error.exitCode, stdout: '', stderr: `telemetry-stack: ${error.message}\n` };
    throw error;
  }
}

// Run only as a program (also through the npm bin symlink), not when a test imports run().
const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
if (invokedDirectly) {
  const result = run(process.argv.slice(2));
  if (result.stdout) process.stdout.write(result.stdout);
  if (result.stderr) process.stderr.write(result.stderr);
  process.exitCode = result.code;
}
