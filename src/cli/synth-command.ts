/** `telemetry-stack synth` argument handling; the work is in synth.ts. */
import type { Command } from './command.ts';
import { parseCommandArgs } from './command.ts';
import { synth } from './synth.ts';

const USAGE = `Usage: telemetry-stack synth [options]

Print the Kubernetes manifests of a stack (like helm template).

Options:
  -f, --file FILE        TelemetryStack resource or bare spec (YAML); "-" reads stdin; omitted: all defaults
      --set PATH=VALUE   Override a spec field, e.g. --set retention.eventsDays=30 (repeatable)
      --name NAME        Stack name when FILE is a bare spec (default "telemetry")
  -n, --namespace NS     Namespace to render into
  -o, --output DIR       Write one file per object into DIR instead of printing
      --with-secrets     Also print freshly generated credential Secrets (the operator normally creates them)
      --validate-with BIN  Check the rendered collector configuration with \`BIN validate\` (an OpenTelemetry
                         Collector binary of the chart's version) and fail if it does not load
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
      },
      USAGE,
    );
    io.stdout.write(
      synth({
        file: values.file,
        set: values.set ?? [],
        name: values.name,
        namespace: values.namespace,
        outDir: values.output,
        withSecrets: values['with-secrets'] ?? false,
        validateWith: values['validate-with'],
      }),
    );
    return 0;
  },
};
