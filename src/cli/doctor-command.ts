/** `telemetry-stack doctor`: the checks a person would run, each failure with its fix. */
import { existsSync } from 'node:fs';
import { type Command, defineCommand, UserError } from './command.ts';
import { CLUSTER_FLAGS, connectOptions, outputFlag, stackName, STACK_FLAGS } from './flags.ts';
import { useColour } from './framework/io.ts';
import { formatValue } from './report-output.ts';
import { DEFAULT_DEPS, type CommandDeps } from './deps.ts';
import { formatResults, runDoctor } from './doctor/checks.ts';
import { readInstallManifest } from './local/project.ts';
import { openClusterStackData, type OpenStackData } from './cluster/stack-data.ts';

/** Where the operator runs, as the install manifest says (default names when it is not at hand). */
function operatorLocation(installManifest: string): { namespace: string; name: string } {
  if (existsSync(installManifest)) {
    const deployment = readInstallManifest(installManifest).find((o) => o.kind === 'Deployment');
    if (deployment?.metadata.namespace) return { namespace: deployment.metadata.namespace, name: deployment.metadata.name };
  }
  return { namespace: 'telemetry-stack-system', name: 'telemetry-stack-operator' };
}

const DESCRIPTION = `Check, in the order telemetry flows: the cluster answers; this machine's clock agrees with it;
the TelemetryStack CRD and the operator are installed and running; the stack is Ready; its pods
are healthy; user credentials exist; events arrived recently; disk use against the cap; event
names and attribute keys stored recently that this version's field tables do not know (a newer
Claude Code).
Prints a fix for each failure. Exits 1 when a check fails.`;

export function makeDoctorCommand(deps: CommandDeps & { openData?: OpenStackData }): Command {
  return defineCommand({
    name: 'doctor',
    summary: 'Check cluster, operator, stack, pods, credentials, clock, events arriving and disk; print a fix for each failure',
    synopsis: ['[NAME] [-n NS] [options]'],
    description: DESCRIPTION,
    flags: {
      ...STACK_FLAGS,
      ...CLUSTER_FLAGS,
      since: { type: 'duration', value: 'DURATION', default: '15m', help: '"Events arriving" means at least one event this recently (30s, 15m, 2h)' },
      'fields-days': { type: 'string', value: 'N', default: '7', help: '"Unknown fields" looks at what was stored in the last N days' },
      output: outputFlag(['table', 'json'], 'Output format: table, or json (one object per check)'),
    },
    operands: { synopsis: '[NAME]', min: 0, max: 1, what: 'one stack NAME (or --stack NAME)' },
    async run({ values, operands }, io) {
      const fieldsDays = Number(values['fields-days']);
      if (!Number.isInteger(fieldsDays) || fieldsDays <= 0) throw new UserError(`--fields-days must be a positive whole number of days, not "${values['fields-days']}"`, 2);
      const name = stackName(values.stack, operands[0]);
      const kube = await deps.connect(io.env, connectOptions(values));
      const results = await runDoctor(kube, {
        selector: { namespace: values.namespace, name },
        sinceMs: values.since,
        fieldsDays,
        now: deps.now,
        operator: operatorLocation(deps.files.installManifest),
        openData: deps.openData,
      });
      io.stdout.write(values.output === 'json' ? formatValue(results, 'json') : formatResults(results, useColour(io.stdout, io.env)));
      return results.some((r) => r.verdict === 'fail') ? 1 : 0;
    },
  });
}

export const doctorCommand = makeDoctorCommand({ ...DEFAULT_DEPS, openData: openClusterStackData });
