/** `telemetry-stack synth` options; the work is in synth.ts. */
import { type Command, defineCommand, UserError } from './command.ts';
import { synth, synthInstall } from './synth.ts';

const FORMATS = ['yaml', 'json'] as const;

const DESCRIPTION = `Print the Kubernetes manifests of a stack (like helm template), or with --install the CRD and
the operator. The operator watches only the namespaces given with --watch-namespace (default:
telemetry, which is dist/install.yaml), with a Role in each, so it can read no Secret elsewhere;
the namespaces must exist. --cluster-wide watches every namespace with a ClusterRole
(dist/install-cluster-wide.yaml): it can then read every Secret of the cluster.

What the operator applies inside ClickHouse (schema, retention TTLs, users and roles) is in no
manifest: apply these without the operator and the collector has no tables to write to.`;

export const synthCommand: Command = defineCommand({
  name: 'synth',
  summary: 'Print the Kubernetes manifests of a stack (like helm template)',
  synopsis: ['[options]', '--install [--watch-namespace NS]... | [--cluster-wide]'],
  description: DESCRIPTION,
  flags: {
    file: { type: 'string', short: 'f', value: 'FILE', complete: 'file', help: 'TelemetryStack resource or bare spec (YAML); "-" reads stdin; omitted: all defaults' },
    set: { type: 'list', value: 'PATH=VALUE', help: 'Override a spec field, e.g. --set collector.replicas=2 (repeatable)' },
    stack: { type: 'string', value: 'NAME', help: 'Stack name when FILE is a bare spec (default "telemetry")' },
    name: { type: 'string', value: 'NAME', hidden: true, help: 'The same as --stack' },
    namespace: { type: 'string', short: 'n', value: 'NS', help: 'Namespace to render into' },
    output: {
      type: 'string',
      short: 'o',
      value: 'FORMAT',
      choices: FORMATS,
      default: 'yaml',
      help: 'Output format: yaml or json (a v1 List)',
      // -o was the folder before it followed kubectl: say where that moved rather than guess.
      otherwise: (given) => `-o/--output is the output format (yaml or json); to write one file per object into a folder use --output-dir ${given}`,
    },
    'output-dir': { type: 'string', value: 'DIR', complete: 'directory', help: 'Write one file per object into DIR instead of printing' },
    'with-secrets': { type: 'boolean', help: 'Also print freshly generated credential Secrets (the operator normally creates them)' },
    'validate-with': {
      type: 'string',
      value: 'BIN',
      complete: 'file',
      help: 'Check the rendered collector configuration with `BIN validate` (an OpenTelemetry\nCollector binary of the chart\'s version) and fail if it does not load',
    },
    install: { type: 'boolean', help: "Print the operator's installation instead of a stack" },
    'watch-namespace': { type: 'list', value: 'NS', help: 'With --install: watch only NS (repeatable; default: telemetry)' },
    'cluster-wide': { type: 'boolean', help: 'With --install: watch every namespace (a ClusterRole)' },
  },
  async run({ values }, io) {
    const format = values.output;
    if (values.name !== undefined && values.stack !== undefined && values.name !== values.stack) throw new UserError('synth: --name and --stack name the same thing; give one', 2);
    const name = values.stack ?? values.name;
    const watchNamespaces = values['watch-namespace'];
    const clusterWide = values['cluster-wide'];
    if (values.install) {
      const given = { file: values.file, stack: name, namespace: values.namespace, 'output-dir': values['output-dir'], 'validate-with': values['validate-with'] };
      const stackFlags = Object.entries(given).filter(([, value]) => value !== undefined).map(([flag]) => flag);
      if (stackFlags.length > 0 || values.set.length > 0 || values['with-secrets']) {
        throw new UserError(`synth --install prints the operator, not a stack: drop ${stackFlags.length > 0 ? `--${stackFlags[0]}` : values['with-secrets'] ? '--with-secrets' : '--set'}`, 2);
      }
      io.stdout.write(await synthInstall(watchNamespaces, clusterWide, format));
      return 0;
    }
    if (watchNamespaces.length > 0 || clusterWide) throw new UserError(`--${clusterWide ? 'cluster-wide' : 'watch-namespace'} goes with --install`, 2);
    io.stdout.write(
      synth({
        file: values.file,
        set: values.set,
        name,
        namespace: values.namespace,
        outDir: values['output-dir'],
        format,
        withSecrets: values['with-secrets'],
        validateWith: values['validate-with'],
        warn: (line) => io.stderr.write(`telemetry-stack: ${line}\n`),
      }),
    );
    return 0;
  },
});
