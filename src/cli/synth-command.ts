/** `telemetry-stack synth` argument handling; the work is in synth.ts. */
import type { Command } from './command.ts';
import { parseCommandArgs } from './command.ts';
import { UserError } from './errors.ts';
import { synth, synthInstall } from './synth.ts';

const USAGE = `Usage: telemetry-stack synth [options]
       telemetry-stack synth --install [--watch-namespace NS]... | [--cluster-wide]

Print the Kubernetes manifests of a stack (like helm template), or with --install the CRD and
the operator. The operator watches only the namespaces given with --watch-namespace (default:
telemetry, which is dist/install.yaml), with a Role in each, so it can read no Secret elsewhere;
the namespaces must exist. --cluster-wide watches every namespace with a ClusterRole
(dist/install-cluster-wide.yaml): it can then read every Secret of the cluster.

Options:
  -f, --file FILE        TelemetryStack resource or bare spec (YAML); "-" reads stdin; omitted: all defaults
      --set PATH=VALUE   Override a spec field, e.g. --set retention.eventsDays=30 (repeatable)
      --name NAME        Stack name when FILE is a bare spec (default "telemetry")
  -n, --namespace NS     Namespace to render into
  -o, --output DIR       Write one file per object into DIR instead of printing
      --with-secrets     Also print freshly generated credential Secrets (the operator normally creates them)
      --validate-with BIN  Check the rendered collector configuration with \`BIN validate\` (an OpenTelemetry
                         Collector binary of the chart's version) and fail if it does not load
      --install          Print the operator's installation instead of a stack
      --watch-namespace NS  With --install: watch only NS (repeatable; default: telemetry)
      --cluster-wide     With --install: watch every namespace (a ClusterRole)
`;

export const synthCommand: Command = {
  name: 'synth',
  summary: 'Print the Kubernetes manifests of a stack (like helm template)',
  usage: USAGE,
  async run(args, io) {
    const { values } = parseCommandArgs(
      args,
      {
        file: { type: 'string', short: 'f' },
        set: { type: 'string', multiple: true, default: [] },
        name: { type: 'string' },
        namespace: { type: 'string', short: 'n' },
        output: { type: 'string', short: 'o' },
        'with-secrets': { type: 'boolean', default: false },
        'validate-with': { type: 'string' },
        install: { type: 'boolean', default: false },
        'watch-namespace': { type: 'string', multiple: true, default: [] },
        'cluster-wide': { type: 'boolean', default: false },
      },
      USAGE,
    );
    const watchNamespaces = values['watch-namespace'] ?? [];
    const clusterWide = values['cluster-wide'] ?? false;
    if (values.install) {
      const stackFlags = (['file', 'name', 'namespace', 'output', 'validate-with'] as const).filter((flag) => values[flag] !== undefined);
      if (stackFlags.length > 0 || (values.set ?? []).length > 0 || values['with-secrets']) {
        throw new UserError(`synth --install prints the operator, not a stack: drop ${stackFlags.length > 0 ? `--${stackFlags[0]}` : values['with-secrets'] ? '--with-secrets' : '--set'}`, 2);
      }
      io.stdout.write(await synthInstall(watchNamespaces, clusterWide));
      return 0;
    }
    if (watchNamespaces.length > 0 || clusterWide) throw new UserError(`--${clusterWide ? 'cluster-wide' : 'watch-namespace'} goes with --install`, 2);
    io.stdout.write(
      synth({
        file: values.file,
        set: values.set ?? [],
        name: values.name,
        namespace: values.namespace,
        outDir: values.output,
        withSecrets: values['with-secrets'] ?? false,
        validateWith: values['validate-with'],
        warn: (line) => io.stderr.write(`telemetry-stack: ${line}\n`),
      }),
    );
    return 0;
  },
};
